/**
 * reduce.ts — reductions (sum, mean, variance, std, prod, max, min, argmax, argmin) and softmax /
 * log-softmax along any dim, with their gradient rules.
 *
 * The native kernels reduce the middle axis of a contiguous [outer, n, inner] array; a reduction
 * over several dims runs one kernel per dim, last dim first.
 */
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import { contiguousStrides, type Shape } from '../core/dtype.js';
import { binary, contiguousRaw, copyAs, filled, indexKernel, reduceDim, softmaxBackward, softmaxForward, splitAt, type ReduceName } from '../core/kernels.js';
import { defineOp, composite, runOp1, type Op, type OpContext, type OpDef } from './door.js';
import { div, eq, exp, mul, sqrt, sub, where } from './elementwise.js';
import { isGradEnabled } from '../autograd/graph.js';
import { expand, permute, reshape, unsqueeze } from './shape.js';
import { arange } from './creation.js';
import { scatterAddInto } from './index_ops.js';
import { normalizeDim } from './util.js';

const INPUT: OpDef['args'] = [{ name: 'input' }];

function dimsArg(dim: number | number[] | null | undefined, rank: number, where: string): number[] {
  if (dim === undefined || dim === null) {
    const all = new Array<number>(rank);
    for (let i = 0; i < rank; i++) all[i] = i;
    return all;
  }
  // A 0-d tensor accepts dim 0 or -1 and has nothing to reduce (as PyTorch).
  if (typeof dim === 'number') {
    const d = normalizeDim(dim, rank, where);
    return rank === 0 ? [] : [d];
  }
  const out = (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(d, rank, where));
  if (rank === 0) return [];
  if (new Set(out).size !== out.length) throw new ArgumentError(`${where}: dim ${describe(dim)} repeats a dimension`);
  return out.sort((a, b) => a - b);
}

function finalShape(shape: Shape, dims: number[], keepDim: boolean): Shape {
  return keepDim ? shape.map((d, i) => (dims.includes(i) ? 1 : d)) : shape.filter((_, i) => !dims.includes(i));
}

/** A fresh tensor `r` (the kernels' keep-dim result) seen as `shape`. */
function asShape(r: Tensor, shape: Shape): Tensor {
  const out = r.view(shape, contiguousStrides(shape), r.offset);
  r.dispose();
  return out;
}

/** Reduces over several dims with one native kernel each; returns a new tensor of the final shape. */
function reduceDims(op: 'sum' | 'mean' | 'prod', x: Tensor, dims: number[], keepDim: boolean): Tensor {
  const shape = finalShape(x.shape, dims, keepDim);
  if (dims.length === 0) return asShape(copyAs(x), shape);
  let cur = x;
  for (let k = dims.length - 1; k >= 0; k--) {
    // The last kernel writes the final shape directly (same elements, same order).
    const next = reduceDim(op, cur, dims[k], 0, k === 0 ? shape : undefined);
    if (cur !== x) cur.dispose();
    cur = next;
  }
  return cur;
}

/** Expands a reduced gradient back over the reduced dims (a broadcast view, no copy). */
function expandBack(g: Tensor, x: Tensor, dims: number[], keepDim: boolean): Tensor {
  return expand(keepDim ? g : reshape(g, finalShape(x.shape, dims, true)), x.shape);
}

interface DimsParams { dims: number[]; keepDim: boolean; count: number; correction: number }
function dimsParams(x: unknown, dim: number | number[] | null | undefined, options: { keepDim?: boolean; unbiased?: boolean } | null | undefined, where: string): DimsParams {
  // The door checks x again with the op's name; here only what the dims need.
  const rank = x instanceof Tensor ? x.ndim : 0;
  const dims = x instanceof Tensor ? dimsArg(dim, rank, where) : [];
  const count = x instanceof Tensor ? dims.reduce((n, d) => n * x.shape[d], 1) : 1;
  return { dims, keepDim: !!options?.keepDim, count, correction: options?.unbiased === false ? 0 : 1 };
}

const SUM = defineOp<DimsParams>({
  name: 'sum', args: INPUT, autocast: 'float32',
  forward: (c) => reduceDims('sum', c.args[0] as Tensor, c.params.dims, c.params.keepDim),
  backward: (g, c) => [expandBack(g, c.inputs[0] as Tensor, c.params.dims, c.params.keepDim)],
});
const MEAN = defineOp<DimsParams>({
  name: 'mean', args: INPUT, dtype: 'floatOnly', autocast: 'float32',
  forward: (c) => reduceDims('mean', c.args[0] as Tensor, c.params.dims, c.params.keepDim),
  backward: (g, c) => [expandBack(div(g, c.params.count), c.inputs[0] as Tensor, c.params.dims, c.params.keepDim)],
});
const VARIANCE = defineOp<DimsParams>({
  name: 'variance', args: INPUT, dtype: 'floatOnly', autocast: 'float32',
  forward: (c) => {
    const x = c.args[0] as Tensor, { dims, keepDim, count, correction } = c.params;
    if (dims.length === 1) return asShape(reduceDim('var', x, dims[0], correction), finalShape(x.shape, dims, keepDim));
    // Several dims: two passes (mean, then mean squared deviation).
    const m = reduceDims('mean', x, dims, true);
    const d = binary('sub', x, m);
    const s = reduceDims('sum', binary('mul', d, d), dims, keepDim);
    return binary('mul', s, 1 / (count - correction));
  },
  backward: (g, c) => {
    const x = c.inputs[0] as Tensor, { dims, keepDim, count, correction } = c.params;
    const m = mean(x, dims, { keepDim: true });
    return [mul(expandBack(g, x, dims, keepDim), mul(sub(x, m), 2 / (count - correction)))];
  },
});
// ∂/∂xᵢ Π x = Π_{j≠i} xⱼ, computed without dividing by a zero: with no zero in the slice it is
// prod / xᵢ; with one zero, the zero's position gets the product of the others and every other
// position 0; with two or more zeros, 0 everywhere. That form is not differentiable across the
// zeros' masks, so a recorded backward (createGraph) takes the products of the others directly:
// each slice of n values is expanded to n × n with ones on the diagonal and multiplied along a row
// (O(n²) per slice, only for second derivatives).
const PROD = defineOp<DimsParams>({
  name: 'prod', args: INPUT, autocast: 'float32',
  forward: (c) => reduceDims('prod', c.args[0] as Tensor, c.params.dims, c.params.keepDim),
  backward: (g, c) => {
    const x = c.inputs[0] as Tensor, { dims, keepDim } = c.params;
    const local = isGradEnabled() ? productsOfOthers(x, dims) : (() => {
      const zero = eq(x, 0);
      const zeros = sum(zero, dims, { keepDim: true });
      const nonzero = where(zero, 1, x);
      const others = prod(nonzero, dims, { keepDim: true });
      return where(eq(zeros, 0), div(others, nonzero), where(eq(zeros, 1), mul(zero, others), 0));
    })();
    return [mul(expandBack(g, x, dims, keepDim), local)];
  },
});

/** For each element, the product of the other elements of its slice over `dims`, in recorded ops. */
function productsOfOthers(x: Tensor, dims: number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const perm = [...kept, ...dims];
  const n = dims.reduce((a, d) => a * x.shape[d], 1), m = x.size / Math.max(n, 1);
  const rows = reshape(permute(x, perm), [m, 1, n]);
  const eye = reshape(eq(unsqueeze(arange(0, n), 1), unsqueeze(arange(0, n), 0)), [1, n, n]);
  const others = prod(where(eye, 1, expand(rows, [m, n, n])), 2);
  const inv = new Array<number>(perm.length);
  perm.forEach((d, k) => (inv[d] = k));
  return permute(reshape(others, perm.map((d) => x.shape[d])), inv);
}

/** Sum over `dim` (a dim, a list, or all when omitted). @example sum(tensor([[1, 2], [3, 4]]), 1) // [3, 7] */
export function sum(a: Tensor, dim?: number | number[] | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(SUM, a, dimsParams(a, dim, options, 'sum'));
}
/** Mean over `dim` (all when omitted). @example mean(tensor([1, 2, 3])) // 2 */
export function mean(a: Tensor, dim?: number | number[] | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(MEAN, a, dimsParams(a, dim, options, 'mean'));
}
/**
 * Variance over `dim` (all when omitted); unbiased (n − 1) by default, as torch.var.
 * @example variance(tensor([1, 2, 3, 4])) // 1.6667
 */
export function variance(a: Tensor, dim?: number | number[] | null, options: { unbiased?: boolean; keepDim?: boolean } | null = {}): Tensor {
  return runOp1(VARIANCE, a, dimsParams(a, dim, options, 'variance'));
}
/** Standard deviation (unbiased by default). @example std(tensor([1, 2, 3, 4])) // 1.291 */
export function std(a: Tensor, dim?: number | number[] | null, options: { unbiased?: boolean; keepDim?: boolean } | null = {}): Tensor {
  return composite(() => sqrt(variance(a, dim, options)));
}
/** Product over `dim` (all when omitted), as torch.prod. @example prod(tensor([[1, 2], [3, 4]]), 1) // [2, 12] */
export function prod(a: Tensor, dim?: number | number[] | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(PROD, a, dimsParams(a, dim, options, 'prod'));
}

// ---- max, min, argmax, argmin ----------------------------------------------------------------------

/** d: the reduced dim, or null over all elements (then the result is 0-d, or all ones with keepDim). */
interface ExtremeParams { op: 'max' | 'min' | 'argmax' | 'argmin'; d: number | null; keepDim: boolean }

function extremeForward(c: OpContext<ExtremeParams>): Tensor {
  const x = c.args[0] as Tensor, { op, d, keepDim } = c.params;
  if (x.size === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor (shape ${shapeStr(x.shape)})`);
  if (d === null) {
    const flat = x.isContiguous() ? x.view([x.size], [1], x.offset) : copyAs(x).view([x.size], [1], 0);
    const r = reduceDim(op, flat, 0);
    flat.dispose();
    return asShape(r, keepDim ? x.shape.map(() => 1) : []);
  }
  return asShape(reduceDim(op, x, d), finalShape(x.shape, [d], keepDim));
}

function extremeDef(op: 'max' | 'min'): Op<ExtremeParams> {
  return defineOp<ExtremeParams>({
    name: op, args: INPUT, savesOutput: true, forward: extremeForward,
    backward: (g, c) => {
      const x = c.inputs[0] as Tensor, { d, keepDim } = c.params;
      if (d === null) {
        // Ties share the gradient evenly, as torch.max() without a dim.
        const mask = eq(x, c.out);
        return [mul(div(mask, sum(mask)), g)];
      }
      // The gradient goes to the first extreme element of each slice (its argmax), as torch.max(dim).
      const idx = reduceDim(op === 'max' ? 'argmax' : 'argmin', x, d);
      return [scatterAddInto(x.shape, d, keepDim ? g : reshape(g, finalShape(x.shape, [d], true)), idx)];
    },
  });
}
const MAX = extremeDef('max'), MIN = extremeDef('min');
const ARGMAX = defineOp<ExtremeParams>({ name: 'argmax', args: INPUT, dtype: 'none', forward: extremeForward });
const ARGMIN = defineOp<ExtremeParams>({ name: 'argmin', args: INPUT, dtype: 'none', forward: extremeForward });

function extremeParams(op: ExtremeParams['op'], a: unknown, dim: number | null | undefined, keepDim: boolean): ExtremeParams {
  const rank = a instanceof Tensor ? a.ndim : 0;
  if (dim === undefined || dim === null) return { op, d: null, keepDim: op === 'max' || op === 'min' ? false : keepDim };
  const d = normalizeDim(dim, rank, op);
  // A 0-d tensor reduces over its one element (as PyTorch).
  return rank === 0 ? { op, d: null, keepDim } : { op, d, keepDim };
}

/** Max over `dim` (all elements when omitted). NaN propagates. @example max(tensor([[1, 5], [7, 2]]), 1) // [5, 7] */
export function max(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(MAX, a, extremeParams('max', a, dim, !!options?.keepDim));
}
/** Min over `dim` (all elements when omitted). NaN propagates. */
export function min(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(MIN, a, extremeParams('min', a, dim, !!options?.keepDim));
}
/** Index of the maximum along `dim` (int32; first occurrence; NaN counts as maximal). @example argmax(logits, 1) */
export function argmax(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(ARGMAX, a, extremeParams('argmax', a, dim, !!options?.keepDim));
}
/** Index of the minimum along `dim` (int32; first occurrence). */
export function argmin(a: Tensor, dim?: number | null, options: { keepDim?: boolean } | null = {}): Tensor {
  return runOp1(ARGMIN, a, extremeParams('argmin', a, dim, !!options?.keepDim));
}

// ---- softmax ---------------------------------------------------------------------------------------

interface SoftmaxParams { d: number; log: boolean }
function softmaxDef(log: boolean): Op<SoftmaxParams> {
  return defineOp<SoftmaxParams>({
    name: log ? 'logSoftmax' : 'softmax', args: INPUT, dtype: 'floatOnly', savesOutput: true, autocast: 'float32',
    forward: (c) => softmaxForward(c.args[0] as Tensor, c.params.d, log),
    // One native kernel; when the backward is itself recorded (createGraph), the same formula in
    // differentiable ops: softmax dx = y ⊙ (g − Σ g ⊙ y), log-softmax dx = g − eʸ Σ g.
    backward: (g, c) => {
      if (!isGradEnabled()) return [softmaxBackward(c.out, g, c.params.d, log)];
      const y = c.out, d = c.params.d;
      return [log ? sub(g, mul(exp(y), sum(g, d, { keepDim: true }))) : mul(y, sub(g, sum(mul(g, y), d, { keepDim: true })))];
    },
  });
}
const SOFTMAX = softmaxDef(false), LOG_SOFTMAX = softmaxDef(true);

function softmaxParams(a: unknown, dim: number, where: string): SoftmaxParams {
  if (dim === undefined) throw new ArgumentError(`${where}: expected a dim (for example -1), received undefined`);
  return { d: normalizeDim(dim, a instanceof Tensor ? a.ndim : 0, where), log: where === 'logSoftmax' };
}

/** Softmax along `dim`, computed stably (max subtracted). @example softmax(logits, -1) */
export function softmax(a: Tensor, dim: number): Tensor {
  return runOp1(SOFTMAX, a, softmaxParams(a, dim, 'softmax'));
}
/** Log-softmax along `dim` (x − max − log Σ exp). @example logSoftmax(logits, 1) */
export function logSoftmax(a: Tensor, dim: number): Tensor {
  return runOp1(LOG_SOFTMAX, a, softmaxParams(a, dim, 'logSoftmax'));
}

/** @internal Sums `g` down to `shape` (the reverse of broadcasting), converting to `dtype`. */
export { sumTo as sumToShape } from '../core/kernels.js';
export type { ReduceName };
