/**
 * nn/index.ts — the `nn` namespace: Module, layers, activations, losses, `nn.init`,
 * `nn.utils`, `nn.functional` and Monte-Carlo dropout.
 *
 * @example
 * import { nn, randn } from 'entrena';
 * const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3));
 * const loss = new nn.CrossEntropyLoss().forward(model.forward(randn([8, 4])), labels);
 */
export { Module, type StateDict, type LoadStateDictResult } from './module.js';
export { Linear, Sequential, BatchNorm1d, LayerNorm, Dropout, AlphaDropout, Identity, Flatten, type BatchNormOptions, type FactoryOptions } from './layers.js';
export { ReLU, LeakyReLU, PReLU, RReLU, ELU, SELU, GELU, SiLU, Mish, Sigmoid, Tanh, Hardtanh, LogSigmoid, Softplus, Softmax, LogSoftmax } from './activations.js';
export { Loss, MSELoss, L1Loss, MAPELoss, HuberLoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss, type Reduction } from './losses.js';
export { mcDropoutPredict } from './mc_dropout.js';
export * as init from './init.js';
export * as utils from './utils.js';
export * as functional from './functional.js';
export * as parallel from './parallel.js';
