/**
 * shape.ts — views and rearrangements: reshape, flatten, transpose, permute, squeeze, unsqueeze,
 * expand, narrow (views without copies where the strides allow), concat and stack (copies).
 */
import { attach, needsGrad } from '../autograd/engine.js';
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { Tensor, contiguousStrides, sizeOf, type DType, type Shape } from '../tensor.js';
import { contiguous, copyStrided, filled } from './copy.js';
import { assertTensor, checkShape, normalizeDim, sameDevice, promoteTypes, shapeStr } from './util.js';
import { cast } from './copy.js';
import { sumToShape } from './reduce.js';

/** Strides for viewing `t` as `shape` without a copy, or null when the layout does not allow it. */
function viewStrides(t: Tensor, shape: Shape): number[] | null {
  if (t.isContiguous()) return contiguousStrides(shape);
  // General case (as PyTorch's computeStride): match groups of old dims that are contiguous among
  // themselves to groups of new dims with the same element count.
  const oldShape = t.shape, oldStrides = t.strides;
  const newStrides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1] ?? 1;
  let tensorN = 1, viewN = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorN *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorN * chunkBase)) {
      while (viewD >= 0 && (viewN < tensorN || shape[viewD] === 1)) {
        newStrides[viewD] = viewN * chunkBase;
        viewN *= shape[viewD];
        viewD--;
      }
      if (viewN !== tensorN) return null;
      if (d > 0) { chunkBase = oldStrides[d - 1]; tensorN = 1; viewN = 1; }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/**
 * The same values in a new shape; one dim may be -1 (inferred). A view when the strides allow,
 * else a copy.
 * @example reshape(arange(0, 6), [2, 3])
 */
export function reshape(a: Tensor, shape: Shape): Tensor {
  const x = assertTensor(a, 'reshape');
  if (!Array.isArray(shape)) throw new ArgumentError(`reshape: expected shape to be an array, received ${describe(shape)}`);
  const s = shape.slice();
  const infer = s.indexOf(-1);
  if (infer !== -1) {
    if (s.indexOf(-1, infer + 1) !== -1) throw new ShapeError(`reshape: only one dimension can be -1, received ${shapeStr(shape)}`);
    const rest = sizeOf(s.filter((_, i) => i !== infer));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`reshape: cannot infer -1 in ${shapeStr(shape)} for a tensor of ${x.size} elements`);
    s[infer] = x.size / rest;
  }
  checkShape(s, 'reshape');
  if (sizeOf(s) !== x.size) throw new ShapeError(`reshape: cannot view a tensor of shape ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)} (${sizeOf(s)} elements)`);
  const strides = viewStrides(x, s);
  let out: Tensor;
  if (strides) out = x.view(s, strides, x.offset);
  else {
    const c = contiguous(x);
    out = c.view(s, contiguousStrides(s), c.offset);
    c.dispose();
  }
  if (needsGrad(x)) attach(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
  return out;
}

/** Flattens dims startDim…endDim into one (torch.flatten; startDim defaults to 0). */
export function flatten(a: Tensor, startDim = 0, endDim = -1): Tensor {
  const x = assertTensor(a, 'flatten');
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'flatten'), e = normalizeDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new ArgumentError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Swaps two dims (a view). @example transpose(x, 0, 1) */
export function transpose(a: Tensor, d0: number, d1: number): Tensor {
  const x = assertTensor(a, 'transpose');
  if (x.ndim === 0) {
    normalizeDim(d0, 0, 'transpose');
    normalizeDim(d1, 0, 'transpose');
    return permute(x, []);
  }
  const i = normalizeDim(d0, x.ndim, 'transpose'), j = normalizeDim(d1, x.ndim, 'transpose');
  const perm = x.shape.map((_, k) => k);
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Reorders dims (a view). @example permute(x, [2, 0, 1]) */
export function permute(a: Tensor, dims: number[]): Tensor {
  const x = assertTensor(a, 'permute');
  if (!Array.isArray(dims) || dims.length !== x.ndim)
    throw new ArgumentError(`permute: expected ${x.ndim} dims for a tensor of shape ${shapeStr(x.shape)}, received ${describe(dims)}`);
  const p = dims.map((d) => normalizeDim(d, x.ndim, 'permute'));
  if (new Set(p).size !== p.length) throw new ArgumentError(`permute: dims [${dims.join(', ')}] repeat a dimension`);
  const out = x.view(p.map((d) => x.shape[d]), p.map((d) => x.strides[d]), x.offset);
  if (needsGrad(x)) {
    const inv = new Array<number>(p.length);
    p.forEach((d, k) => (inv[d] = k));
    attach(out, 'permute', [x], (g) => [permute(g, inv)]);
  }
  return out;
}

/** Removes size-1 dims (or only `dim`, if it has size 1). */
export function squeeze(a: Tensor, dim?: number): Tensor {
  const x = assertTensor(a, 'squeeze');
  let shape: Shape;
  if (dim === undefined || dim === null) shape = x.shape.filter((d) => d !== 1);
  else {
    const d = normalizeDim(dim, x.ndim, 'squeeze');
    shape = x.ndim && x.shape[d] === 1 ? x.shape.filter((_, i) => i !== d) : x.shape.slice();
  }
  return reshape(x, shape);
}

/** Inserts a size-1 dim at `dim`. @example unsqueeze(tensor([1, 2]), 0) // shape [1, 2] */
export function unsqueeze(a: Tensor, dim: number): Tensor {
  const x = assertTensor(a, 'unsqueeze');
  const d = normalizeDim(dim, x.ndim, 'unsqueeze', 1);
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

/** Broadcasts to `shape` without copying (stride 0 along expanded dims); -1 keeps a size. */
export function expand(a: Tensor, shape: Shape): Tensor {
  const x = assertTensor(a, 'expand');
  if (!Array.isArray(shape) || shape.length < x.ndim) throw new ShapeError(`expand: cannot expand shape ${shapeStr(x.shape)} to ${describe(shape)}`);
  const lead = shape.length - x.ndim;
  const strides: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i];
    if (i < lead) {
      if (want < 0) throw new ShapeError(`expand: -1 is not allowed for the new leading dim ${i}`);
      out.push(want);
      strides.push(0);
      continue;
    }
    const have = x.shape[i - lead];
    const size = want === -1 ? have : want;
    if (have !== size && have !== 1) throw new ShapeError(`expand: cannot expand shape ${shapeStr(x.shape)} to ${shapeStr(shape)} (dimension ${i}: ${have} to ${size})`);
    out.push(size);
    strides.push(have === size ? x.strides[i - lead] : 0);
  }
  checkShape(out, 'expand');
  const res = x.view(out, strides, x.offset);
  if (needsGrad(x)) attach(res, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
  return res;
}

/** The slice [start, start + length) of `dim` (a view). @example narrow(x, 0, 1, 2) */
export function narrow(a: Tensor, dim: number, start: number, length: number): Tensor {
  const x = assertTensor(a, 'narrow');
  const d = normalizeDim(dim, x.ndim, 'narrow');
  if (!Number.isInteger(start) || !Number.isInteger(length)) throw new ArgumentError(`narrow: expected integer start and length, received ${describe(start)} and ${describe(length)}`);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (s < 0 || length < 0 || s + length > size)
    throw new ArgumentError(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${size}`);
  const shape = x.shape.slice();
  shape[d] = length;
  const out = x.view(shape, x.strides.slice(), x.offset + s * x.strides[d]);
  if (needsGrad(x)) {
    attach(out, 'narrow', [x], (g) => {
      const full = filled(x.shape.slice(), 0, g.dtype, g.device);
      const window = full.view(shape, full.strides.slice(), s * full.strides[d]);
      copyStrided(window, g);
      window.dispose();
      return [full];
    });
  }
  return out;
}

/**
 * Joins tensors along an existing dim. @example concat([a, b], 0)
 */
export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError(`concat: expected a non-empty array of tensors, received ${describe(tensors)}`);
  tensors.forEach((t, i) => assertTensor(t, 'concat', `tensors[${i}]`));
  sameDevice('concat', ...tensors);
  const first = tensors[0];
  const d = normalizeDim(dim, first.ndim, 'concat');
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k]))
      throw new ShapeError(`concat: tensors[${i}] has shape ${shapeStr(t.shape)}, expected ${shapeStr(first.shape.map((s, k) => (k === d ? -1 : s)))} (any size along dim ${d})`);
  });
  const dtype = tensors.reduce<DType>((acc, t) => promoteTypes(acc, t.dtype), first.dtype);
  const shape = first.shape.slice();
  shape[d] = tensors.reduce((n, t) => n + t.shape[d], 0);
  const out = Tensor.empty(shape, dtype, first.device);
  let at = 0;
  for (const t of tensors) {
    const len = t.shape[d];
    if (len && out.size) {
      const s = shape.slice();
      s[d] = len;
      const window = out.view(s, out.strides.slice(), at * out.strides[d]);
      copyStrided(window, t);
      window.dispose();
    }
    at += len;
  }
  if (needsGrad(...tensors)) {
    attach(out, 'concat', tensors, (g) => {
      let pos = 0;
      return tensors.map((t) => {
        const len = t.shape[d];
        const piece = narrow(g, d, pos, len);
        pos += len;
        return t.requiresGrad ? (t.dtype === g.dtype ? piece : cast(piece, t.dtype)) : null;
      });
    });
  }
  return out;
}

/** Joins tensors of one shape along a new dim. @example stack([a, b], 0) */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError(`stack: expected a non-empty array of tensors, received ${describe(tensors)}`);
  tensors.forEach((t, i) => {
    assertTensor(t, 'stack', `tensors[${i}]`);
    if (t.ndim !== tensors[0].ndim || t.shape.some((s, k) => s !== tensors[0].shape[k]))
      throw new ShapeError(`stack: every tensor must have shape ${shapeStr(tensors[0].shape)}, tensors[${i}] has ${shapeStr(t.shape)}`);
  });
  const d = normalizeDim(dim, tensors[0].ndim, 'stack', 1);
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}
