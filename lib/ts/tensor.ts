/**
 * tensor.ts — the Tensor class: a typed view (shape, strides, offset, dtype) over natively owned
 * memory, plus memory management (`dispose`, `tidy`, `memory`) and the autograd hooks.
 *
 * Memory model: a Storage wraps one native buffer and counts the tensors viewing it; the buffer is
 * freed when the last of them is disposed. `tidy(fn)` disposes every tensor created in `fn` except
 * what it returns (and whatever the returned tensors' autograd graph still needs). Tensors never
 * disposed are reclaimed by the garbage collector through the native External's finalizer — the
 * safety net, not the plan. Operations are implemented in lib/ts/ops and exposed here as methods.
 */
import { runBackward, setEngineHooks, setNaNCheck, GradNode } from './autograd/engine.js';
import { ArgumentError, DeviceError, DisposedError, DTypeError, EntrenaError, ShapeError, describe } from './errors.js';
import { DEVICE_CODE, DTYPE_CODE, native, scratch, type Handle } from './native.js';
import * as ops from './ops/index.js';

export type DType = 'float32' | 'float64' | 'int32';
export type DeviceName = 'cpu' | 'cuda';
export type Shape = number[];
export type TypedArrayFor<D extends DType> = D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Float32Array;
export type NestedArray = number | boolean | NestedArray[];

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

export function dtypeSize(d: DType): number {
  return d === 'float64' ? 8 : 4;
}
export function typedArrayFor(d: DType, n: number): Float32Array | Float64Array | Int32Array {
  return d === 'float64' ? new Float64Array(n) : d === 'int32' ? new Int32Array(n) : new Float32Array(n);
}
export function checkDType(d: unknown, where: string): DType {
  if (d === 'float32' || d === 'float64' || d === 'int32') return d;
  throw new DTypeError(`${where}: expected dtype 'float32', 'float64' or 'int32', received ${describe(d)}`);
}
export function checkDevice(d: unknown, where: string): DeviceName {
  if (d === 'cpu' || d === 'cuda') return d;
  throw new DeviceError(`${where}: expected device 'cpu' or 'cuda', received ${describe(d)}`);
}

/**
 * One native buffer, shared by the tensors that view it.
 *
 * Small host buffers are recycled through a per-size pool instead of going back to the allocator:
 * creating and finalising an N-API External costs about half a microsecond, which would dominate
 * a small elementwise op. The pool is bounded (kPoolBytes) and `emptyCache()` drains it.
 */
export class Storage {
  refs = 0;
  freed = false;
  constructor(readonly handle: Handle, readonly bytes: number, readonly device: DeviceName) {}
  static alloc(bytes: number, device: DeviceName): Storage {
    if (device === 'cpu' && bytes <= kPoolMaxBuffer) {
      const list = pool.get(bytes);
      const s = list?.pop();
      if (s) {
        pooledBytes -= bytes;
        s.freed = false;
        s.refs = 0;
        return s;
      }
    }
    return new Storage(native.alloc(DEVICE_CODE[device], bytes), bytes, device);
  }
  release(): void {
    if (--this.refs > 0 || this.freed) return;
    this.freed = true;
    if (this.device === 'cpu' && this.bytes <= kPoolMaxBuffer && pooledBytes + this.bytes <= kPoolBytes) {
      let list = pool.get(this.bytes);
      if (!list) pool.set(this.bytes, (list = []));
      if (list.length < kPoolPerSize) {
        list.push(this);
        pooledBytes += this.bytes;
        return;
      }
    }
    native.free(this.handle);
  }
}

const kPoolMaxBuffer = 16 * 1024;
const kPoolPerSize = 64;
const kPoolBytes = 4 * 1024 * 1024;
const pool = new Map<number, Storage[]>();
let pooledBytes = 0;

/** Returns the pooled small host buffers to the allocator. */
export function emptyCache(): void {
  for (const list of pool.values()) for (const s of list) native.free(s.handle);
  pool.clear();
  pooledBytes = 0;
}

// ---- tidy scopes and live-tensor accounting ----------------------------------------------------

const scopes: Set<Tensor>[] = [];
// Tensors created and not yet disposed, per device. (A tensor left to the garbage collector has its
// memory reclaimed by the native External's finalizer, but it stays counted here: a per-tensor
// FinalizationRegistry would cost more than a whole small op.)
const live = { cpu: 0, cuda: 0 };

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  /** @internal */ storage: Storage;
  readonly shape: Shape;
  /** Element strides of each dimension. */
  readonly strides: number[];
  /** Element offset of the first element in the storage. */
  readonly offset: number;
  readonly dtype: DType;
  /** @internal */ _gradFn: GradNode | null = null;
  /**
   * @internal Kept alive by a tidy only because a returned tensor's graph needs it: disposed when
   * backward frees that graph.
   */
  _graphOwned = false;
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
    storage.refs++;
    live[storage.device]++;
    if (scopes.length) scopes[scopes.length - 1].add(this);
  }

  /** @internal A new contiguous tensor with fresh (uninitialised) memory. */
  static empty(shape: Shape, dtype: DType, device: DeviceName): Tensor {
    const n = sizeOf(shape);
    return new Tensor(Storage.alloc(n * dtypeSize(dtype), device), shape, contiguousStrides(shape), 0, dtype);
  }

  get device(): DeviceName { return this.storage.device; }
  /** Number of elements. */
  get size(): number { return sizeOf(this.shape); }
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
      if (!sameShape(g.shape, this.shape)) throw new ShapeError(`grad: expected shape [${this.shape.join(', ')}], received [${g.shape.join(', ')}]`);
      if (g.dtype !== this.dtype) throw new DTypeError(`grad: expected dtype ${this.dtype}, received ${g.dtype}`);
      if (g.device !== this.device) throw new DeviceError(`grad: expected a tensor on ${this.device}, received one on ${g.device}`);
    }
    if (this._grad && this._grad !== g) this._grad.dispose();
    this._grad = g;
  }
  /** @internal */ _setGradFn(node: GradNode): void { this._gradFn = node; }

  /** Throws ERR_DISPOSED when used after dispose. */
  assertAlive(where = 'tensor'): void {
    if (this._isDisposed) throw new DisposedError(`${where}: the tensor (shape [${this.shape.join(', ')}], ${this.dtype}) has been disposed`);
  }

  /** Frees this tensor's memory now (the buffer goes when its last view goes). Idempotent. */
  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    live[this.storage.device]--;
    this.storage.release();
    this._gradFn = null;
    for (const s of scopes) s.delete(this);
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

  /** @internal A view of the same storage (no copy). */
  view(shape: Shape, strides: number[], offset: number): Tensor {
    this.assertAlive();
    return new Tensor(this.storage, shape, strides, offset, this.dtype);
  }

  // ---- reading values back ----------------------------------------------------------------------

  /** A typed-array copy of the values in row-major order. On CUDA this synchronises. */
  data(): Float32Array | Float64Array | Int32Array {
    this.assertAlive('data()');
    const src = this.isContiguous() ? this : ops.contiguous(this);
    const out = typedArrayFor(this.dtype, this.size);
    if (out.length) native.read(src.storage.handle, src.offset * dtypeSize(this.dtype), out);
    if (src !== this) src.dispose();
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
    if (this.size !== 1) throw new ShapeError(`item(): expected a tensor with one element, received shape [${this.shape.join(', ')}]`);
    const out = typedArrayFor(this.dtype, 1);
    native.read(this.storage.handle, this.offset * dtypeSize(this.dtype), out);
    return out[0];
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- autograd ---------------------------------------------------------------------------------

  /**
   * Reverse-mode differentiation. A scalar needs no `grad`; otherwise pass the gradient of the
   * output. Gradients accumulate into `.grad` of leaves that require grad.
   * @example
   * const w = tensor([1, 2], { requiresGrad: true });
   * w.mul(w).sum().backward(); // w.grad = [2, 4]
   */
  backward(grad?: Tensor, options: { retainGraph?: boolean } = {}): void {
    this.assertAlive('backward');
    if (grad === undefined && this.size !== 1) {
      throw new ShapeError(`backward: grad can be implicitly created only for a scalar output, this one has shape [${this.shape.join(', ')}]; pass the gradient explicitly`);
    }
    if (grad !== undefined) {
      if (!(grad instanceof Tensor)) throw new ArgumentError(`backward: expected grad to be a Tensor, received ${describe(grad)}`);
      if (!sameShape(grad.shape, this.shape)) throw new ShapeError(`backward: expected grad of shape [${this.shape.join(', ')}], received [${grad.shape.join(', ')}]`);
    }
    runBackward(this, grad, options.retainGraph ?? false);
  }
  /** A tensor sharing this one's memory but cut from the graph. */
  detach(): Tensor {
    this.assertAlive('detach');
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
  }

  // ---- devices and dtypes -------------------------------------------------------------------------

  /** A copy on `device` (this tensor itself when already there). */
  to(device: DeviceName): Tensor { return ops.toDevice(this, checkDevice(device, 'to')); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(): Tensor { return this.to('cuda'); }
  /** A copy converted to `dtype` (this tensor itself when it already has it). */
  cast(dtype: DType): Tensor { return ops.cast(this, checkDType(dtype, 'cast')); }
  /** A contiguous tensor with the same values (this tensor itself when already contiguous). */
  contiguous(): Tensor { return ops.contiguous(this); }
  /** A contiguous copy that shares no memory with this tensor. */
  clone(): Tensor { return ops.clone(this); }

  // ---- elementwise ------------------------------------------------------------------------------
  add(b: Tensor | number): Tensor { return ops.add(this, b); }
  sub(b: Tensor | number): Tensor { return ops.sub(this, b); }
  mul(b: Tensor | number): Tensor { return ops.mul(this, b); }
  div(b: Tensor | number): Tensor { return ops.div(this, b); }
  pow(b: Tensor | number): Tensor { return ops.pow(this, b); }
  maximum(b: Tensor | number): Tensor { return ops.maximum(this, b); }
  minimum(b: Tensor | number): Tensor { return ops.minimum(this, b); }
  eq(b: Tensor | number): Tensor { return ops.eq(this, b); }
  ne(b: Tensor | number): Tensor { return ops.ne(this, b); }
  gt(b: Tensor | number): Tensor { return ops.gt(this, b); }
  ge(b: Tensor | number): Tensor { return ops.ge(this, b); }
  lt(b: Tensor | number): Tensor { return ops.lt(this, b); }
  le(b: Tensor | number): Tensor { return ops.le(this, b); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  square(): Tensor { return ops.square(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  tanh(): Tensor { return ops.tanh(this); }
  relu(): Tensor { return ops.relu(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return ops.clamp(this, min, max); }
  where(cond: Tensor, other: Tensor | number): Tensor { return ops.where(cond, this, other); }

  // ---- shape ------------------------------------------------------------------------------------
  reshape(...shape: (number | number[])[]): Tensor { return ops.reshape(this, flatArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return ops.flatten(this, startDim, endDim); }
  transpose(d0: number, d1: number): Tensor { return ops.transpose(this, d0, d1); }
  permute(...dims: (number | number[])[]): Tensor { return ops.permute(this, flatArgs(dims)); }
  /** The transpose of a 2-D tensor (a view). */
  get T(): Tensor {
    if (this.ndim !== 2) throw new ShapeError(`T: expected a 2-D tensor, received shape [${this.shape.join(', ')}]`);
    return ops.transpose(this, 0, 1);
  }
  squeeze(dim?: number): Tensor { return ops.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return ops.unsqueeze(this, dim); }
  expand(shape: Shape): Tensor { return ops.expand(this, shape); }
  narrow(dim: number, start: number, length: number): Tensor { return ops.narrow(this, dim, start, length); }
  indexSelect(dim: number, indices: Tensor | number[]): Tensor { return ops.indexSelect(this, dim, indices); }
  gather(dim: number, indices: Tensor): Tensor { return ops.gather(this, dim, indices); }
  matmul(b: Tensor): Tensor { return ops.matmul(this, b); }

  // ---- reductions -------------------------------------------------------------------------------
  sum(dim?: number | number[] | null, options?: { keepDim?: boolean }): Tensor { return ops.sum(this, dim, options); }
  mean(dim?: number | number[] | null, options?: { keepDim?: boolean }): Tensor { return ops.mean(this, dim, options); }
  variance(dim?: number | number[] | null, options?: { unbiased?: boolean; keepDim?: boolean }): Tensor { return ops.variance(this, dim, options); }
  std(dim?: number | number[] | null, options?: { unbiased?: boolean; keepDim?: boolean }): Tensor { return ops.std(this, dim, options); }
  max(dim?: number | null, options?: { keepDim?: boolean }): Tensor { return ops.max(this, dim, options); }
  min(dim?: number | null, options?: { keepDim?: boolean }): Tensor { return ops.min(this, dim, options); }
  argmax(dim?: number | null, options?: { keepDim?: boolean }): Tensor { return ops.argmax(this, dim, options); }
  argmin(dim?: number | null, options?: { keepDim?: boolean }): Tensor { return ops.argmin(this, dim, options); }
  softmax(dim: number): Tensor { return ops.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return ops.logSoftmax(this, dim); }

  // ---- in place (no autograd: for optimizers and initializers) ----------------------------------
  /** @internal this ← this + b · alpha, in place, untracked. */
  addInPlace_(b: Tensor | number, alpha = 1): this { ops.addInPlace(this, b, alpha); return this; }
  /** Copies `src` (broadcast) into this tensor in place, untracked. */
  copy_(src: Tensor | number): this { ops.copyInto(this, src); return this; }
  /** Fills this tensor with `value` in place, untracked. */
  fill_(value: number): this { ops.fillInPlace(this, value); return this; }
}

function flatArgs(a: (number | number[])[]): number[] {
  return a.length === 1 && Array.isArray(a[0]) ? (a[0] as number[]) : (a as number[]);
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Writes an elementwise iteration into the scratch buffer (layout in native/bindings.cc). */
export function setIter(shape: Shape, operands: { strides: number[]; offset: number }[]): void {
  const nd = shape.length;
  if (nd > 8) throw new ShapeError(`tensors of rank ${nd} are not supported (at most 8 dimensions)`);
  scratch[0] = nd;
  for (let d = 0; d < nd; d++) scratch[1 + d] = shape[d];
  for (let o = 0; o < operands.length; o++) {
    const base = 16 + 16 * o;
    const op = operands[o];
    scratch[base] = op.offset;
    const k = op.strides.length;
    // Right-align the operand's strides with the iteration shape; missing leading dims broadcast.
    for (let d = 0; d < nd; d++) {
      const od = d - (nd - k);
      scratch[base + 1 + d] = od < 0 ? 0 : op.strides[od];
    }
  }
}

// ---- scopes ----------------------------------------------------------------------------------------

/** Collects the tensors in a tidy's result (into `keep`) and those their graphs need (into `graph`). */
function collectKept(value: unknown, keep: Set<Tensor>, graph: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    keep.add(value);
    // Whatever the graph of a kept tensor still needs stays alive too.
    const stack: Tensor[] = [value];
    while (stack.length) {
      const t = stack.pop()!;
      const node = t._gradFn;
      if (!node) continue;
      for (const s of node.saved) if (!graph.has(s)) { graph.add(s); stack.push(s); }
      for (const s of node.inputs) if (s && !graph.has(s)) { graph.add(s); stack.push(s); }
    }
    return;
  }
  if (Array.isArray(value)) { for (const v of value) collectKept(v, keep, graph, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collectKept(v, keep, graph, seen); return; }
  if (value instanceof Set) { for (const v of value) collectKept(v, keep, graph, seen); return; }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  // Plain objects and class instances (a dataset, a module) alike: their own fields are searched.
  for (const v of Object.values(value)) collectKept(v, keep, graph, seen);
}

function openScope(): void { scopes.push(new Set()); }
function closeScope(keep: Set<Tensor>, graph: Set<Tensor> = new Set()): void {
  const scope = scopes.pop();
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
 * autograd graph still needs. Nested tidies hand kept tensors to
 * the enclosing one. Async functions are not supported: the scope would close before they finish.
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
  collectKept(result, keep, graph);
  closeScope(keep, graph);
  return result;
}

/** Removes `t` from every enclosing tidy scope so that it outlives them (as `tf.keep`). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
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
    cpu: { tensors: live.cpu, buffers: s.cpuBuffers, bytes: s.cpuBytes, pooledBytes },
    cuda: { tensors: live.cuda, buffers: s.cudaBuffers, bytes: s.cudaBytes, pooledBytes: 0 },
  };
}

setNaNCheck((t) => t.size > 0 && t.dtype !== 'int32' && ops.withGradOff(() => {
  const m = ops.isnan(t);
  const s = ops.sum(m);
  const any = s.item() > 0;
  m.dispose();
  s.dispose();
  return any;
}));

setEngineHooks({
  openScope,
  closeScope,
  untrack: (t) => { keep(t); },
  onesLike: (t) => ops.full(t.shape, 1, { dtype: t.dtype, device: t.device }),
  accumulate: (into, g) => { ops.addInPlace(into, g, 1); },
  copy: (t) => ops.clone(t),
});

export { DTYPE_CODE, DEVICE_CODE };
