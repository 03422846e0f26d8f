/**
 * dataset.ts — `TensorDataset` (rows of an input tensor and a target tensor, paired along the first
 * dimension) and `randomSplit` (train / validation / test subsets, optionally stratified).
 *
 * A dataset holds references to the caller's tensors, not copies: it does not own them and never
 * disposes them. `randomSplit` returns datasets over new tensors (row copies gathered natively);
 * those the caller owns (`dispose()` on the dataset frees them).
 */
import { checkOptions, shapeStr } from '../check.js';
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { indexSelect, narrow, squeeze, tensor } from '../ops/index.js';
import { Tensor, keep } from '../tensor.js';
import { Xoshiro128, checkSeed, permutation, seedFromGlobalRng, shuffleInPlace } from './random.js';

/**
 * Pairs inputs `x` and targets `y` row by row (the first dimension), as `torch.utils.data.TensorDataset`.
 * @example
 * const ds = new data.TensorDataset(randn([100, 4]), randint(0, 3, [100]));
 * ds.length;            // 100
 * const [x0, y0] = ds.get(0); // x0: [4], y0: [] (views, no copy)
 */
export class TensorDataset {
  readonly x: Tensor;
  readonly y: Tensor;

  constructor(x: Tensor, y: Tensor) {
    if (!(x instanceof Tensor)) throw new ArgumentError(`TensorDataset: expected x to be a Tensor, received ${describe(x)}`);
    if (!(y instanceof Tensor)) throw new ArgumentError(`TensorDataset: expected y to be a Tensor, received ${describe(y)}`);
    x.assertAlive('TensorDataset');
    y.assertAlive('TensorDataset');
    if (x.ndim === 0 || y.ndim === 0)
      throw new ShapeError(`TensorDataset: x and y need at least one dimension (the rows), received shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
    if (x.shape[0] !== y.shape[0])
      throw new ShapeError(`TensorDataset: x and y must have the same number of rows (first dimension), received x ${shapeStr(x.shape)} (${x.shape[0]} rows) and y ${shapeStr(y.shape)} (${y.shape[0]} rows)`);
    if (x.device !== y.device)
      throw new ArgumentError(`TensorDataset: x and y must be on the same device, received x on ${x.device} and y on ${y.device}`);
    this.x = x;
    this.y = y;
  }

  /** Number of rows. */
  get length(): number { return this.x.shape[0]; }

  /**
   * Row `i` (negative counts from the end) as `[x[i], y[i]]`: views sharing the dataset's memory.
   * @example const [xi, yi] = ds.get(-1);
   */
  get(i: number): [Tensor, Tensor] {
    const n = this.length;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -n || i >= n)
      throw new ArgumentError(`TensorDataset.get: index ${describe(i)} is out of range for a dataset of ${n} rows`);
    const k = i < 0 ? i + n : i;
    return [squeeze(narrow(this.x, 0, k, 1), 0), squeeze(narrow(this.y, 0, k, 1), 0)];
  }

  /** Frees x and y (for datasets whose tensors you own, such as those `randomSplit` returns). */
  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
}

export interface RandomSplitOptions {
  /** Seed of the permutation; without it the library's global generator is used (manualSeed repeats it). */
  seed?: number;
  /** Class labels ([N], integer-valued): each subset keeps the class proportions of the whole. */
  stratify?: Tensor;
}

/**
 * Subset sizes for fractions, rounded as PyTorch's `random_split`: floor each n·fraction, then hand
 * the remainder out one at a time to the subsets in order.
 */
export function splitSizes(n: number, lengths: number[], where: string): number[] {
  if (!Array.isArray(lengths) || lengths.length === 0)
    throw new ArgumentError(`${where}: expected a non-empty array of fractions or counts, received ${describe(lengths)}`);
  for (const v of lengths)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ArgumentError(`${where}: expected non-negative numbers, received ${shapeStr(lengths)}`);
  const total = lengths.reduce((a, b) => a + b, 0);
  const allIntegers = lengths.every((v) => Number.isInteger(v));
  if (Math.abs(total - 1) <= 1e-9 && lengths.every((v) => v <= 1)) {
    // Fractions (as torch: math.isclose(sum, 1) and each at most 1).
    const sizes = lengths.map((f) => Math.floor(n * f));
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length]++;
    return sizes;
  }
  if (allIntegers) {
    if (total !== n) throw new ArgumentError(`${where}: the counts ${shapeStr(lengths)} sum to ${total}, expected the dataset length ${n}`);
    return lengths.slice();
  }
  throw new ArgumentError(`${where}: expected fractions summing to 1 or integer counts summing to ${n}, received ${shapeStr(lengths)} (sum ${total})`);
}

/**
 * Splits a dataset into random, non-overlapping subsets: fractions summing to 1 (rounded as
 * PyTorch's `random_split`) or integer counts summing to the length. With `stratify` (a label per
 * row), each subset holds every class in (nearly) the proportions of the whole; subset sizes stay
 * exactly those asked for. Returns new datasets over row copies; the caller owns them.
 * @example
 * const [train, val, test] = data.randomSplit(ds, [0.8, 0.1, 0.1], { seed: 0 });
 * const [tr, te] = data.randomSplit(ds, [0.8, 0.2], { seed: 0, stratify: ds.y });
 */
export function randomSplit(dataset: TensorDataset, lengths: number[], options: RandomSplitOptions = {}): TensorDataset[] {
  const where = 'randomSplit';
  if (!(dataset instanceof TensorDataset)) throw new ArgumentError(`${where}: expected a TensorDataset, received ${describe(dataset)}`);
  options = checkOptions<RandomSplitOptions>(options, where, ['seed', 'stratify']);
  const n = dataset.length;
  const sizes = splitSizes(n, lengths, where);
  const seed = checkSeed(options.seed, where) ?? seedFromGlobalRng();
  const rng = new Xoshiro128(seed, 0);
  let groups: Int32Array[];
  if (options.stratify === undefined) {
    const perm = permutation(n, rng);
    groups = [];
    let start = 0;
    for (const s of sizes) { groups.push(perm.subarray(start, start + s)); start += s; }
  } else {
    groups = stratifiedGroups(readLabels(options.stratify, n, where), sizes, rng);
  }
  return groups.map((g) => {
    const idx = tensor(g, { dtype: 'int32', device: dataset.x.device });
    const ds = new TensorDataset(keep(indexSelect(dataset.x, 0, idx)), keep(indexSelect(dataset.y, 0, idx)));
    idx.dispose();
    return ds;
  });
}

function readLabels(labels: unknown, n: number, where: string): Int32Array {
  if (!(labels instanceof Tensor)) throw new ArgumentError(`${where}: expected stratify to be a Tensor of labels, received ${describe(labels)}`);
  if (labels.size !== n || labels.shape[0] !== n)
    throw new ShapeError(`${where}: expected stratify labels of shape [${n}] (one per row), received ${shapeStr(labels.shape)}`);
  const v = labels.data();
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(v[i])) throw new ArgumentError(`${where}: stratify labels must be integers, row ${i} holds ${v[i]}`);
    out[i] = v[i];
  }
  return out;
}

/**
 * Stratified allocation: class c with n_c rows gets n_c·size_k/N rows in subset k, rounded so that
 * every class's rows and every subset's size add up exactly (floors first, then the leftover rows
 * of each class go one at a time to the subset with the largest unmet fractional share that still
 * has room).
 */
function stratifiedGroups(labels: Int32Array, sizes: number[], rng: Xoshiro128): Int32Array[] {
  const n = labels.length, k = sizes.length;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    let list = byClass.get(labels[i]);
    if (!list) byClass.set(labels[i], (list = []));
    list.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const alloc = classes.map(() => new Array<number>(k).fill(0));
  const frac = classes.map(() => new Array<number>(k).fill(0));
  const room = sizes.slice();
  classes.forEach((c, ci) => {
    const nc = byClass.get(c)!.length;
    for (let j = 0; j < k; j++) {
      const q = n ? (nc * sizes[j]) / n : 0;
      alloc[ci][j] = Math.floor(q);
      frac[ci][j] = q - alloc[ci][j];
      room[j] -= alloc[ci][j];
    }
  });
  classes.forEach((c, ci) => {
    let left = byClass.get(c)!.length - alloc[ci].reduce((a, b) => a + b, 0);
    while (left > 0) {
      let best = -1;
      for (let j = 0; j < k; j++) if (room[j] > 0 && (best < 0 || frac[ci][j] > frac[ci][best])) best = j;
      alloc[ci][best]++;
      frac[ci][best] -= 1;
      room[best]--;
      left--;
    }
  });
  const groups: number[][] = sizes.map(() => []);
  classes.forEach((c, ci) => {
    const rows = byClass.get(c)!;
    shuffleInPlace(rows, rng);
    let start = 0;
    for (let j = 0; j < k; j++) {
      for (let t = 0; t < alloc[ci][j]; t++) groups[j].push(rows[start + t]);
      start += alloc[ci][j];
    }
  });
  return groups.map((g) => {
    const a = Int32Array.from(g);
    shuffleInPlace(a, rng); // interleave the classes
    return a;
  });
}
