/** optim — optimizers, learning-rate schedulers and weight averaging, with PyTorch's rules and defaults. */
export { Optimizer, SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, type ParamGroup, type ParamsArg } from './optimizer.js';
export { LBFGS, type LBFGSOptions } from './lbfgs.js';
export { ConjugateGradient, type ConjugateGradientOptions } from './conjugate_gradient.js';
export { ExponentialMovingAverage, swa } from './averaging.js';
export * as lrScheduler from './lr_scheduler.js';
