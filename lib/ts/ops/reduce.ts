/**
 * reduce.ts — reductions (sum, mean, variance, std, max, min, argmax, argmin) and softmax /
 * log-softmax along any dim, with their gradient rules.
 *
 * The native kernels reduce the middle axis of a contiguous [outer, n, inner] array; a reduction
 * over several dims runs one kernel per dim, last dim first.
 */
import { attach, needsGrad, withGrad } from '../autograd/engine.js';
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { DTYPE_CODE, REDUCE, native } from '../native.js';
import { Tensor, sizeOf, type DType, type Shape } from '../tensor.js';
import { clone, contiguous, filled } from './copy.js';
import { assertTensor, normalizeDim, requireFloat, shapeStr } from './util.js';
import { div, mul, sub, eq, rawBinary } from './elementwise.js';
import { expand, reshape } from './shape.js';

type ReduceName = keyof typeof REDUCE;

/** One native reduction over `dim` of `x` (contiguous copy made if needed); keeps the dim as size 1. */
function reduceDim(op: ReduceName, x: Tensor, dim: number, p0 = 0): Tensor {
  const src = contiguous(x);
  const outer = sizeOf(x.shape.slice(0, dim)), n = x.shape[dim], inner = sizeOf(x.shape.slice(dim + 1));
  const outShape = x.shape.slice();
  outShape[dim] = 1;
  const isArg = op === 'argmax' || op === 'argmin';
  const out = Tensor.empty(outShape, isArg ? 'int32' : x.dtype, x.device);
  if (outer * inner > 0) native.reduce(REDUCE[op], DTYPE_CODE[x.dtype], outer, n, inner, src.storage.handle, src.offset, out.storage.handle, 0, p0);
  if (src !== x) src.dispose();
  return out;
}

function dimsArg(dim: number | number[] | null | undefined, rank: number, where: string): number[] {
  if (dim === undefined || dim === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(dim) ? dim : [dim];
  const out = list.map((d) => normalizeDim(d, rank, where));
  // A 0-d tensor accepts dim 0 or -1 and has nothing to reduce (as PyTorch).
  if (rank === 0) return [];
  if (new Set(out).size !== out.length) throw new ArgumentError(`${where}: dim ${describe(dim)} repeats a dimension`);
  return out.sort((a, b) => a - b);
}

function finalShape(shape: Shape, dims: number[], keepDim: boolean): Shape {
  return keepDim ? shape.map((d, i) => (dims.includes(i) ? 1 : d)) : shape.filter((_, i) => !dims.includes(i));
}

/** Reduces over several dims (untracked); returns a tensor of the final shape. */
function rawReduce(op: 'sum' | 'mean' | 'prod', x: Tensor, dims: number[], keepDim: boolean): Tensor {
  let cur = x;
  for (let k = dims.length - 1; k >= 0; k--) {
    const next = reduceDim(op, cur, dims[k]);
    if (cur !== x) cur.dispose();
    cur = next;
  }
  if (cur === x) cur = withGrad(false, () => clone(x));
  const shape = finalShape(x.shape, dims, keepDim);
  const out = cur.view(shape, contiguousOf(shape), cur.offset);
  cur.dispose();
  return out;
}

function contiguousOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** Sums `g` down to `shape` (the reverse of broadcasting), converting to `dtype`. */
export function sumToShape(g: Tensor, shape: Shape, dtype: DType = g.dtype): Tensor {
  let out = g;
  const lead = g.shape.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead) dims.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) dims.push(i);
  }
  if (dims.length) {
    out = rawReduce('sum', g, dims, true);
    if (lead) {
      const r = out.view(shape.slice(), contiguousOf(shape), out.offset);
      out.dispose();
      out = r;
    }
  } else if (lead) {
    out = reshape(g, shape);
  }
  if (out.dtype !== dtype) out = out.cast(dtype);
  return out;
}

/** Expands a reduced gradient back over the reduced dims (a broadcast view, no copy). */
function expandBack(g: Tensor, x: Tensor, dims: number[], keepDim: boolean): Tensor {
  const kept = keepDim ? g : reshape(g, finalShape(x.shape, dims, true));
  return expand(kept, x.shape);
}

/**
 * Sum over `dim` (a dim, a list, or all when omitted).
 * @example sum(tensor([[1, 2], [3, 4]]), 1) // [3, 7]
 */
export function sum(a: Tensor, dim?: number | number[] | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  const x = assertTensor(a, 'sum');
  const dims = dimsArg(dim, x.ndim, 'sum');
  const keepDim = !!options.keepDim;
  const out = rawReduce('sum', x, dims, keepDim);
  if (needsGrad(x)) attach(out, 'sum', [x], (g) => [expandBack(g, x, dims, keepDim)]);
  return out;
}

/** Mean over `dim` (all when omitted). */
export function mean(a: Tensor, dim?: number | number[] | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  const x = assertTensor(a, 'mean');
  requireFloat(x, 'mean');
  const dims = dimsArg(dim, x.ndim, 'mean');
  const keepDim = !!options.keepDim;
  const count = dims.reduce((n, d) => n * x.shape[d], 1);
  const out = rawReduce('mean', x, dims, keepDim);
  if (needsGrad(x)) attach(out, 'mean', [x], (g) => [expandBack(div(g, count), x, dims, keepDim)]);
  return out;
}

/**
 * Variance over `dim` (all when omitted); unbiased (n − 1) by default, as torch.var.
 * @example variance(tensor([1, 2, 3, 4])) // 1.6667
 */
export function variance(a: Tensor, dim?: number | number[] | null, options: { unbiased?: boolean; keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  const x = assertTensor(a, 'variance');
  requireFloat(x, 'variance');
  const dims = dimsArg(dim, x.ndim, 'variance');
  const keepDim = !!options.keepDim;
  const correction = options.unbiased === false ? 0 : 1;
  const count = dims.reduce((n, d) => n * x.shape[d], 1);
  let out: Tensor;
  if (dims.length === 1) {
    const r = reduceDim('var', x, dims[0], correction);
    const shape = finalShape(x.shape, dims, keepDim);
    out = r.view(shape, contiguousOf(shape), 0);
    r.dispose();
  } else {
    // Several dims: two passes over the composed ops (mean, then mean squared deviation).
    const m = rawReduce('mean', x, dims, true);
    const d = rawBinary('sub', x, m);
    const sq = rawBinary('mul', d, d);
    const s = rawReduce('sum', sq, dims, keepDim);
    out = rawBinary('mul', s, 1 / (count - correction));
    for (const t of [m, d, sq, s]) t.dispose();
  }
  if (needsGrad(x)) {
    attach(out, 'variance', [x], (g) => {
      const m = mean(x, dims, { keepDim: true });
      const scale = 2 / (count - correction);
      return [mul(expandBack(g, x, dims, keepDim), mul(sub(x, m), scale))];
    }, [x]);
  }
  return out;
}

/** Standard deviation (unbiased by default). */
export function std(a: Tensor, dim?: number | number[] | null, options: { unbiased?: boolean; keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  const x = assertTensor(a, 'std');
  return variance(x, dim, options).sqrt();
}

/**
 * The native reduction `op` over one dim of `a`, or over all its elements when `dim` is omitted or
 * `a` is 0-d (then `d` is null and the result is 0-d, or all ones in shape with `keepDim`).
 */
function reduceExtreme(op: 'max' | 'min' | 'argmax' | 'argmin', a: Tensor, dim: number | null | undefined,
  keepDim: boolean): { x: Tensor; out: Tensor; d: number | null } {
  const x = assertTensor(a, op);
  if (x.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor (shape ${shapeStr(x.shape)})`);
  if (x.ndim === 0 && dim !== undefined && dim !== null) normalizeDim(dim, 0, op);
  let r: Tensor, shape: number[], d: number | null = null;
  if (dim === undefined || dim === null || x.ndim === 0) {
    const flat = reshape(x, [x.size]);
    r = reduceDim(op, flat, 0);
    if (flat !== x) flat.dispose();
    shape = keepDim ? x.shape.map(() => 1) : [];
  } else {
    d = normalizeDim(dim, x.ndim, op);
    r = reduceDim(op, x, d);
    shape = finalShape(x.shape, [d], keepDim);
  }
  const out = r.view(shape, contiguousOf(shape), 0);
  r.dispose();
  return { x, out, d };
}

function extremum(op: 'max' | 'min', a: Tensor, dim: number | null | undefined, keepDim: boolean): Tensor {
  // Over all elements the result is 0-d whatever keepDim says, as torch.max(x).
  const { x, out, d } = reduceExtreme(op, a, dim, dim === undefined || dim === null ? false : keepDim);
  if (!needsGrad(x)) return out;
  if (d === null) {
    // Ties share the gradient evenly, as torch.max() without a dim.
    attach(out, op, [x], (g) => {
      const mask = eq(x, out);
      const count = sum(mask);
      return [mul(div(mask, count), g)];
    }, [x, out]);
  } else {
    attach(out, op, [x], (g) => {
      // The gradient goes to the first extreme element of each slice (its argmax), as torch.max(dim).
      const idx = reduceDim(op === 'max' ? 'argmax' : 'argmin', x, d);
      const gk = keepDim ? g : reshape(g, finalShape(x.shape, [d], true));
      const zeros = filled(x.shape.slice(), 0, g.dtype, g.device);
      const res = scatterAddInto(zeros, d, idx, contiguous(gk));
      idx.dispose();
      return [res];
    }, [x]);
  }
  return out;
}

/** Max over `dim` (all elements when omitted). NaN propagates. */
export function max(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  return extremum('max', a, dim, !!options.keepDim);
}
/** Min over `dim` (all elements when omitted). NaN propagates. */
export function min(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  return extremum('min', a, dim, !!options.keepDim);
}

function argExtremum(op: 'argmax' | 'argmin', a: Tensor, dim: number | null | undefined, keepDim: boolean): Tensor {
  return reduceExtreme(op, a, dim, keepDim).out;
}

/** Index of the maximum along `dim` (int32; first occurrence; NaN counts as maximal). */
export function argmax(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  return argExtremum('argmax', a, dim, !!options.keepDim);
}
/** Index of the minimum along `dim` (int32; first occurrence). */
export function argmin(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  options ??= {};
  return argExtremum('argmin', a, dim, !!options.keepDim);
}

function softmaxImpl(a: Tensor, dim: number, log: boolean): Tensor {
  const where = log ? 'logSoftmax' : 'softmax';
  const x = assertTensor(a, where);
  requireFloat(x, where);
  if (dim === undefined) throw new ArgumentError(`${where}: expected a dim (for example -1), received undefined`);
  const d = normalizeDim(dim, x.ndim, where);
  const src = contiguous(x);
  const outer = sizeOf(x.shape.slice(0, d)), n = x.ndim ? x.shape[d] : 1, inner = sizeOf(x.shape.slice(d + 1));
  const out = Tensor.empty(x.shape.slice(), x.dtype, x.device);
  if (out.size) native.softmax(DTYPE_CODE[x.dtype], log, outer, n, inner, src.storage.handle, src.offset, out.storage.handle, 0);
  if (src !== x) src.dispose();
  if (needsGrad(x)) {
    attach(out, where, [x], (g) => {
      const gc = contiguous(g);
      const dx = Tensor.empty(x.shape.slice(), x.dtype, x.device);
      if (dx.size) native.softmaxBackward(DTYPE_CODE[x.dtype], log, outer, n, inner, out.storage.handle, out.offset, gc.storage.handle, gc.offset, dx.storage.handle, 0);
      if (gc !== g) gc.dispose();
      return [dx];
    }, [out]);
  }
  return out;
}

/** Softmax along `dim`, computed stably (max subtracted). @example softmax(logits, -1) */
export function softmax(a: Tensor, dim: number): Tensor {
  return softmaxImpl(a, dim, false);
}
/** Log-softmax along `dim` (x − max − log Σ exp). @example logSoftmax(logits, 1) */
export function logSoftmax(a: Tensor, dim: number): Tensor {
  return softmaxImpl(a, dim, true);
}

// Imported late to keep the module graph acyclic at evaluation time.
import { scatterAddInto } from './index_ops.js';
