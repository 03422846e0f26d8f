/**
 * core/kernels.ts — every native kernel call of the tensor library, untracked: the one place where
 * TypeScript turns tensors into handles, offsets and the scratch iteration (setIter) for the
 * binding. Ops (lib/ts/ops) call these inside the door; the autograd engine calls a few directly
 * (fills, in-place accumulation, the NaN check). No autograd, no argument checks beyond the cheap
 * invariants: callers validate (DESIGN principles 6 and 7).
 *
 * Kernel shapes: elementwise drivers take the broadcast iteration from the scratch buffer; the
 * reduction, softmax and index kernels see a contiguous [outer, n, inner] array and work on its
 * middle axis; GEMM takes (M, N, K) with leading dimensions and transpose flags.
 */
import { BINARY, DTYPE_CODE, INDEX, REDUCE, UNARY, native, type BinaryName, type Handle, type UnaryName } from '../native.js';
import { ShapeError } from '../errors.js';
import { shapeStr } from '../check.js';
import { dtypeSize, isHalf, promoteTypes, roundHalf, sizeOf, typedArrayFor, type DeviceName, type DType, type Shape } from './dtype.js';
import { setIter } from './iter.js';
import { Tensor } from './tensor.js';

export type ReduceName = keyof typeof REDUCE;
export type IndexKind = keyof typeof INDEX;
export { setIter };

/** Result dtype of a binary op, as PyTorch's promotion (numbers are "weak" scalars). */
export function promote(a: Tensor | number, b: Tensor | number): DType {
  if (typeof a === 'number' && typeof b === 'number') return 'float32';
  if (typeof a === 'number') return promote(b, a);
  if (typeof b === 'number') return a.dtype === 'int32' && !Number.isInteger(b) ? 'float32' : a.dtype;
  return promoteTypes(a.dtype, b.dtype);
}

/** Strides that read `t` broadcast to `shape` (stride 0 along broadcast dims), right-aligned. */
export function broadcastStrides(t: Tensor, shape: Shape): number[] {
  const n = shape.length, k = t.shape.length;
  const out = new Array<number>(n);
  for (let d = 0; d < n; d++) {
    const od = d - (n - k);
    out[d] = od < 0 || (t.shape[od] === 1 && shape[d] !== 1) ? 0 : t.strides[od];
  }
  return out;
}

/** The broadcast shape of a and b, or ERR_SHAPE naming `where`. */
export function broadcastShapes(a: Shape, b: Shape, where: string): Shape {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new ShapeError(`${where}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

// ---- host transfers --------------------------------------------------------------------------------

/** Writes host values into `t` (contiguous, fresh) from element 0. */
export function writeHost(t: Tensor, values: ArrayBufferView, elementOffset = 0): void {
  native.write(t.storage.handle, (t.offset + elementOffset) * dtypeSize(t.dtype), values);
}
/**
 * A new tensor holding `values` (converted to `dtype` on the host; to bfloat16 / float16 through
 * float32 by the device's cast kernel, as PyTorch converts).
 */
export function fromHost(values: ArrayLike<number>, shape: Shape, dtype: DType, device: DeviceName): Tensor {
  if (isHalf(dtype)) {
    const wide = fromHost(values, shape, 'float32', device);
    try { return copyAs(wide, dtype); } finally { wide.dispose(); }
  }
  // A typed array of the dtype's own type is written as it is (no host copy of large data).
  const same = dtype === 'float32' ? values instanceof Float32Array : dtype === 'float64' ? values instanceof Float64Array : values instanceof Int32Array;
  let host: ArrayBufferView;
  if (same) host = values as unknown as ArrayBufferView;
  else {
    const copy = typedArrayFor(dtype, values.length);
    copy.set(values);
    host = copy;
  }
  const t = Tensor.empty(shape, dtype, device);
  if (values.length) writeHost(t, host);
  return t;
}

/** A new bfloat16 / float16 tensor from the raw bits of its elements (row-major). */
export function fromBits(bits: Uint16Array, shape: Shape, dtype: DType, device: DeviceName): Tensor {
  const t = Tensor.empty(shape, dtype, device);
  if (bits.length) writeHost(t, bits);
  return t;
}

// ---- copies and fills ------------------------------------------------------------------------------

/** dst ← src (broadcast to dst's shape), converting dtype; same device. */
export function copyStrided(dst: Tensor, src: Tensor): void {
  if (dst.device !== src.device) throw new ShapeError('copyStrided: devices differ');
  if (!dst.size) return;
  setIter(dst.shape, [dst, { strides: broadcastStrides(src, dst.shape), offset: src.offset }]);
  native.cast(DTYPE_CODE[dst.dtype], DTYPE_CODE[src.dtype], dst.storage.handle, src.storage.handle);
}
/** A new contiguous tensor with t's values converted to `dtype`. */
export function copyAs(t: Tensor, dtype: DType = t.dtype): Tensor {
  const out = Tensor.empty(t.shape.slice(), dtype, t.device);
  copyStrided(out, t);
  return out;
}
/** `t` itself when contiguous, else a contiguous copy. */
export function contiguousRaw(t: Tensor): Tensor {
  return t.isContiguous() ? t : copyAs(t);
}
/** dst ← value everywhere. */
export function fill(dst: Tensor, value: number): void {
  if (!dst.size) return;
  setIter(dst.shape, [dst]);
  native.fill(DTYPE_CODE[dst.dtype], dst.storage.handle, value);
}
/** A new tensor filled with `value`. */
export function filled(shape: Shape, value: number, dtype: DType, device: DeviceName): Tensor {
  const out = Tensor.empty(shape, dtype, device);
  fill(out, value);
  return out;
}
/** A copy of `t` on `device`, through host memory. */
export function transfer(t: Tensor, device: DeviceName): Tensor {
  const host = t.rawData();
  const out = Tensor.empty(t.shape.slice(), t.dtype, device);
  if (host.length) writeHost(out, host);
  return out;
}

// ---- elementwise -----------------------------------------------------------------------------------

/**
 * The 16-bit rule at the kernel level: `fn` computes in float32 (the kernels take no bfloat16 /
 * float16), and its result is rounded once to `dtype` — into `out` when given. For the op rules
 * and backward formulas that call these kernels directly.
 */
function viaFloat32(fn: () => Tensor, dtype: DType, out?: Tensor): Tensor {
  const wide = fn();
  try {
    if (out) { copyStrided(out, wide); return out; }
    return copyAs(wide, dtype);
  } finally {
    wide.dispose();
  }
}

/** out = f(a) computed in `dtype` (a is converted first when it differs). */
export function unary(op: UnaryName, a: Tensor, p0 = 0, p1 = 0, dtype: DType = a.dtype): Tensor {
  if (isHalf(dtype)) return viaFloat32(() => unary(op, a, p0, p1, 'float32'), dtype);
  const src = a.dtype === dtype ? a : copyAs(a, dtype);
  const out = Tensor.empty(src.shape.slice(), dtype, src.device);
  if (out.size) {
    setIter(out.shape, [out, src]);
    // Ops call this without an op scope (OpDef.direct): what it made is freed here if the kernel fails.
    try {
      native.unary(UNARY[op], DTYPE_CODE[dtype], out.storage.handle, src.storage.handle, p0, p1);
    } catch (e) {
      out.dispose();
      if (src !== a) src.dispose();
      throw e;
    }
  }
  if (src !== a) src.dispose();
  return out;
}
/** out ← f(a) into an existing tensor of the same dtype (a broadcast to out's shape). */
export function unaryInto(op: UnaryName, out: Tensor, a: Tensor, p0 = 0, p1 = 0): void {
  if (!out.size) return;
  if (isHalf(out.dtype)) { viaFloat32(() => unary(op, a.dtype === out.dtype ? a : copyAs(a, out.dtype), p0, p1, 'float32'), out.dtype, out); return; }
  setIter(out.shape, [out, { strides: broadcastStrides(a, out.shape), offset: a.offset }]);
  native.unary(UNARY[op], DTYPE_CODE[out.dtype], out.storage.handle, a.storage.handle, p0, p1);
}

/**
 * out = f(a, b) with broadcasting, computed in `dtype` (default: PyTorch's promotion); operands of
 * another dtype are converted first. `out` may be given (in-place forms; it must have the
 * broadcast shape).
 */
export function binary(op: BinaryName, a: Tensor | number, b: Tensor | number, p0 = 0, p1 = 0, dtype?: DType, out?: Tensor): Tensor {
  const dt = dtype ?? promote(a, b);
  if (isHalf(dt)) {
    const an = typeof a === 'number' ? roundHalf(a, dt) : a, bn = typeof b === 'number' ? roundHalf(b, dt) : b;
    return viaFloat32(() => binary(op, an, bn, p0, p1, 'float32'), dt, out);
  }
  const device = typeof a === 'number' ? (b as Tensor).device : a.device;
  // Shapes first: nothing is allocated for a call that cannot succeed.
  const shape = broadcastShapes(typeof a === 'number' ? [] : a.shape, typeof b === 'number' ? [] : b.shape, op);
  // On CUDA a number becomes a one-element device tensor (the binding takes numbers on the host only).
  const ac = operandAs(a, dt, device), bc = operandAs(b, dt, device);
  const result = out ?? Tensor.empty(shape, dt, device);
  try {
    if (result.size) {
      setIter(shape, [result, operandIter(ac, shape), operandIter(bc, shape)]);
      native.binary(BINARY[op], DTYPE_CODE[dt], result.storage.handle,
        typeof ac === 'number' ? ac : ac.storage.handle, typeof bc === 'number' ? bc : bc.storage.handle, p0, p1);
    }
  } catch (e) {
    // Ops call this without an op scope (OpDef.direct2): a result made here is freed if the kernel fails.
    if (result !== out) result.dispose();
    throw e;
  } finally {
    // (Compared as objects: a NaN number is not equal to itself.)
    if (typeof ac !== 'number' && ac !== a) ac.dispose();
    if (typeof bc !== 'number' && bc !== b) bc.dispose();
  }
  return result;
}
function operandAs(x: Tensor | number, dtype: DType, device: DeviceName): Tensor | number {
  if (typeof x === 'number') return device === 'cuda' ? filled([], x, dtype, device) : x;
  return x.dtype === dtype ? x : copyAs(x, dtype);
}
const scalarIter = { strides: [] as number[], offset: 0 };
function operandIter(x: Tensor | number, shape: Shape): { strides: readonly number[]; offset: number } {
  return typeof x === 'number' ? scalarIter : { strides: broadcastStrides(x, shape), offset: x.offset };
}

/** out = cond ? a : b with broadcasting, in `dtype` (a and b converted; numbers made tensors). */
export function select(cond: Tensor, a: Tensor | number, b: Tensor | number, dtype: DType, shape: Shape): Tensor {
  if (isHalf(dtype)) return viaFloat32(() => select(cond, a, b, 'float32', shape), dtype);
  const device = cond.device;
  const xs = typeof a === 'number' ? filled([], a, dtype, device) : a.dtype === dtype ? a : copyAs(a, dtype);
  const ys = typeof b === 'number' ? filled([], b, dtype, device) : b.dtype === dtype ? b : copyAs(b, dtype);
  const out = Tensor.empty(shape, dtype, device);
  try {
    if (out.size) {
      setIter(shape, [out, operandIter(cond, shape), operandIter(xs, shape), operandIter(ys, shape)]);
      native.where(DTYPE_CODE[dtype], DTYPE_CODE[cond.dtype], out.storage.handle, cond.storage.handle, xs.storage.handle, ys.storage.handle);
    }
  } finally {
    if (xs !== a) xs.dispose();
    if (ys !== b) ys.dispose();
  }
  return out;
}

// ---- reductions, softmax, index --------------------------------------------------------------------

/** The [outer, n, inner] split of `shape` around `dim`. */
export function splitAt(shape: Shape, dim: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape.length ? shape[dim] : 1, inner];
}

/**
 * One native reduction over `dim` of `x` (argmax/argmin give int32). The result keeps the dim as
 * size 1, or has `outShape` (any shape of the same element count, e.g. without the dim).
 */
export function reduceDim(op: ReduceName, x: Tensor, dim: number, p0 = 0, outShape?: Shape): Tensor {
  if (isHalf(x.dtype)) {
    const wide = copyAs(x, 'float32');
    const r = op === 'argmax' || op === 'argmin' ? reduceDim(op, wide, dim, p0, outShape) : viaFloat32(() => reduceDim(op, wide, dim, p0, outShape), x.dtype);
    wide.dispose();
    return r;
  }
  const src = contiguousRaw(x);
  const [outer, n, inner] = splitAt(x.shape, dim);
  if (!outShape) {
    outShape = x.shape.slice();
    outShape[dim] = 1;
  }
  const out = Tensor.empty(outShape, op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype, x.device);
  if (outer * inner > 0) native.reduce(REDUCE[op], DTYPE_CODE[x.dtype], outer, n, inner, src.storage.handle, src.offset, out.storage.handle, 0, p0);
  if (src !== x) src.dispose();
  return out;
}

/** (log-)softmax of `x` along `dim` into a new tensor. */
export function softmaxForward(x: Tensor, dim: number, log: boolean): Tensor {
  if (isHalf(x.dtype)) {
    const wide = copyAs(x, 'float32');
    try { return viaFloat32(() => softmaxForward(wide, dim, log), x.dtype); } finally { wide.dispose(); }
  }
  const src = contiguousRaw(x);
  const [outer, n, inner] = splitAt(x.shape, dim);
  const out = Tensor.empty(x.shape.slice(), x.dtype, x.device);
  if (out.size) native.softmax(DTYPE_CODE[x.dtype], log, outer, n, inner, src.storage.handle, src.offset, out.storage.handle, 0);
  if (src !== x) src.dispose();
  return out;
}
/** dx of (log-)softmax from its output y and the incoming gradient dy, along `dim`. */
export function softmaxBackward(y: Tensor, dy: Tensor, dim: number, log: boolean): Tensor {
  if (isHalf(y.dtype) || dy.dtype !== y.dtype) {
    const dt = promoteTypes(y.dtype, dy.dtype), y32 = copyAs(y, 'float32'), g32 = copyAs(dy, 'float32');
    try { return viaFloat32(() => softmaxBackward(y32, g32, dim, log), dt); } finally { y32.dispose(); g32.dispose(); }
  }
  const yc = contiguousRaw(y), gc = contiguousRaw(dy);
  const [outer, n, inner] = splitAt(y.shape, dim);
  const dx = Tensor.empty(y.shape.slice(), y.dtype, y.device);
  if (dx.size) native.softmaxBackward(DTYPE_CODE[y.dtype], log, outer, n, inner, yc.storage.handle, yc.offset, gc.storage.handle, gc.offset, dx.storage.handle, 0);
  if (yc !== y) yc.dispose();
  if (gc !== dy) gc.dispose();
  return dx;
}

/**
 * The index kernels over [outer, n, inner] views (src and idx contiguous): 'select' and 'gather'
 * read src into out; 'add' (index-add) and 'scatterAdd' accumulate src into out. An index out of
 * range is ERR_INDEX before anything is written.
 */
export function indexKernel(kind: IndexKind, outer: number, n: number, inner: number, src: Tensor, idx: Tensor, nIdx: number, out: Tensor): void {
  native.index(INDEX[kind], DTYPE_CODE[kind === 'select' || kind === 'gather' ? src.dtype : out.dtype], outer, n, inner,
    src.storage.handle, src.offset, idx.storage.handle, idx.offset, nIdx, out.storage.handle, out.offset);
}

/** Fills `t` (contiguous) with Philox uniform (kind 0, in [a, b)) or normal (kind 1, mean a, std b) values. */
export function randomInto(t: Tensor, kind: 0 | 1, seed: number, counter: number, a: number, b: number): void {
  if (t.size) native.random(kind, DTYPE_CODE[t.dtype], t.size, t.storage.handle, t.offset, seed, counter, a, b);
}

// ---- GEMM ------------------------------------------------------------------------------------------

/** A GEMM operand: a matrix (rows × cols) read in place, transposed or not, with its leading dim. */
export interface MatOperand { t: Tensor; trans: boolean; ld: number; batchStride: number }

/**
 * Describes the last two dims of `t` (rank 2 or 3) as a GEMM operand, copying only a view that is
 * neither row- nor column-major (a strided slice); the copy is a new tensor the caller disposes
 * when `result.t !== t`.
 */
export function matOperand(t: Tensor, batch: number): MatOperand {
  const nd = t.ndim;
  const rows = t.shape[nd - 2], cols = t.shape[nd - 1];
  const ld = leadingDim(rows, cols, t.strides[nd - 2], t.strides[nd - 1]);
  const bs = nd === 3 ? (t.shape[0] === 1 && batch !== 1 ? 0 : t.strides[0]) : 0;
  if (ld !== 0) return { t, trans: ld < 0, ld: Math.abs(ld), batchStride: bs };
  const c = copyAs(t);
  return { t: c, trans: false, ld: Math.max(cols, 1), batchStride: nd === 3 ? (t.shape[0] === 1 && batch !== 1 ? 0 : rows * cols) : 0 };
}

/**
 * How the GEMM reads a rows × cols matrix with row stride `rs` and column stride `cs`: its leading
 * dimension when it is row-major, minus it when it is column-major (read transposed), 0 when it is
 * neither (a strided slice, to copy). A single row or column is both; row-major is preferred.
 */
function leadingDim(rows: number, cols: number, rs: number, cs: number): number {
  if (cols === 1) cs = 1;
  if (rows === 1) rs = Math.max(cols, 1);
  if (cs === 1 && rs >= Math.max(cols, 1)) return rs;
  if (rs === 1 && cs >= Math.max(rows, 1)) return -cs;
  return 0;
}

/**
 * x [M, K] · y [K, N] as a new tensor, for two matrices the GEMM reads in place (row- or
 * column-major): the unrecorded 2-D matmul, without operand descriptors. Null, having made
 * nothing, when an operand is a strided view that `matOperand` would copy, or when TF32 is on.
 */
export function matmulDirect(x: Tensor, y: Tensor): Tensor | null {
  const m = x.shape[0], k = x.shape[1], n = y.shape[1];
  const ldx = leadingDim(m, k, x.strides[0], x.strides[1]), ldy = leadingDim(k, n, y.strides[0], y.strides[1]);
  if (ldx === 0 || ldy === 0 || matmulTf32) return null;
  const out = Tensor.empty([m, n], x.dtype, x.device);
  if (out.size === 0) return out;
  try {
    native.gemm(DTYPE_CODE[out.dtype], ldx < 0, ldy < 0, m, n, k, 1, x.storage.handle, x.offset, Math.abs(ldx), 0,
      y.storage.handle, y.offset, Math.abs(ldy), 0, 0, out.storage.handle, out.offset, n, 0, 1);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/** Whether float32 GEMMs may use TF32 tensor cores (amp.setFloat32MatmulPrecision; CUDA only). */
let matmulTf32 = false;
/** @internal Set by amp.setFloat32MatmulPrecision. */
export function setMatmulTf32(on: boolean): void { matmulTf32 = on; }

/** C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for `batch` products of (M, N, K); C row-major with ldc. */
export function gemm(A: MatOperand, B: MatOperand, m: number, n: number, k: number, alpha: number, beta: number,
  c: Tensor, ldc: number, strideC: number, batch: number): void {
  // (The two trailing arguments only when TF32 is allowed: each argument costs at the boundary.)
  if (matmulTf32) native.gemm(DTYPE_CODE[c.dtype], A.trans, B.trans, m, n, k, alpha,
    A.t.storage.handle, A.t.offset, A.ld, A.batchStride, B.t.storage.handle, B.t.offset, B.ld, B.batchStride,
    beta, c.storage.handle, c.offset, ldc, strideC, batch, false, true);
  else native.gemm(DTYPE_CODE[c.dtype], A.trans, B.trans, m, n, k, alpha,
    A.t.storage.handle, A.t.offset, A.ld, A.batchStride, B.t.storage.handle, B.t.offset, B.ld, B.batchStride,
    beta, c.storage.handle, c.offset, ldc, strideC, batch);
}

// ---- batch norm ------------------------------------------------------------------------------------

const h = (t: Tensor | null): Handle | null => (t ? t.storage.handle : null);

/** True when this build has the fused batch-norm kernels. */
export function hasFusedBatchNorm(): boolean {
  return native.batchnormForward !== undefined && native.batchnormBackward !== undefined;
}
/**
 * Fused batch norm forward over x [N, C, L] (contiguous): y, the saved batch statistics (when
 * `useBatch`), and the running-statistics update with `factor` (when running tensors are given in
 * training). In eval (`useBatch` false) the running statistics normalise.
 */
export function batchnormForward(x: Tensor, n: number, c: number, l: number, eps: number, factor: number, useBatch: boolean, y: Tensor,
  weight: Tensor | null, bias: Tensor | null, runningMean: Tensor | null, runningVar: Tensor | null, saveMean: Tensor | null, saveInvstd: Tensor | null): void {
  native.batchnormForward!(DTYPE_CODE[x.dtype], n, c, l, eps, factor, useBatch, x.storage.handle, x.offset, y.storage.handle, y.offset,
    h(weight), h(bias), h(runningMean), h(runningVar), h(saveMean), h(saveInvstd));
}
/** Fused batch norm backward: dx, dweight, dbias (each optional) from x, dy and the saved statistics. */
export function batchnormBackward(x: Tensor, dy: Tensor, n: number, c: number, l: number, eps: number, useBatch: boolean,
  weight: Tensor | null, saveMean: Tensor | null, saveInvstd: Tensor | null, runningMean: Tensor | null, runningVar: Tensor | null,
  dx: Tensor | null, dweight: Tensor | null, dbias: Tensor | null): void {
  native.batchnormBackward!(DTYPE_CODE[x.dtype], n, c, l, eps, useBatch, x.storage.handle, x.offset, dy.storage.handle, dy.offset,
    h(weight), h(saveMean), h(saveInvstd), h(runningMean), h(runningVar), h(dx), dx ? dx.offset : 0, h(dweight), h(dbias));
}

/**
 * Sums `g` down to `shape` (the reverse of broadcasting: leading dims and dims of size 1 in `shape`
 * are summed) and converts it to `dtype`. Returns `g` itself when nothing changes.
 */
export function sumTo(g: Tensor, shape: Shape, dtype: DType = g.dtype): Tensor {
  const lead = g.ndim - shape.length;
  let out = g;
  for (let i = g.ndim - 1; i >= 0; i--) {
    if (g.shape[i] === 1 || (i >= lead && shape[i - lead] !== 1)) continue;
    const next = reduceDim('sum', out, i);
    if (out !== g) out.dispose();
    out = next;
  }
  if (lead) {
    // Every leading dim now has size 1: drop them (a view, whatever the layout).
    const v = new Tensor(out.storage, shape.slice(), out.strides.slice(lead), out.offset, out.dtype);
    if (out !== g) out.dispose();
    out = v;
  }
  if (out.dtype !== dtype) {
    const c = copyAs(out, dtype);
    if (out !== g) out.dispose();
    out = c;
  }
  return out;
}

// ---- checks used by the engine ---------------------------------------------------------------------

/** True when a floating tensor holds a NaN (two kernels and a one-element read). */
export function hasNaN(t: Tensor): boolean {
  if (t.size === 0 || t.dtype === 'int32' || t.isDisposed) return false;
  const m = unary('isnan', t);
  const flat = m.view([m.size], [1], 0);
  const s = reduceDim('sum', flat, 0);
  const any = s.item() > 0;
  for (const x of [m, flat, s]) x.dispose();
  return any;
}
