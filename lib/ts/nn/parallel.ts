/**
 * parallel.ts — `nn.parallel.DistributedDataParallel`: data-parallel training over the processes
 * of a `distributed` job, as PyTorch's DDP.
 *
 * At construction every rank checks that it holds the same parameters (names, shapes, dtypes; the
 * first mismatch is named with its rank), and rank 0's parameters and buffers are broadcast so
 * that every replica starts equal. Each step, every rank runs forward and backward on its own
 * share of the batch; gradients are averaged over the ranks, so that after `backward()` every
 * rank holds the gradient of the whole batch and the optimizers take the same step.
 *
 * How the averaging overlaps backward: the parameters are grouped, in reverse order of
 * registration (the order in which backward produces their gradients), into buckets of at most
 * `bucketCapMb` megabytes per dtype and device (the first one at most 1 MB, as PyTorch, so that
 * communication starts early), each with one flat buffer allocated once. A
 * post-accumulate-grad hook on each parameter copies its gradient into its bucket; when a bucket
 * is full its all-reduce (op 'avg') starts on the communication thread while backward goes on.
 * Buckets are launched strictly in index order, so every rank issues the same collectives in the
 * same order whatever order its gradients arrive in. When the last parameter's hook has run,
 * the buckets are waited for and the averages copied back into `.grad`. Buckets of ≤ 25 MB (the
 * default, as PyTorch) keep MPI from allocating a large temporary for every reduction.
 *
 * Every parameter that requires grad must receive a gradient in every backward (PyTorch's
 * `find_unused_parameters=False`); one that did not is named at the next forward.
 */
import { checkNumber, checkOptions, shapeStr } from '../check.js';
import { ArgumentError, EntrenaError, describe } from '../errors.js';
import { Tensor, keep, tidy, type DeviceName, type DType } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { copyInto, tensor, zeros } from '../ops/index.js';
import * as distributed from '../distributed/index.js';
import { Module, type LoadStateDictResult, type StateDict } from './module.js';

export interface DistributedDataParallelOptions {
  /** Largest gradient bucket, in megabytes (MiB) (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Broadcast rank 0's buffers (BatchNorm's running statistics) before each forward in training (default true, as PyTorch). */
  broadcastBuffers?: boolean;
}

interface Bucket {
  flat: Tensor;
  params: Tensor[];
  views: Tensor[];
  ready: number;
  work: distributed.PendingReduce | null;
}

/**
 * Wraps `module` for data-parallel training; call `distributed.init()` first. `forward` runs the
 * wrapped model; `backward()` on the loss leaves every rank with the gradients averaged over all
 * ranks. `module` is the wrapped model, and the state dict has its keys (no `module.` prefix), so
 * checkpoints load into the plain model.
 * @example
 * distributed.init();
 * const model = new nn.parallel.DistributedDataParallel(new nn.Sequential(new nn.Linear(784, 10)));
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
 * const loss = new nn.CrossEntropyLoss().forward(model.forward(xb), yb);
 * loss.backward(); // gradients averaged over the ranks
 * opt.step();
 */
export class DistributedDataParallel extends Module {
  /** The wrapped model. */
  readonly module: Module;
  readonly bucketCapMb: number;
  readonly broadcastBuffers: boolean;
  /** Time spent waiting for the all-reduces at the end of the last backward, and in all backwards so far (milliseconds). */
  readonly stats = { lastWaitMs: 0, totalWaitMs: 0, steps: 0 };
  private readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Tensor, [number, number]>();
  private readonly names = new Map<Tensor, string>();
  private readonly hooks: { remove(): void }[] = [];
  private nextLaunch = 0;
  private readyParams = 0;
  private readonly total: number;
  private syncing = true;
  private reduced = new Set<Tensor>();
  private readonly bufferFlat = new Map<string, Tensor>();

  constructor(module: Module, options: DistributedDataParallelOptions = {}) {
    super();
    const where = 'DistributedDataParallel';
    if (!(module instanceof Module)) throw new ArgumentError(`${where}: expected an nn.Module, received ${describe(module)}`);
    const o = checkOptions<DistributedDataParallelOptions>(options, where, ['bucketCapMb', 'broadcastBuffers'], {
      findUnusedParameters: 'every parameter that requires grad must receive a gradient in each backward; freeze() the ones you do not train',
      deviceIds: 'each process uses its device: put the model on it with .to() before wrapping',
    });
    this.bucketCapMb = o.bucketCapMb === undefined ? 25 : checkNumber(o.bucketCapMb, where, 'bucketCapMb', { min: 0, minExclusive: true, finite: true });
    this.broadcastBuffers = o.broadcastBuffers ?? true;
    if (typeof this.broadcastBuffers !== 'boolean') throw new ArgumentError(`${where}: expected broadcastBuffers to be a boolean, received ${describe(this.broadcastBuffers)}`);
    if (!distributed.isInitialized()) throw new EntrenaError('ERR_INVALID_ARGUMENT', `${where}: call distributed.init() first`);
    this.module = module;
    this.training = module.training;
    const named = module.namedParameters().filter(([, p]) => p.requiresGrad);
    for (const [n, p] of named) this.names.set(p, n);
    checkSameParameters(module, where);
    // Rank 0's values everywhere: parameters and buffers.
    noGrad(() => {
      for (const p of module.parameters()) distributed.broadcast(p, 0);
      for (const b of module.buffers()) distributed.broadcast(b, 0);
    });
    this.total = named.length;
    this.makeBuckets(named.map(([, p]) => p).reverse());
    for (const p of this.bucketOf.keys()) this.hooks.push(p.registerPostAccumulateGradHook((t) => this.onGradReady(t)));
  }

  /** Groups `params` (in gradient-ready order) into buckets of ≤ bucketCapMb per dtype and device. */
  private makeBuckets(params: Tensor[]): void {
    // As PyTorch, the first bucket (the last layers, whose gradients come first) is capped at 1 MB,
    // so that communication starts early in backward; the others at bucketCapMb.
    const capAll = this.bucketCapMb * 1024 * 1024;
    const capFirst = Math.min(capAll, 1024 * 1024);
    const open = new Map<string, { params: Tensor[]; bytes: number; cap: number }>();
    const groups: { params: Tensor[]; dtype: DType; device: DeviceName }[] = [];
    for (const p of params) {
      const key = `${p.dtype}/${p.device}`;
      let cur = open.get(key);
      const bytes = p.size * (p.dtype === 'float64' ? 8 : 4);
      if (cur && cur.params.length && cur.bytes + bytes > cur.cap) cur = undefined;
      if (!cur) {
        cur = { params: [], bytes: 0, cap: open.has(key) ? capAll : capFirst };
        open.set(key, cur);
        groups.push({ params: cur.params, dtype: p.dtype, device: p.device });
      }
      cur.params.push(p);
      cur.bytes += bytes;
    }
    for (const g of groups) {
      const n = g.params.reduce((s, p) => s + p.size, 0);
      const flat = keep(zeros([n], { dtype: g.dtype, device: g.device }));
      const views: Tensor[] = [];
      let off = 0;
      noGrad(() => {
        for (const p of g.params) {
          views.push(keep(tidy(() => flat.narrow(0, off, p.size).reshape(p.shape.slice()))));
          this.bucketOf.set(p, [this.buckets.length, views.length - 1]);
          off += p.size;
        }
      });
      this.buckets.push({ flat, params: g.params, views, ready: 0, work: null });
    }
  }

  /** How many buckets and their sizes in bytes (to inspect the bucketing). @example ddp.bucketSizes() // [1048576, 2099200] */
  bucketSizes(): number[] {
    return this.buckets.map((b) => b.flat.size * (b.flat.dtype === 'float64' ? 8 : 4));
  }

  private onGradReady(p: Tensor): void {
    if (!this.syncing) return;
    const at = this.bucketOf.get(p);
    if (!at || this.reduced.has(p) || !p.grad) return;
    this.reduced.add(p);
    const b = this.buckets[at[0]];
    noGrad(() => copyInto(b.views[at[1]], p.grad!));
    b.ready++;
    this.readyParams++;
    while (this.nextLaunch < this.buckets.length && this.buckets[this.nextLaunch].ready === this.buckets[this.nextLaunch].params.length) {
      const nb = this.buckets[this.nextLaunch++];
      nb.work = distributed.startAllReduce(nb.flat, 'avg');
    }
    if (this.readyParams === this.total) this.finish();
  }

  /** Waits for every bucket, in order, and copies the averages back into `.grad`. */
  private finish(): void {
    const t0 = performance.now();
    for (const b of this.buckets) {
      b.work!.wait();
      b.work = null;
    }
    const waited = performance.now() - t0;
    noGrad(() => {
      for (const b of this.buckets) b.params.forEach((p, i) => copyInto(p.grad!, b.views[i]));
    });
    this.stats.lastWaitMs = waited;
    this.stats.totalWaitMs += waited;
    this.stats.steps++;
    this.resetIteration();
  }

  private resetIteration(): void {
    for (const b of this.buckets) b.ready = 0;
    this.nextLaunch = 0;
    this.readyParams = 0;
    this.reduced.clear();
  }

  /**
   * Runs the wrapped model. In training mode, rank 0's buffers are broadcast first (with
   * `broadcastBuffers`), and a previous backward that left some parameter without a gradient is
   * reported here.
   */
  forward(x: Tensor, ...rest: unknown[]): Tensor {
    if (this.readyParams > 0) {
      const missing = [...this.names].filter(([p]) => !this.reduced.has(p)).map(([, name]) => name);
      for (const b of this.buckets) if (b.work) { b.work.wait(); b.work = null; }
      this.resetIteration();
      throw new EntrenaError('ERR_AUTOGRAD', `DistributedDataParallel: the last backward gave no gradient to ${missing.length} parameter(s) (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}), so the gradients were not averaged; every parameter that requires grad must take part in the loss (freeze() the others)`);
    }
    if (this.training && this.broadcastBuffers && distributed.worldSize() > 1) this.syncBuffers();
    return (this.module.forward as (x: Tensor, ...r: unknown[]) => Tensor)(x, ...rest);
  }

  /**
   * Rank 0's buffers everywhere in one broadcast per device (per dtype on CUDA): the buffers are
   * packed into a flat tensor kept between steps — float64 on the CPU, which holds float32 and
   * int32 values exactly — broadcast, and unpacked.
   */
  private syncBuffers(): void {
    const groups = new Map<string, Tensor[]>();
    for (const b of this.module.buffers()) {
      const key = b.device === 'cpu' ? 'cpu' : `${b.dtype}/${b.device}`;
      const g = groups.get(key);
      if (g) g.push(b);
      else groups.set(key, [b]);
    }
    noGrad(() => tidy(() => {
      for (const [key, bufs] of groups) {
        const n = bufs.reduce((s, b) => s + b.size, 0);
        let flat = this.bufferFlat.get(key);
        if (!flat || flat.size !== n) {
          flat?.dispose();
          flat = keep(zeros([n], { dtype: key === 'cpu' ? 'float64' : bufs[0].dtype, device: bufs[0].device }));
          this.bufferFlat.set(key, flat);
        }
        let off = 0;
        const views = bufs.map((b) => { const v = flat!.narrow(0, off, b.size).reshape(b.shape.slice()); off += b.size; return v; });
        if (distributed.rank() === 0) bufs.forEach((b, i) => copyInto(views[i], b));
        distributed.broadcast(flat, 0);
        if (distributed.rank() !== 0) bufs.forEach((b, i) => copyInto(b, views[i]));
      }
    }));
  }

  /**
   * Runs `fn` (forward and backward passes) without averaging gradients: they accumulate locally,
   * and the next backward outside `noSync` averages the accumulated sums (PyTorch's `no_sync`, for
   * gradient accumulation).
   * @example ddp.noSync(() => lossFn.forward(ddp.forward(x1), y1).backward()); // then a synced step
   */
  noSync<T>(fn: () => T): T {
    const prev = this.syncing;
    this.syncing = false;
    try {
      return fn();
    } finally {
      this.syncing = prev;
    }
  }

  /** Removes the gradient hooks and frees the buckets; the wrapped model is left as it is. */
  dispose(): void {
    for (const h of this.hooks) h.remove();
    this.hooks.length = 0;
    for (const b of this.buckets) { b.work?.wait(); b.flat.dispose(); for (const v of b.views) v.dispose(); }
    this.buckets.length = 0;
    this.bucketOf.clear();
    for (const t of this.bufferFlat.values()) t.dispose();
    this.bufferFlat.clear();
  }

  // ---- the wrapped model's tensors and state, under its own names --------------------------------

  override namedParameters(options: { recurse?: boolean } = {}): [string, Tensor][] { return this.module.namedParameters(options); }
  override parameters(options: { recurse?: boolean } = {}): Tensor[] { return this.module.parameters(options); }
  override namedBuffers(options: { recurse?: boolean } = {}): [string, Tensor][] { return this.module.namedBuffers(options); }
  override buffers(options: { recurse?: boolean } = {}): Tensor[] { return this.module.buffers(options); }
  override namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] { return this.module.namedModules(prefix, seen); }
  override stateDict(): StateDict { return this.module.stateDict(); }
  override loadStateDict(sd: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult { return this.module.loadStateDict(sd, options); }
  override train(mode = true): this {
    this.module.train(mode);
    this.training = mode;
    return this;
  }
  override resetParameters(): this {
    this.module.resetParameters();
    return this;
  }
  override to(): this {
    throw new EntrenaError('ERR_INVALID_ARGUMENT', 'DistributedDataParallel.to: move the model before wrapping it (the gradient buckets live on its device)');
  }
  override clone(): this {
    throw new EntrenaError('ERR_INVALID_ARGUMENT', 'DistributedDataParallel.clone: clone the wrapped model (ddp.module.clone())');
  }
  protected override extraRepr(): string {
    return `bucketCapMb=${this.bucketCapMb}, buckets=${this.buckets.length}, worldSize=${distributed.worldSize()}`;
  }
  override toString(): string {
    return `DistributedDataParallel(${this.extraRepr()})\n  (module): ${this.module.toString().replace(/\n/g, '\n  ')}`;
  }
}

/**
 * Every rank must hold the same parameters: the names, shapes and dtypes of rank 0 are compared
 * with every rank's (an allGather of their UTF-8 text), and the first difference is an error on
 * every rank, naming the rank and the parameter.
 */
function checkSameParameters(module: Module, where: string): void {
  if (distributed.worldSize() === 1) return;
  const mine = module.namedParameters().map(([n, p]) => `${n} ${shapeStr(p.shape)} ${p.dtype}`);
  const bytes = Buffer.from(JSON.stringify(mine), 'utf8');
  const all = tidy(() => {
    const len = distributed.allGather(tensor([bytes.length], { dtype: 'int32' })).data();
    const max = Math.max(...Array.from(len));
    const padded = new Int32Array(max);
    for (let i = 0; i < bytes.length; i++) padded[i] = bytes[i];
    const gathered = distributed.allGather(tensor(padded, { dtype: 'int32', shape: [max] })).data();
    return Array.from(len, (n, r) => JSON.parse(Buffer.from(Array.from(gathered.subarray(r * max, r * max + n))).toString('utf8')) as string[]);
  });
  const ref = all[0];
  for (let r = 1; r < all.length; r++) {
    const other = all[r];
    for (let i = 0; i < Math.max(ref.length, other.length); i++) {
      if (ref[i] === other[i]) continue;
      throw new EntrenaError('ERR_SHAPE', `${where}: the ranks' models differ: parameter ${i} is ${ref[i] === undefined ? 'absent' : `'${ref[i]}'`} on rank 0 but ${other[i] === undefined ? 'absent' : `'${other[i]}'`} on rank ${r} (every rank must build the same model)`);
    }
  }
}
