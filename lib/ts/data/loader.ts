/**
 * loader.ts — `DataLoader`: mini-batches of a `TensorDataset`, optionally shuffled each epoch.
 *
 * How a batch is made: the rows of the epoch's order are written as int32 indices into a small
 * index buffer, and one native `index_select` per tensor gathers those rows of x and y straight
 * into output tensors that the loader allocates once and reuses for every batch (a second pair
 * for the shorter last batch). No per-sample JavaScript objects, no per-batch allocation.
 *
 * The price of reuse: a yielded batch is valid until the next one is requested. The loader owns
 * it; `clone()` a batch to keep it, and do not dispose it (if you do, the loader allocates anew).
 *
 * Shuffling: a Fisher-Yates permutation per epoch from a xoshiro128** generator (./random.ts).
 * With `seed`, epoch e (counted from 0, one per iteration started, or set with `setEpoch`) uses
 * the generator seeded by (seed, e): the same seed gives the same epochs, in any process. Without
 * `seed`, each epoch draws its generator's seed from the library's global generator, so
 * `manualSeed` repeats the whole run.
 *
 * This is the one file of lib/ts/data that calls the native binding directly (to gather into
 * preallocated outputs, which the public `indexSelect` cannot do).
 */
import { checkOptions } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { indexKernel, writeHost } from '../core/kernels.js';
import { contiguous, copyInto } from '../ops/index.js';
import { Tensor, checkDevice, keep, sizeOf, type DeviceName } from '../tensor.js';
import { TensorDataset } from './dataset.js';
import { Xoshiro128, checkSeed, seedFromGlobalRng, shuffleInPlace } from './random.js';

export interface DataLoaderOptions {
  /** Rows per batch (a positive integer); default 1. */
  batchSize?: number;
  /** Reshuffle the rows at every epoch; default false (dataset order). */
  shuffle?: boolean;
  /** Drop the last batch when it is shorter than `batchSize`; default false. */
  dropLast?: boolean;
  /** Seed of the shuffles: epoch e uses the permutation of (seed, e). Ignored without `shuffle`. */
  seed?: number;
  /** Where batches are delivered; default the dataset's device. */
  device?: DeviceName;
  /**
   * The row indices of each epoch, instead of the dataset's order or `shuffle` (which it excludes):
   * an iterable of indices with a `length`, such as a `DistributedSampler`. A sampler with
   * `setEpoch` gets the loader's epoch before each iteration.
   */
  sampler?: Sampler;
}

/** A source of row indices for one epoch (`DistributedSampler`, or any iterable of indices with a length). */
export interface Sampler extends Iterable<number> {
  readonly length: number;
  setEpoch?(epoch: number): void;
}

const KNOWN_OPTIONS = ['batchSize', 'shuffle', 'dropLast', 'seed', 'device', 'sampler'];

/** The reusable tensors of one running iteration. */
interface Buffers {
  index: Tensor; // int32 [batchSize] on the dataset's device
  full: [Tensor, Tensor] | null; // [batchSize, ...] outputs
  last: [Tensor, Tensor] | null; // [n % batchSize, ...] outputs
  staging: [Tensor | null, Tensor | null]; // dataset-device gather targets when delivering elsewhere
  stagingLast: [Tensor | null, Tensor | null];
}

/**
 * Iterates over a `TensorDataset` in mini-batches `[xBatch, yBatch]` — synchronously (`for … of`)
 * or asynchronously (`for await … of`). Each yielded batch is valid until the next is requested
 * (the loader reuses its memory); `clone()` it to keep it.
 * @example
 * const loader = new data.DataLoader(ds, { batchSize: 32, shuffle: true, seed: 0 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const [xb, yb] of loader) {
 *     tidy(() => { const loss = lossFn.forward(model.forward(xb), yb); loss.backward(); opt.step(); opt.zeroGrad(); });
 *   }
 * }
 * loader.dispose(); // frees the batch buffers
 */
export class DataLoader implements Iterable<[Tensor, Tensor]>, AsyncIterable<[Tensor, Tensor]> {
  readonly dataset: TensorDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number | undefined;
  readonly device: DeviceName;
  readonly sampler: Sampler | undefined;
  private nextEpoch = 0;
  private readonly free: Buffers[] = [];
  private readonly all = new Set<Buffers>();

  constructor(dataset: TensorDataset, options: DataLoaderOptions = {}) {
    const where = 'DataLoader';
    if (!(dataset instanceof TensorDataset)) {
      const d = dataset as unknown as { x?: unknown; y?: unknown } | null;
      if (d && typeof d === 'object' && d.x instanceof Tensor && d.y instanceof Tensor) dataset = new TensorDataset(d.x, d.y);
      else throw new ArgumentError(`${where}: expected a TensorDataset (or an object with tensors x and y), received ${describe(dataset)}`);
    }
    options = checkOptions<DataLoaderOptions>(options, where, KNOWN_OPTIONS, { numWorkers: 'batches are assembled on the calling thread (no worker processes)' });
    const { batchSize = 1, shuffle = false, dropLast = false } = options;
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1)
      throw new ArgumentError(`${where}: expected batchSize to be a positive integer, received ${describe(batchSize)}`);
    if (typeof shuffle !== 'boolean') throw new ArgumentError(`${where}: expected shuffle to be a boolean, received ${describe(shuffle)}`);
    if (typeof dropLast !== 'boolean') throw new ArgumentError(`${where}: expected dropLast to be a boolean, received ${describe(dropLast)}`);
    this.seed = checkSeed(options.seed, where);
    if (options.sampler !== undefined) {
      const sm = options.sampler as Partial<Sampler> | null;
      if (!sm || typeof sm[Symbol.iterator] !== 'function' || typeof sm.length !== 'number')
        throw new ArgumentError(`${where}: expected sampler to be an iterable of row indices with a length (a DistributedSampler), received ${describe(options.sampler)}`);
      if (shuffle) throw new ArgumentError(`${where}: sampler and shuffle: true exclude each other (the sampler decides the order; DistributedSampler shuffles itself)`);
      this.sampler = options.sampler;
    }
    this.device = options.device === undefined ? dataset.x.device : checkDevice(options.device, where);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next iteration will run (it decides the permutation when seeded). */
  get epoch(): number { return this.nextEpoch; }
  /**
   * Sets the epoch of the next iteration (to resume a seeded run at the same permutation).
   * @example loader.setEpoch(checkpoint.epoch);
   */
  setEpoch(epoch: number): void {
    if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0)
      throw new ArgumentError(`DataLoader.setEpoch: expected a non-negative integer, received ${describe(epoch)}`);
    this.nextEpoch = epoch;
  }

  /** The row order of one epoch (and advances the epoch counter). */
  private order(): Int32Array {
    const epoch = this.nextEpoch++;
    if (this.sampler) {
      this.sampler.setEpoch?.(epoch);
      const order = Int32Array.from(this.sampler);
      const n = this.dataset.length;
      for (const i of order) if (!(i >= 0 && i < n && Number.isInteger(i))) throw new ArgumentError(`DataLoader: the sampler gave row ${describe(i)}, outside the dataset's ${n} rows`);
      return order;
    }
    const n = this.dataset.length;
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    if (this.shuffle) shuffleInPlace(p, new Xoshiro128(this.seed ?? seedFromGlobalRng(), this.seed === undefined ? 0 : epoch));
    return p;
  }

  /** Synchronous iteration over one epoch. */
  *[Symbol.iterator](): Generator<[Tensor, Tensor], void, undefined> {
    const { x: x0, y: y0 } = this.dataset;
    x0.assertAlive('DataLoader (dataset x)');
    y0.assertAlive('DataLoader (dataset y)');
    const order = this.order();
    const n = order.length;
    const batches = this.length;
    if (batches === 0) return;
    // The native gather reads contiguous rows; a non-contiguous dataset tensor is copied once per epoch.
    const x = contiguous(x0), y = contiguous(y0);
    if (x !== x0) keep(x);
    if (y !== y0) keep(y);
    const buf = this.acquire();
    try {
      const b = this.batchSize;
      for (let k = 0; k < batches; k++) {
        const start = k * b;
        const count = Math.min(b, n - start);
        const out = this.outputs(buf, count, x, y);
        writeHost(buf.index, order.subarray(start, start + count));
        const stage = this.device === x.device ? out : this.staging(buf, count, x, y);
        gatherRows(x, buf.index, count, stage[0]);
        gatherRows(y, buf.index, count, stage[1]);
        if (stage !== out) { copyInto(out[0], stage[0]); copyInto(out[1], stage[1]); }
        yield [out[0], out[1]];
      }
    } finally {
      if (x !== x0) x.dispose();
      if (y !== y0) y.dispose();
      this.free.push(buf);
    }
  }

  /** Asynchronous iteration over one epoch (the same batches as the synchronous one). */
  async *[Symbol.asyncIterator](): AsyncGenerator<[Tensor, Tensor], void, undefined> {
    yield* this[Symbol.iterator]();
  }

  /** Frees the batch buffers. The loader stays usable (it allocates again on the next epoch). */
  dispose(): void {
    for (const b of this.all) disposeBuffers(b);
    this.all.clear();
    this.free.length = 0;
  }

  private acquire(): Buffers {
    let buf = this.free.pop();
    if (!buf || !this.all.has(buf)) {
      buf = { index: newTensor([this.batchSize], 'int32', this.dataset.x.device), full: null, last: null, staging: [null, null], stagingLast: [null, null] };
      this.all.add(buf);
    }
    if (buf.index.isDisposed) buf.index = newTensor([this.batchSize], 'int32', this.dataset.x.device);
    return buf;
  }

  private outputs(buf: Buffers, count: number, x: Tensor, y: Tensor): [Tensor, Tensor] {
    const key = count === this.batchSize ? 'full' : 'last';
    let pair = buf[key];
    if (!pair || pair[0].isDisposed || pair[1].isDisposed || pair[0].shape[0] !== count || !rowsMatch(pair[0], x) || !rowsMatch(pair[1], y)) {
      if (pair) { pair[0].dispose(); pair[1].dispose(); }
      pair = [newTensor([count, ...x.shape.slice(1)], x.dtype, this.device), newTensor([count, ...y.shape.slice(1)], y.dtype, this.device)];
      buf[key] = pair;
    }
    return pair;
  }

  private staging(buf: Buffers, count: number, x: Tensor, y: Tensor): [Tensor, Tensor] {
    const key = count === this.batchSize ? 'staging' : 'stagingLast';
    const pair = buf[key];
    const make = (t: Tensor | null, src: Tensor): Tensor => {
      if (t && !t.isDisposed && t.shape[0] === count && rowsMatch(t, src) && t.device === src.device) return t;
      t?.dispose();
      return newTensor([count, ...src.shape.slice(1)], src.dtype, src.device);
    };
    pair[0] = make(pair[0], x);
    pair[1] = make(pair[1], y);
    return pair as [Tensor, Tensor];
  }
}

/** A loader-owned tensor: kept out of any enclosing `tidy` scope. */
function newTensor(shape: number[], dtype: Tensor['dtype'], device: DeviceName): Tensor {
  return keep(Tensor.empty(shape, dtype, device));
}

function rowsMatch(out: Tensor, src: Tensor): boolean {
  if (out.dtype !== src.dtype || out.ndim !== src.ndim) return false;
  for (let d = 1; d < src.ndim; d++) if (out.shape[d] !== src.shape[d]) return false;
  return true;
}

/** out[0:count] ← src[index[0:count]] along dim 0, natively (src contiguous, same device). */
function gatherRows(src: Tensor, index: Tensor, count: number, out: Tensor): void {
  const inner = sizeOf(src.shape.slice(1));
  if (count === 0 || inner === 0) return;
  indexKernel('select', 1, src.shape[0], inner, src, index, count, out);
}

function disposeBuffers(b: Buffers): void {
  b.index.dispose();
  for (const p of [b.full, b.last, b.staging, b.stagingLast]) if (p) for (const t of p) t?.dispose();
}
