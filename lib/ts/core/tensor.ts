/**
 * core/tensor.ts — the Tensor class without its operations: a typed view (shape, strides, offset,
 * dtype) over a natively owned Storage, reading values back, the autograd fields, and memory
 * management (`dispose`, `tidy`, `keep`, `memory`, and the per-op scopes of the ops' door).
 *
 * Memory model: a Storage counts the tensors viewing it; the buffer is freed when the last of them
 * is disposed. `tidy(fn)` disposes every tensor created in `fn` except what it returns (and what
 * the returned tensors' autograd graph still needs). Tensors never disposed are reclaimed by the
 * garbage collector through the native External's finalizer — the safety net, not the plan.
 *
 * The operations (`add`, `matmul`, …) and `backward` are installed as methods by lib/ts/tensor.ts,
 * so this core imports nothing from lib/ts/ops or the autograd engine: the module graph is a
 * line, core → autograd → ops → tensor methods.
 */
import { ArgumentError, DeviceError, DisposedError, DTypeError, EntrenaError, ShapeError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { DTYPE_CODE, native } from '../native.js';
import type { GradNode } from '../autograd/graph.js';
import { contiguousStrides, dtypeSize, isHalf, rawArrayFor, sameShape, sizeOf, typedArrayFor, type DeviceName, type DType, type NestedArray, type Shape } from './dtype.js';
import { setIter } from './iter.js';
import { Storage, poolBytes } from './storage.js';

// ---- scopes and live-tensor accounting -----------------------------------------------------------

/** Open `tidy` scopes, innermost last, and the id of the first tensor each could hold. */
const scopes: Set<Tensor>[] = [];
const scopeStarts: number[] = [];
// Tensors created and not yet disposed, per device. (A tensor left to the garbage collector has its
// memory reclaimed by the native External's finalizer, but it stays counted here: a per-tensor
// FinalizationRegistry would cost more than a whole small op.)
const live = { cpu: 0, cuda: 0 };
/** Creation serial: a tensor made inside an op scope has an id ≥ the scope's mark. */
let serial = 0;
/** Tensors created while at least one op scope is open (see openOpScope). */
const created: Tensor[] = [];
let opDepth = 0;

export class Tensor {
  /** @internal */ storage: Storage;
  readonly shape: Shape;
  /** Element strides of each dimension. */
  readonly strides: number[];
  /** Element offset of the first element in the storage. */
  readonly offset: number;
  readonly dtype: DType;
  /** Number of elements (the product of the shape; 1 for a 0-d tensor). */
  readonly size: number;
  /** @internal Creation serial (op scopes tell their own tensors by it). */
  readonly _id: number;
  /** @internal */ _gradFn: GradNode | null = null;
  /**
   * @internal Kept alive by a tidy or an op scope only because a returned tensor's graph needs it:
   * disposed when the last graph node that references it is released (by backward freeing the
   * graph, or by the disposal of the tensors whose nodes reference it).
   */
  _graphOwned = false;
  /** @internal How many live graph nodes hold this tensor as an input or a saved tensor. */
  _graphRefs = 0;
  /** @internal Set by `keep`: no scope (tidy or op) disposes it. */
  _kept = false;
  private _requiresGrad = false;
  private _grad: Tensor | null = null;
  private _isDisposed = false;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(storage: Storage, shape: Shape, strides: number[], offset: number, dtype: DType) {
    this.storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    // Read by every kernel call and check: computed once (a tensor's shape never changes).
    this.size = sizeOf(shape);
    this._id = serial++;
    storage.refs++;
    live[storage.device]++;
    if (scopes.length) scopes[scopes.length - 1].add(this);
    if (opDepth) created.push(this);
  }

  /** @internal A new contiguous tensor with fresh (uninitialised) memory. */
  static empty(shape: Shape, dtype: DType, device: DeviceName): Tensor {
    return new Tensor(Storage.alloc(sizeOf(shape) * dtypeSize(dtype), device), shape, contiguousStrides(shape), 0, dtype);
  }

  get device(): DeviceName { return this.storage.device; }
  get ndim(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._isDisposed; }
  get gradFn(): GradNode | null { return this._gradFn; }
  /** True for tensors not produced by a tracked op (parameters, inputs). */
  get isLeaf(): boolean { return this._gradFn === null; }

  get requiresGrad(): boolean { return this._requiresGrad || this._gradFn !== null; }
  set requiresGrad(v: boolean) {
    if (this._gradFn && !v) throw new EntrenaError('ERR_AUTOGRAD', 'requiresGrad can only be changed on leaf tensors; use detach() for a non-leaf');
    if (v && this.dtype === 'int32') throw new DTypeError('requiresGrad: only floating-point tensors can require gradients, this one is int32');
    this._requiresGrad = v;
  }
  /**
   * The accumulated gradient of a leaf, or null. Settable, as in PyTorch; replacing it (with null
   * or another tensor) disposes the previous gradient, so a training loop that clears gradients
   * leaks nothing — `clone()` a gradient first to keep it.
   */
  get grad(): Tensor | null { return this._grad; }
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) throw new ArgumentError(`grad: expected a Tensor or null, received ${describe(g)}`);
      if (!sameShape(g.shape, this.shape)) throw new ShapeError(`grad: expected shape ${shapeStr(this.shape)}, received ${shapeStr(g.shape)}`);
      if (g.dtype !== this.dtype) throw new DTypeError(`grad: expected dtype ${this.dtype}, received ${g.dtype}`);
      if (g.device !== this.device) throw new DeviceError(`grad: expected a tensor on ${this.device}, received one on ${g.device}`);
    }
    if (this._grad && this._grad !== g) this._grad.dispose();
    this._grad = g;
  }
  /**
   * @internal Replaces `.grad` without disposing the previous gradient (a backward that creates a
   * graph: the previous gradient is an input of the new one's graph).
   */
  _replaceGrad(g: Tensor | null): void { this._grad = g; }
  /** @internal The hooks `registerPostAccumulateGradHook` registered (the autograd engine runs them). */
  _postAccumulateGradHooks: ((t: Tensor) => void)[] | null = null;
  /**
   * Registers `hook(tensor)`, called by `backward` once this leaf's `.grad` holds the whole
   * gradient of that backward pass (every contribution accumulated), as PyTorch's
   * `register_post_accumulate_grad_hook`. Not called by `autograd.grad`, which leaves `.grad` alone.
   * Hooks run inside the backward pass: tensors they create are freed when it ends unless `keep`
   * is used. Data-parallel training starts each gradient bucket's all-reduce from such a hook,
   * while the rest of backward still runs.
   * @example
   * const handle = w.registerPostAccumulateGradHook((p) => console.log('gradient ready', p.grad!.shape));
   * loss.backward();
   * handle.remove();
   */
  registerPostAccumulateGradHook(hook: (t: Tensor) => void): { remove(): void } {
    if (typeof hook !== 'function') throw new ArgumentError(`registerPostAccumulateGradHook: expected a function, received ${describe(hook)}`);
    if (!this.isLeaf) throw new EntrenaError('ERR_AUTOGRAD', 'registerPostAccumulateGradHook: only leaf tensors accumulate gradients; this tensor was made by an op');
    if (!this.requiresGrad) throw new EntrenaError('ERR_AUTOGRAD', "registerPostAccumulateGradHook: the tensor does not require grad (set requiresGrad first)");
    const hooks = (this._postAccumulateGradHooks ??= []);
    hooks.push(hook);
    return {
      remove: () => {
        const i = hooks.indexOf(hook);
        if (i >= 0) hooks.splice(i, 1);
      },
    };
  }
  /** @internal Attaches the node that made this tensor; the node's inputs and saved tensors are held. */
  _setGradFn(node: GradNode): void {
    this._gradFn = node;
    for (const t of node.inputs) if (t) t._graphRefs++;
    for (const t of node.saved) t._graphRefs++;
  }

  /** Throws ERR_DISPOSED when used after dispose. */
  assertAlive(where = 'tensor'): void {
    if (this._isDisposed) throw new DisposedError(`${where}: the tensor (shape ${shapeStr(this.shape)}, ${this.dtype}) has been disposed`);
  }

  /** Frees this tensor's memory now (the buffer goes when its last view goes). Idempotent. */
  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    live[this.storage.device]--;
    this.storage.release();
    for (const s of scopes) s.delete(this);
    const node = this._gradFn;
    this._gradFn = null;
    if (node) releaseNode(node);
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }
  /** @internal True when another tensor views the same buffer. */
  storageShared(): boolean { return this.storage.refs > 1; }

  /** @internal A view of the same storage (no copy, not recorded: ops record their views). */
  view(shape: Shape, strides: number[], offset: number): Tensor {
    this.assertAlive();
    return new Tensor(this.storage, shape, strides, offset, this.dtype);
  }

  // ---- reading values back ----------------------------------------------------------------------

  /**
   * A typed-array copy of the values in row-major order (bfloat16 and float16 as float32 values,
   * exactly). On CUDA this synchronises.
   */
  data(): Float32Array | Float64Array | Int32Array {
    this.assertAlive('data()');
    return this.readAs(isHalf(this.dtype) ? 'float32' : this.dtype, typedArrayFor(this.dtype, this.size));
  }
  /** @internal The elements as stored (the bits of the 16-bit types as a Uint16Array), row-major. */
  rawData(): Float32Array | Float64Array | Int32Array | Uint16Array {
    this.assertAlive('rawData()');
    return this.readAs(this.dtype, rawArrayFor(this.dtype, this.size));
  }
  /**
   * Reads the values as dtype `to` into `out`: one read when the tensor is contiguous and already
   * `to`; else one native strided copy (converting) into a contiguous buffer, then one read.
   */
  private readAs<A extends ArrayBufferView & { length: number }>(to: DType, out: A): A {
    if (!out.length) return out;
    if (to === this.dtype && this.isContiguous()) {
      native.read(this.storage.handle, this.offset * dtypeSize(this.dtype), out);
      return out;
    }
    const c = Tensor.empty(this.shape.slice(), to, this.device);
    try {
      setIter(c.shape, [c, this]);
      native.cast(DTYPE_CODE[to], DTYPE_CODE[this.dtype], c.storage.handle, this.storage.handle);
      native.read(c.storage.handle, 0, out);
    } finally {
      c.dispose();
    }
    return out;
  }
  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.data();
    if (this.shape.length === 0) return flat[0];
    const build = (dim: number, base: number): NestedArray[] => {
      const n = this.shape[dim];
      const out = new Array<NestedArray>(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = flat[base + i];
      } else {
        const step = sizeOf(this.shape.slice(dim + 1));
        for (let i = 0; i < n; i++) out[i] = build(dim + 1, base + i * step);
      }
      return out;
    };
    return build(0, 0);
  }
  /** The single value of a one-element tensor. */
  item(): number {
    this.assertAlive('item()');
    if (this.size !== 1) throw new ShapeError(`item(): expected a tensor with one element, received shape ${shapeStr(this.shape)}`);
    if (isHalf(this.dtype)) return this.data()[0];
    const out = typedArrayFor(this.dtype, 1);
    native.read(this.storage.handle, this.offset * dtypeSize(this.dtype), out);
    return out[0];
  }
  toString(): string {
    return `Tensor(shape=${shapeStr(this.shape)}, dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
  /** A tensor sharing this one's memory but cut from the graph. */
  detach(): Tensor {
    this.assertAlive('detach');
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
  }
}

// ---- graph references -------------------------------------------------------------------------------

/**
 * @internal Releases a graph node: its inputs and saved tensors lose one reference each, and those
 * that only graphs kept alive (graph-owned) are disposed when no node holds them any more — which
 * releases their own nodes in turn. So disposing the last output of a graph, or a backward that
 * frees it, frees every intermediate the graph kept. Iterative: deep graphs do not recurse.
 */
export function releaseNode(first: GradNode): void {
  const pending: GradNode[] = [first];
  while (pending.length) {
    const node = pending.pop()!;
    if (node.released) continue;
    node.released = true;
    node.backward = null;
    const held = node.saved;
    node.saved = [];
    for (const t of node.inputs) if (t) drop(t, pending);
    for (const t of held) drop(t, pending);
  }
}

/** One reference fewer on `t`; a graph-owned tensor nobody holds is disposed (its node queued). */
function drop(t: Tensor, pending: GradNode[]): void {
  if (--t._graphRefs > 0 || !t._graphOwned || t.isDisposed) return;
  const inner = t._gradFn;
  t._gradFn = null;
  t.dispose();
  if (inner) pending.push(inner);
}

// ---- op scopes (the door's temporaries) ------------------------------------------------------------

/**
 * @internal Opens a per-op scope and returns its mark. Every tensor created until the matching
 * `closeOpScope` is the op's: it is disposed at close unless it is a result, or the results'
 * autograd graph needs it. Costs one array push per tensor created.
 */
export function openOpScope(): number {
  opDepth++;
  return created.length;
}

/** @internal The id the next tensor created will get (tells an op's own tensors from its inputs). */
export function nextTensorId(): number {
  return serial;
}

/**
 * @internal Closes the op scope opened at `mark`. `results` stay; so does every tensor of the
 * scope that the results' graph reaches (walked only through tensors of this scope, so the cost is
 * bounded by what the op made): those are marked graph-owned and released when backward frees the
 * graph. Everything else the op made is disposed. `results` null: the op threw, dispose all.
 * Kept tensors move to the enclosing op scope, if any, which decides their fate in turn.
 */
export function closeOpScope(mark: number, results: readonly (Tensor | null)[] | null): void {
  opDepth--;
  const end = created.length;
  if (end === mark) return;
  if (results === null) {
    for (let i = mark; i < end; i++) created[i].dispose();
    truncate(mark);
    return;
  }
  // Only the op's own tensors that are neither results nor already gone need a decision; the
  // results' graph is walked only when there are such tensors (most ops have none).
  let pending = false;
  for (let i = mark; i < end && !pending; i++) {
    const t = created[i];
    if (!t.isDisposed && !t._kept && !results.includes(t)) pending = true;
  }
  let graph: Set<Tensor> | null = null;
  if (pending) {
    const firstId = created[mark]._id;
    for (const r of results) {
      if (!r || r._id < firstId || !r._gradFn) continue;
      graph ??= new Set();
      collectGraph(r, firstId, graph);
    }
  }
  let w = mark;
  for (let i = mark; i < end; i++) {
    const t = created[i];
    if (t.isDisposed || t._kept) continue;
    if (results.includes(t)) created[w++] = t;
    else if (graph && graph.has(t)) { t._graphOwned = true; created[w++] = t; }
    else t.dispose();
  }
  truncate(opDepth ? w : mark);
}

function truncate(n: number): void {
  while (created.length > n) created.pop();
}

/**
 * @internal `closeOpScope(mark, [out])` without the array, and without any work in the common case
 * of an op that made nothing but its result.
 */
export function closeOpScopeWith(mark: number, out: Tensor): void {
  if (created.length === mark + 1 && created[mark] === out) {
    // pop(), not `length = mark`: setting an array's length is a runtime call in V8.
    if (--opDepth === 0) created.pop();
    return;
  }
  closeOpScope(mark, [out]);
}

/** The tensors with id ≥ firstId that `root`'s graph reaches (inputs and saved tensors). */
function collectGraph(root: Tensor, firstId: number, into: Set<Tensor>): void {
  const stack: Tensor[] = [root];
  while (stack.length) {
    const node = stack.pop()!._gradFn;
    if (!node) continue;
    for (const s of node.inputs) if (s && s._id >= firstId && !into.has(s)) { into.add(s); stack.push(s); }
    for (const s of node.saved) if (s._id >= firstId && !into.has(s)) { into.add(s); stack.push(s); }
  }
}

// ---- tidy ------------------------------------------------------------------------------------------

/**
 * Collects the tensors in a tidy's result (into `keep`) and those their graphs need (into `graph`),
 * walking graphs only through tensors made since `firstId` (the scope's start: an older tensor's
 * graph holds nothing of the scope's, since a node's inputs and saved tensors exist before it ends).
 */
function collectKept(value: unknown, keep: Set<Tensor>, graph: Set<Tensor>, firstId: number, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    keep.add(value);
    collectGraph(value, firstId, graph);
    return;
  }
  if (Array.isArray(value)) { for (const v of value) collectKept(v, keep, graph, firstId, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collectKept(v, keep, graph, firstId, seen); return; }
  if (value instanceof Set) { for (const v of value) collectKept(v, keep, graph, firstId, seen); return; }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  // Plain objects and class instances (a dataset, a module) alike: their own fields are searched.
  for (const v of Object.values(value)) collectKept(v, keep, graph, firstId, seen);
}

/** @internal Opens a tidy scope (the autograd engine uses it around a backward pass). */
export function openScope(): void {
  scopes.push(new Set());
  scopeStarts.push(serial);
}
/** @internal Closes the innermost tidy scope, disposing what is neither kept nor needed by a kept graph. */
export function closeScope(keep: Set<Tensor>, graph: Set<Tensor> = new Set()): void {
  const scope = scopes.pop();
  scopeStarts.pop();
  if (!scope) return;
  const parent = scopes.length ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (keep.has(t)) { if (parent) parent.add(t); }
    else if (graph.has(t)) {
      // Needed only by a returned graph: backward disposes it when it frees that graph.
      t._graphOwned = true;
      if (parent) parent.add(t);
    } else t.dispose();
  }
}

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (directly, or inside
 * arrays, maps, sets, plain objects or class instances such as a module or a dataset) and what their
 * autograd graph still needs. Nested tidies hand kept tensors to the enclosing one. Async functions
 * are not supported: the scope would close before they finish.
 * @example
 * const loss = tidy(() => model.forward(x).sub(y).square().mean().item());
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`tidy: expected a function, received ${describe(fn)}`);
  openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(new Set());
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    closeScope(new Set());
    throw new ArgumentError('tidy: the function returned a Promise; tidy only supports synchronous functions');
  }
  const keep = new Set<Tensor>(), graph = new Set<Tensor>();
  collectKept(result, keep, graph, scopeStarts[scopeStarts.length - 1]);
  closeScope(keep, graph);
  return result;
}

/** Removes `t` from every enclosing tidy scope (and op scope) so that it outlives them (as `tf.keep`). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  t._kept = true;
  return t;
}

/** @internal The tensors the graphs of `roots` reach (their inputs and saved tensors, transitively). */
export function graphOf(roots: Iterable<Tensor>): Set<Tensor> {
  const out = new Set<Tensor>();
  for (const r of roots) collectGraph(r, 0, out);
  return out;
}

export interface DeviceMemory {
  /** Tensors created and not yet disposed. */
  tensors: number;
  /** Native buffers held (live tensors' storage; on the CPU also the small-buffer pool). */
  buffers: number;
  bytes: number;
  /** Of `bytes`, what the small-buffer pool holds for reuse (see `emptyCache`). */
  pooledBytes: number;
}
/**
 * Live tensors, native buffers and bytes per device.
 * @example const before = memory().cpu.tensors; tidy(() => work()); memory().cpu.tensors === before
 */
export function memory(): { cpu: DeviceMemory; cuda: DeviceMemory } {
  const s = native.memoryStats();
  return {
    cpu: { tensors: live.cpu, buffers: s.cpuBuffers, bytes: s.cpuBytes, pooledBytes: poolBytes() },
    cuda: { tensors: live.cuda, buffers: s.cudaBuffers, bytes: s.cudaBytes, pooledBytes: 0 },
  };
}
