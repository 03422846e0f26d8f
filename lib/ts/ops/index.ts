/** ops/index.ts — every tensor operation, re-exported for the Tensor methods and the package root. */
export * from './copy.js';
export * from './creation.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './index_ops.js';
export * from './linalg.js';
export { withGrad } from '../autograd/engine.js';
import { withGrad as wg } from '../autograd/engine.js';
/** @internal */
export const withGradOff = <T>(f: () => T): T => wg(false, f);
