/**
 * index_ops.ts — indexSelect, gather, scatter-add and oneHot over int32 indices.
 * The native kernels work on contiguous [outer, n, inner]; indices are validated natively
 * (an out-of-range index is ERR_INDEX, before anything is written).
 */
import { attach, needsGrad } from '../autograd/engine.js';
import { ArgumentError, DTypeError, ShapeError, describe } from '../errors.js';
import { DTYPE_CODE, INDEX, native } from '../native.js';
import { Tensor, sizeOf } from '../tensor.js';
import { contiguous, filled, cast } from './copy.js';
import { tensor } from './creation.js';
import { assertTensor, normalizeDim, sameDevice, shapeStr } from './util.js';

function indexTensor(indices: Tensor | number[], device: Tensor['device'], where: string): Tensor {
  if (Array.isArray(indices)) {
    for (const i of indices) if (!Number.isInteger(i)) throw new ArgumentError(`${where}: expected integer indices, received ${describe(i)}`);
    return tensor(indices, { dtype: 'int32', device });
  }
  const t = assertTensor(indices, where, 'indices');
  if (t.dtype !== 'int32') {
    if (t.dtype === 'float32' || t.dtype === 'float64') return cast(t, 'int32');
    throw new DTypeError(`${where}: expected int32 indices, received ${t.dtype}`);
  }
  return contiguous(t);
}

/**
 * The forward of indexSelect ('select') and gather: reads `x` (made contiguous) as
 * [outer, n, inner] and picks by `idx` into a new tensor of `outShape`. If the kernel rejects an
 * index (ERR_INDEX), everything this call made — the output, a converted index tensor when
 * `ownsIdx`, a contiguous copy of x — is released before the error propagates.
 */
function gatherForward(kind: 'select' | 'gather', x: Tensor, outer: number, n: number, inner: number, idx: Tensor, ownsIdx: boolean, outShape: number[], nIdx: number): Tensor {
  const src = contiguous(x);
  const out = Tensor.empty(outShape, x.dtype, x.device);
  try {
    if (out.size) native.index(INDEX[kind], DTYPE_CODE[x.dtype], outer, n, inner, src.storage.handle, src.offset, idx.storage.handle, idx.offset, nIdx, out.storage.handle, 0);
  } catch (e) {
    out.dispose();
    if (ownsIdx) idx.dispose();
    throw e;
  } finally {
    if (src !== x) src.dispose();
  }
  return out;
}

/**
 * Picks entries of `dim` by index. @example indexSelect(x, 0, [2, 0])
 */
export function indexSelect(a: Tensor, dim: number, indices: Tensor | number[]): Tensor {
  const x = assertTensor(a, 'indexSelect');
  if (x.ndim === 0) throw new ShapeError('indexSelect: expected a tensor with at least one dimension, received a 0-d tensor');
  const d = normalizeDim(dim, x.ndim, 'indexSelect');
  if (indices instanceof Tensor) {
    sameDevice('indexSelect', x, indices);
    if (indices.ndim > 1) throw new ShapeError(`indexSelect: expected 1-D indices, received shape ${shapeStr(indices.shape)}`);
  }
  const idx = indexTensor(indices, x.device, 'indexSelect');
  const outer = sizeOf(x.shape.slice(0, d)), n = x.shape[d], inner = sizeOf(x.shape.slice(d + 1));
  const shape = x.shape.slice();
  shape[d] = idx.size;
  const out = gatherForward('select', x, outer, n, inner, idx, idx !== indices, shape, idx.size);
  if (needsGrad(x)) {
    attach(out, 'indexSelect', [x], (g) => {
      const gc = contiguous(g);
      const gx = filled(x.shape.slice(), 0, g.dtype, g.device);
      if (gc.size) native.index(INDEX.add, DTYPE_CODE[g.dtype], outer, n, inner, gc.storage.handle, gc.offset, idx.storage.handle, idx.offset, idx.size, gx.storage.handle, 0);
      if (gc !== g) gc.dispose();
      return [gx];
    }, [idx]);
  } else if (idx !== indices) idx.dispose();
  return out;
}

/**
 * out[…, j, …] = x[…, idx[…, j, …], …] along `dim` (torch.gather). `indices` has x's rank and
 * x's sizes except along `dim`.
 */
export function gather(a: Tensor, dim: number, indices: Tensor): Tensor {
  const x = assertTensor(a, 'gather');
  const d = normalizeDim(dim, x.ndim, 'gather');
  const t = assertTensor(indices, 'gather', 'indices');
  sameDevice('gather', x, t);
  if (t.ndim !== x.ndim || t.shape.some((s, k) => k !== d && s !== x.shape[k]))
    throw new ShapeError(`gather: expected indices of shape ${shapeStr(x.shape.map((s, k) => (k === d ? -1 : s)))} (any size along dim ${d}), received ${shapeStr(t.shape)}`);
  const idx = indexTensor(t, x.device, 'gather');
  const outer = sizeOf(x.shape.slice(0, d)), n = x.shape[d], inner = sizeOf(x.shape.slice(d + 1));
  const out = gatherForward('gather', x, outer, n, inner, idx, idx !== indices, idx.shape.slice(), idx.shape[d]);
  if (needsGrad(x)) {
    attach(out, 'gather', [x], (g) => [scatterAddInto(filled(x.shape.slice(), 0, g.dtype, g.device), d, idx, contiguous(g))], [idx]);
  } else if (idx !== indices) idx.dispose();
  return out;
}

/** @internal dst[…, idx[…], …] += src along `dim`, in place; returns dst. src must be contiguous. */
export function scatterAddInto(dst: Tensor, dim: number, idx: Tensor, src: Tensor): Tensor {
  const outer = sizeOf(dst.shape.slice(0, dim)), n = dst.shape[dim], inner = sizeOf(dst.shape.slice(dim + 1));
  const ic = contiguous(idx);
  if (src.size) native.index(INDEX.scatterAdd, DTYPE_CODE[dst.dtype], outer, n, inner, src.storage.handle, src.offset, ic.storage.handle, ic.offset, ic.shape[dim], dst.storage.handle, dst.offset);
  if (ic !== idx) ic.dispose();
  return dst;
}

/**
 * One-hot encoding of integer labels: shape [...labels.shape, numClasses], float32.
 * @example oneHot(tensor([0, 2], { dtype: 'int32' }), 3) // [[1, 0, 0], [0, 0, 1]]
 */
export function oneHot(labels: Tensor | number[], numClasses: number, options: { dtype?: 'float32' | 'float64' | 'int32' } = {}): Tensor {
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new ArgumentError(`oneHot: expected numClasses to be a positive integer, received ${describe(numClasses)}`);
  const device = labels instanceof Tensor ? labels.device : 'cpu';
  const idx = indexTensor(labels, device, 'oneHot');
  const flat = idx.size;
  const out = filled([...idx.shape, numClasses], 0, options.dtype ?? 'float32', device);
  const ones = filled([flat, 1], 1, out.dtype, device);
  if (flat) native.index(INDEX.scatterAdd, DTYPE_CODE[out.dtype], flat, numClasses, 1, ones.storage.handle, 0, idx.storage.handle, idx.offset, 1, out.storage.handle, 0);
  ones.dispose();
  if (idx !== labels) idx.dispose();
  return out;
}
