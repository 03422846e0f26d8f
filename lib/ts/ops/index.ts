/** ops/index.ts — every tensor operation, re-exported for the Tensor methods and the package root. */
export * from './copy.js';
export * from './creation.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './index_ops.js';
export * from './linalg.js';
export { runOp, composite, defineOp, registeredOps, needsInputGrad, sumToShape, broadcastTo, castTo, type Op, type OpDef, type OpContext, type ArgSpec, type DTypeRule } from './door.js';
export { noGrad, withGrad } from '../autograd/graph.js';
export * from './fused.js';
