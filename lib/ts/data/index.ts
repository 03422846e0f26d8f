/**
 * data — datasets, batching, splitting, preprocessing, file readers and augmentation.
 *
 * @example
 * import { data, manualSeed } from 'entrena';
 * const { x, y } = data.datasets.spirals({ samples: 300, seed: 0 });
 * const [train, val] = data.randomSplit(new data.TensorDataset(x, y), [0.8, 0.2], { seed: 0, stratify: y });
 * const loader = new data.DataLoader(train, { batchSize: 32, shuffle: true, seed: 0 });
 * for await (const [xb, yb] of loader) { ... }
 */
export { TensorDataset, randomSplit, type RandomSplitOptions } from './dataset.js';
export { DataLoader, type DataLoaderOptions, type Sampler } from './loader.js';
export { DistributedSampler, type DistributedSamplerOptions } from './sampler.js';
export { StandardScaler, MinMaxScaler, OneHotEncoder, type Category, type OneHotEncoderOptions } from './preprocessing.js';
export { readIdx, type ReadIdxOptions } from './idx.js';
export { readCsv, type ReadCsvOptions, type CsvData } from './csv.js';
export * as augment from './augment.js';
export * as datasets from './datasets.js';
/** One-hot encoding of integer labels (the core op, re-exported). @example data.oneHot(y, 10) */
export { oneHot } from '../ops/index.js';
