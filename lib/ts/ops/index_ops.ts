/**
 * index_ops.ts — indexSelect, gather and oneHot over int32 indices.
 * The native kernels work on contiguous [outer, n, inner]; indices are validated natively
 * (an out-of-range index is ERR_INDEX, before anything is written).
 */
import { ArgumentError, DTypeError, ShapeError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import type { DeviceName, DType } from '../core/dtype.js';
import { contiguousRaw, copyAs, filled, fromHost, indexKernel, splitAt } from '../core/kernels.js';
import { defineOp, runOp, type OpDef } from './door.js';
import { assertTensor, normalizeDim } from './util.js';

/** Indices as a contiguous int32 tensor on `device` (converted from floats; a new tensor unless already so). */
function indexTensor(indices: Tensor | number[], device: DeviceName, where: string): Tensor {
  if (Array.isArray(indices)) {
    for (const i of indices) if (!Number.isInteger(i)) throw new ArgumentError(`${where}: expected integer indices, received ${describe(i)}`);
    return fromHost(indices, [indices.length], 'int32', device);
  }
  const t = assertTensor(indices, where, 'indices');
  if (t.dtype === 'int32') return contiguousRaw(t);
  if (t.dtype === 'float32' || t.dtype === 'float64') return copyAs(t, 'int32');
  throw new DTypeError(`${where}: expected int32 indices, received ${t.dtype}`);
}

// The adjoints of the two picks, as ops so that they can be differentiated again: index-add of g
// into zeros of x's shape (its gradient: indexSelect of the incoming gradient), and scatter-add
// (its gradient: gather). Indices are contiguous int32 with in-range values (checked when picked).
interface IntoParams { shape: number[]; d: number }
function adjointDef(name: string, kind: 'add' | 'scatterAdd', pick: (gg: Tensor, d: number, idx: Tensor) => Tensor) {
  return defineOp<IntoParams>({
    name, args: [{ name: 'source' }, { name: 'indices', noGrad: true }], dtype: 'none',
    forward: (c) => {
      const g = c.args[0] as Tensor, idx = c.args[1] as Tensor, { shape, d } = c.params;
      const [outer, n, inner] = splitAt(shape, d);
      const out = filled(shape.slice(), 0, g.dtype, g.device);
      if (g.size) indexKernel(kind, outer, n, inner, contiguousRaw(g), idx, kind === 'add' ? idx.size : idx.shape[d], out);
      return out;
    },
    backward: (gg, c) => [pick(gg, c.params.d, c.inputs[1] as Tensor)],
  });
}
const INDEX_ADD = adjointDef('indexAdd', 'add', (gg, d, idx) => indexSelect(gg, d, idx));
const SCATTER_ADD = adjointDef('scatterAdd', 'scatterAdd', (gg, d, idx) => gather(gg, d, idx));

/**
 * @internal A tensor of `shape`, zero but for `src` added along `d` at `idx` (src and idx of one
 * shape, equal to `shape` except along d): the adjoint of gather, recorded.
 */
export function scatterAddInto(shape: number[], d: number, src: Tensor, idx: Tensor): Tensor {
  return runOp(SCATTER_ADD, [src, idx], { shape, d });
}

const SOURCE_AND_INDICES: OpDef['args'] = [{ name: 'input' }, { name: 'indices', noGrad: true }];

// Reads x as [outer, n, inner] and picks along n by `idx`; the backward adds g back at the same
// places. Indices given as a plain array are made a tensor inside the op (freed with it or its graph).
interface SelectParams { d: number; list: number[] | null }
const INDEX_SELECT = defineOp<SelectParams>({
  name: 'indexSelect', args: [{ name: 'input' }, { name: 'indices', noGrad: true, optional: true }], dtype: 'none',
  forward: (c) => {
    const x = c.args[0] as Tensor, { d, list } = c.params;
    const idx = indexTensor(list ?? (c.args[1] as Tensor), x.device, 'indexSelect');
    if (c.recording) c.save(idx);
    const [outer, n, inner] = splitAt(x.shape, d);
    const shape = x.shape.slice();
    shape[d] = idx.size;
    const out = Tensor.empty(shape, x.dtype, x.device);
    if (out.size) indexKernel('select', outer, n, inner, contiguousRaw(x), idx, idx.size, out);
    return out;
  },
  backward: (g, c) => [runOp(INDEX_ADD, [g, c.saved[0]], { shape: (c.inputs[0] as Tensor).shape, d: c.params.d })],
});

/** Picks entries of `dim` by index. @example indexSelect(x, 0, [2, 0]) */
export function indexSelect(a: Tensor, dim: number, indices: Tensor | number[]): Tensor {
  const x = assertTensor(a, 'indexSelect');
  if (x.ndim === 0) throw new ShapeError('indexSelect: expected a tensor with at least one dimension, received a 0-d tensor');
  const d = normalizeDim(dim, x.ndim, 'indexSelect');
  if (indices instanceof Tensor && indices.ndim > 1) throw new ShapeError(`indexSelect: expected 1-D indices, received shape ${shapeStr(indices.shape)}`);
  const list = Array.isArray(indices) ? indices : null;
  return runOp(INDEX_SELECT, [x, list ? null : assertTensor(indices, 'indexSelect', 'indices')], { d, list });
}

const GATHER = defineOp<number>({
  name: 'gather', args: SOURCE_AND_INDICES, dtype: 'none',
  forward: (c) => {
    const x = c.args[0] as Tensor, t = c.args[1] as Tensor, d = c.params;
    if (t.ndim !== x.ndim || t.shape.some((s, k) => k !== d && s !== x.shape[k]))
      throw new ShapeError(`gather: expected indices of shape ${shapeStr(x.shape.map((s, k) => (k === d ? -1 : s)))} (any size along dim ${d}), received ${shapeStr(t.shape)}`);
    const idx = indexTensor(t, x.device, 'gather');
    if (c.recording) c.save(idx);
    const [outer, n, inner] = splitAt(x.shape, d);
    const out = Tensor.empty(idx.shape.slice(), x.dtype, x.device);
    if (out.size) indexKernel('gather', outer, n, inner, contiguousRaw(x), idx, idx.shape[d], out);
    return out;
  },
  backward: (g, c) => [scatterAddInto((c.inputs[0] as Tensor).shape, c.params, g, c.saved[0])],
});

/**
 * out[…, j, …] = x[…, idx[…, j, …], …] along `dim` (torch.gather). `indices` has x's rank and
 * x's sizes except along `dim`.
 * @example gather(logProbs, 1, labels.unsqueeze(1))
 */
export function gather(a: Tensor, dim: number, indices: Tensor): Tensor {
  const x = assertTensor(a, 'gather');
  return runOp(GATHER, [x, indices], normalizeDim(dim, x.ndim, 'gather'));
}

/**
 * One-hot encoding of integer labels: shape [...labels.shape, numClasses], float32.
 * @example oneHot(tensor([0, 2], { dtype: 'int32' }), 3) // [[1, 0, 0], [0, 0, 1]]
 */
export function oneHot(labels: Tensor | number[], numClasses: number, options: { dtype?: DType } = {}): Tensor {
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new ArgumentError(`oneHot: expected numClasses to be a positive integer, received ${describe(numClasses)}`);
  const device = labels instanceof Tensor ? labels.device : 'cpu';
  const idx = indexTensor(labels, device, 'oneHot');
  const out = filled([...idx.shape, numClasses], 0, options.dtype ?? 'float32', device);
  const ones = filled([idx.size, 1], 1, out.dtype, device);
  try {
    if (idx.size) indexKernel('scatterAdd', idx.size, numClasses, 1, ones, idx, 1, out);
  } catch (e) {
    out.dispose();
    throw e;
  } finally {
    ones.dispose();
    if (idx !== labels) idx.dispose();
  }
  return out;
}
