/**
 * sampler.ts — `DistributedSampler`: the share of a dataset's rows that one rank of a
 * data-parallel job reads each epoch, with PyTorch's semantics.
 *
 * Every rank draws the same permutation (seeded by `seed` and the epoch), and rank r takes the
 * rows at positions r, r + numReplicas, r + 2·numReplicas, … of it. So that every rank runs the
 * same number of steps (each step is a collective), the order is padded by repeating its first
 * rows up to a multiple of numReplicas — or, with `dropLast`, cut down to one. The permutation is
 * our xoshiro128** shuffle (the DataLoader's), not torch.randperm: the same on every rank and in
 * every process, not bit-equal to PyTorch's.
 */
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import * as distributed from '../distributed/index.js';
import { TensorDataset } from './dataset.js';
import { Xoshiro128, shuffleInPlace } from './random.js';

export interface DistributedSamplerOptions {
  /** Number of ranks (default: `distributed.worldSize()`). */
  numReplicas?: number;
  /** This rank (default: `distributed.rank()`). */
  rank?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffles; must be the same on every rank (default 0). */
  seed?: number;
  /** Drop the tail that does not divide evenly instead of padding (default false). */
  dropLast?: boolean;
}

/** Anything with a row count: a `TensorDataset`, or an object with `length`. */
export type Sized = TensorDataset | { readonly length: number };

/**
 * The indices of one rank's share of `dataset`, per epoch; pass it to a DataLoader as `sampler`
 * (the loader sets its epoch at every iteration; `setEpoch` sets it by hand).
 * @example
 * const sampler = new data.DistributedSampler(trainSet, { shuffle: true, seed: 0 });
 * const loader = new data.DataLoader(trainSet, { batchSize: 64, sampler });
 */
export class DistributedSampler implements Iterable<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Rows this rank reads per epoch. */
  readonly numSamples: number;
  /** numSamples · numReplicas. */
  readonly totalSize: number;
  private readonly n: number;
  private epoch = 0;

  constructor(dataset: Sized, options: DistributedSamplerOptions = {}) {
    const where = 'DistributedSampler';
    const n = (dataset as { length?: unknown } | null)?.length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ArgumentError(`${where}: expected a dataset with a length, received ${describe(dataset)}`);
    const o = checkOptions<DistributedSamplerOptions>(options, where, ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast']);
    this.numReplicas = o.numReplicas === undefined ? distributed.worldSize() : checkNumber(o.numReplicas, where, 'numReplicas', { min: 1, integer: true });
    this.rank = o.rank === undefined ? distributed.rank() : checkNumber(o.rank, where, 'rank', { min: 0, integer: true });
    if (this.rank >= this.numReplicas) throw new ArgumentError(`${where}: expected rank in [0, ${this.numReplicas - 1}], received ${this.rank}`);
    this.shuffle = o.shuffle ?? true;
    this.dropLast = o.dropLast ?? false;
    if (typeof this.shuffle !== 'boolean') throw new ArgumentError(`${where}: expected shuffle to be a boolean, received ${describe(this.shuffle)}`);
    if (typeof this.dropLast !== 'boolean') throw new ArgumentError(`${where}: expected dropLast to be a boolean, received ${describe(this.dropLast)}`);
    this.seed = o.seed === undefined ? 0 : checkNumber(o.seed, where, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true });
    this.n = n;
    this.numSamples = this.dropLast && n % this.numReplicas !== 0 ? Math.ceil((n - this.numReplicas) / this.numReplicas) : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** Rows per epoch for this rank. */
  get length(): number { return this.numSamples; }

  /**
   * Sets the epoch, which seeds the next shuffle (call it before each epoch when iterating the
   * sampler yourself; a DataLoader does it).
   * @example sampler.setEpoch(epoch);
   */
  setEpoch(epoch: number): void {
    this.epoch = checkNumber(epoch, 'DistributedSampler.setEpoch', 'epoch', { min: 0, integer: true });
  }

  /** This rank's row indices for the current epoch. @example sampler.indices() // Int32Array */
  indices(): Int32Array {
    const n = this.n;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) shuffleInPlace(order, new Xoshiro128(this.seed, this.epoch));
    const out = new Int32Array(this.numSamples);
    // Position k of the padded (or cut) order is order[k mod n]: padding repeats the first rows.
    for (let j = 0; j < this.numSamples; j++) out[j] = order[(this.rank + j * this.numReplicas) % Math.max(n, 1)];
    return out;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
