/**
 * shape.ts — views and rearrangements: reshape, flatten, transpose, permute, squeeze, unsqueeze,
 * expand, narrow (views without copies where the strides allow), concat and stack (copies).
 */
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import { contiguousStrides, sizeOf, type Shape } from '../core/dtype.js';
import { copyAs, copyStrided, filled } from '../core/kernels.js';
import { defineOp, composite, runOp, runOp1, type OpDef } from './door.js';
import { assertTensor, checkShape, normalizeDim, shapeSize } from './util.js';

const INPUT: OpDef['args'] = [{ name: 'input' }];

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

const RESHAPE = defineOp<Shape>({
  name: 'reshape', args: INPUT, dtype: 'none', half: true,
  direct: (x, shape) => {
    const s = shape.slice();
    const infer = s.indexOf(-1);
    if (infer !== -1) {
      if (s.indexOf(-1, infer + 1) !== -1) throw new ShapeError(`reshape: only one dimension can be -1, received ${shapeStr(shape)}`);
      const rest = sizeOf(s.filter((_, i) => i !== infer));
      if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`reshape: cannot infer -1 in ${shapeStr(shape)} for a tensor of ${x.size} elements`);
      s[infer] = x.size / rest;
    }
    const size = shapeSize(s, 'reshape');
    if (size !== x.size) throw new ShapeError(`reshape: cannot view a tensor of shape ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)} (${size} elements)`);
    const strides = viewStrides(x, s);
    if (strides) return x.view(s, strides, x.offset);
    // Not viewable: a view of a contiguous copy, which is freed here (a view op has no scope).
    const copy = copyAs(x);
    const out = copy.view(s, contiguousStrides(s), 0);
    copy.dispose();
    return out;
  },
  backward: (g, c) => [reshape(g, (c.inputs[0] as Tensor).shape)],
});

/**
 * The same values in a new shape; one dim may be -1 (inferred). A view when the strides allow,
 * else a copy.
 * @example reshape(arange(0, 6), [2, 3])
 */
export function reshape(a: Tensor, shape: Shape): Tensor {
  if (!Array.isArray(shape)) throw new ArgumentError(`reshape: expected shape to be an array, received ${describe(shape)}`);
  return runOp1(RESHAPE, a, shape);
}

/** Flattens dims startDim…endDim into one (torch.flatten; startDim defaults to 0). @example flatten(images, 1) */
export function flatten(a: Tensor, startDim = 0, endDim = -1): Tensor {
  const x = assertTensor(a, 'flatten');
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'flatten'), e = normalizeDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new ArgumentError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
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

const PERMUTE = defineOp<number[]>({
  name: 'permute', args: INPUT, dtype: 'none', half: true,
  direct: (x, dims) => {
    if (dims.length !== x.ndim) throw new ArgumentError(`permute: expected ${x.ndim} dims for a tensor of shape ${shapeStr(x.shape)}, received ${describe(dims)}`);
    const p = dims.map((d) => normalizeDim(d, x.ndim, 'permute'));
    if (new Set(p).size !== p.length) throw new ArgumentError(`permute: dims [${dims.join(', ')}] repeat a dimension`);
    return x.view(p.map((d) => x.shape[d]), p.map((d) => x.strides[d]), x.offset);
  },
  backward: (g, c) => {
    const x = c.inputs[0] as Tensor;
    const inv = new Array<number>(x.ndim);
    c.params.forEach((d, k) => (inv[d < 0 ? d + x.ndim : d] = k));
    return [permute(g, inv)];
  },
});

/** Reorders dims (a view). @example permute(x, [2, 0, 1]) */
export function permute(a: Tensor, dims: number[]): Tensor {
  if (!Array.isArray(dims)) throw new ArgumentError(`permute: expected dims to be an array, received ${describe(dims)}`);
  return runOp1(PERMUTE, a, dims);
}

/** Removes size-1 dims (or only `dim`, if it has size 1). @example squeeze(zeros([2, 1])) // shape [2] */
export function squeeze(a: Tensor, dim?: number): Tensor {
  const x = assertTensor(a, 'squeeze');
  if (dim === undefined || dim === null) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normalizeDim(dim, x.ndim, 'squeeze');
  return reshape(x, x.ndim && x.shape[d] === 1 ? x.shape.filter((_, i) => i !== d) : x.shape.slice());
}

/** Inserts a size-1 dim at `dim`. @example unsqueeze(tensor([1, 2]), 0) // shape [1, 2] */
export function unsqueeze(a: Tensor, dim: number): Tensor {
  const x = assertTensor(a, 'unsqueeze');
  const d = normalizeDim(dim, x.ndim, 'unsqueeze', 1);
  const shape = x.shape.slice();
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

// The door reduces the gradient back over the expanded dims (broadcast: true).
const EXPAND = defineOp<Shape>({
  name: 'expand', args: INPUT, dtype: 'none', half: true, broadcast: true,
  direct: (x, shape) => {
    if (shape.length < x.ndim) throw new ShapeError(`expand: cannot expand shape ${shapeStr(x.shape)} to ${describe(shape)}`);
    const lead = shape.length - x.ndim;
    const strides: number[] = [], out: number[] = [];
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
    return x.view(out, strides, x.offset);
  },
  backward: (g) => [g],
});

/** Broadcasts to `shape` without copying (stride 0 along expanded dims); -1 keeps a size. @example expand(bias, [32, 10]) */
export function expand(a: Tensor, shape: Shape): Tensor {
  if (!Array.isArray(shape)) throw new ShapeError(`expand: expected shape to be an array, received ${describe(shape)}`);
  return runOp1(EXPAND, a, shape);
}

// The adjoint of narrow: g placed at [start, start + len) of dim d in zeros of x's shape; its own
// gradient is the narrow of the incoming gradient.
interface PadParams { shape: number[]; d: number; start: number }
const PAD_INTO = defineOp<PadParams>({
  name: 'narrowBackward', args: INPUT, dtype: 'none', half: true,
  forward: (c) => {
    const g = c.args[0] as Tensor, { shape, d, start } = c.params;
    const full = filled(shape.slice(), 0, g.dtype, g.device);
    const window = full.view(g.shape.slice(), full.strides.slice(), start * full.strides[d]);
    copyStrided(window, g);
    window.dispose();
    return full;
  },
  backward: (gg, c) => [narrow(gg, c.params.d, c.params.start, (c.inputs[0] as Tensor).shape[c.params.d])],
});

interface NarrowParams { dim: number; start: number; length: number }
const NARROW = defineOp<NarrowParams>({
  name: 'narrow', args: INPUT, dtype: 'none', half: true,
  direct: (x, { dim, start, length }) => {
    const d = normalizeDim(dim, x.ndim, 'narrow');
    if (!Number.isInteger(start) || !Number.isInteger(length)) throw new ArgumentError(`narrow: expected integer start and length, received ${describe(start)} and ${describe(length)}`);
    const size = x.shape[d];
    const s = start < 0 ? start + size : start;
    if (s < 0 || length < 0 || s + length > size)
      throw new ArgumentError(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${size}`);
    const shape = x.shape.slice();
    shape[d] = length;
    return x.view(shape, x.strides.slice(), x.offset + s * x.strides[d]);
  },
  backward: (g, c) => {
    const x = c.inputs[0] as Tensor;
    const d = normalizeDim(c.params.dim, x.ndim, 'narrow');
    return [runOp1(PAD_INTO, g, { shape: x.shape, d, start: c.params.start < 0 ? c.params.start + x.shape[d] : c.params.start })];
  },
});

/** The slice [start, start + length) of `dim` (a view). @example narrow(x, 0, 1, 2) */
export function narrow(a: Tensor, dim: number, start: number, length: number): Tensor {
  return runOp1(NARROW, a, { dim, start, length });
}

const CONCAT = defineOp<number>({
  name: 'concat', args: [{ name: 'tensors' }], variadic: true, half: true,
  forward: (c) => {
    const ts = c.args as Tensor[], first = ts[0];
    const d = normalizeDim(c.params, first.ndim, 'concat');
    ts.forEach((t, i) => {
      if (t.ndim !== first.ndim || t.shape.some((s, k) => k !== d && s !== first.shape[k]))
        throw new ShapeError(`concat: tensors[${i}] has shape ${shapeStr(t.shape)}, expected ${shapeStr(first.shape.map((s, k) => (k === d ? -1 : s)))} (any size along dim ${d})`);
    });
    const shape = first.shape.slice();
    shape[d] = ts.reduce((n, t) => n + t.shape[d], 0);
    const out = Tensor.empty(shape, c.dtype, c.device);
    let at = 0;
    for (const t of ts) {
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
    return out;
  },
  backward: (g, c) => {
    const d = normalizeDim(c.params, g.ndim, 'concat');
    let pos = 0;
    return (c.inputs as Tensor[]).map((t) => {
      const piece = narrow(g, d, pos, t.shape[d]);
      pos += t.shape[d];
      return piece;
    });
  },
});

/** Joins tensors along an existing dim. @example concat([a, b], 0) */
export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ArgumentError(`concat: expected a non-empty array of tensors, received ${describe(tensors)}`);
  return runOp(CONCAT, tensors, dim);
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
  return composite(() => concat(tensors.map((t) => unsqueeze(t, d)), d));
}
