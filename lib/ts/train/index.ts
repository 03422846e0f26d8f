/** train — the training loop, callbacks, metrics and History. */
export { fit, evaluate, predict, type FitOptions } from './fit.js';
export { History } from './history.js';
export * as callbacks from './callbacks.js';
export * as metrics from './metrics.js';
export type { EpochLog, TrainableModel, OptimizerLike, SchedulerLike, BatchSource } from './types.js';
export * as tune from './tune.js';
import { average } from './tune.js';
/** Model ensembles. */
export const ensemble = { average };
export { lrFinder, type LrFinderOptions, type LrFinderResult } from './lr_finder.js';
