/**
 * entrena — deep-learning training for Node.js and TypeScript.
 *
 * @example
 * import { tensor, randn, nn, optim } from 'entrena';
 */
export { Tensor, tidy, keep, memory, emptyCache, type DType, type DeviceName, type Shape } from './tensor.js';
export { noGrad, isGradEnabled, detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './autograd/engine.js';
export { gradcheck, gradgradcheck } from './autograd/gradcheck.js';
export * as autograd from './autograd/index.js';
export * from './errors.js';
export {
  tensor, zeros, ones, full, zerosLike, onesLike, fullLike, eye, arange, linspace, rand, randn, randint,
  manualSeed, getRngState, setRngState,
  add, sub, mul, div, pow, maximum, minimum, atan2, eq, ne, gt, ge, lt, le, neg, abs, exp, log, sqrt, rsqrt, square,
  sign, sigmoid, tanh, relu, leakyRelu, elu, selu, gelu, silu, mish, softplus, logSigmoid, hardtanh, log1p,
  expm1, sin, cos, reciprocal, floor, ceil, round, isnan, isfinite, clamp, where,
  sum, mean, variance, std, prod, max, min, argmax, argmin, softmax, logSoftmax,
  reshape, flatten, transpose, permute, squeeze, unsqueeze, expand, narrow, concat, stack,
  indexSelect, gather, oneHot, matmul, linear, contiguous, clone, cast,
} from './ops/index.js';
export * as cuda from './cuda.js';
export * as distributed from './distributed/index.js';
export * as amp from './amp/index.js';
export { setFloat32MatmulPrecision, getFloat32MatmulPrecision } from './amp/index.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export { info } from './info.js';
export { fit, evaluate, predict, History, callbacks, metrics, tune, ensemble, lrFinder } from './train/index.js';
export * as io from './io/index.js';
export * as report from './report/index.js';
export * as optim from './optim/index.js';
