/**
 * copy.ts — moving values: contiguous copies, dtype casts, device transfers, fills, in-place copies.
 * All of them go through the native strided `cast` kernel (a copy with conversion).
 */
import { attach, needsGrad } from '../autograd/engine.js';
import { ShapeError } from '../errors.js';
import { DTYPE_CODE, native } from '../native.js';
import { Tensor, dtypeSize, setIter, sizeOf, typedArrayFor, type DeviceName, type DType, type Shape } from '../tensor.js';
import { assertTensor, broadcastShapes, broadcastStrides, shapeStr } from './util.js';

/** Strided copy of `src` (broadcast to dst's shape) into `dst`, converting dtype. Untracked. */
export function copyStrided(dst: Tensor, src: Tensor): void {
  if (dst.device !== src.device) throw new ShapeError('copyStrided: devices differ');
  setIter(dst.shape, [dst, { strides: broadcastStrides(src, dst.shape), offset: src.offset }]);
  native.cast(DTYPE_CODE[dst.dtype], DTYPE_CODE[src.dtype], dst.storage.handle, src.storage.handle);
}

function rawCopy(t: Tensor, dtype: DType): Tensor {
  const out = Tensor.empty(t.shape.slice(), dtype, t.device);
  if (out.size) copyStrided(out, t);
  return out;
}

/** A contiguous tensor with the values of `t`; `t` itself when already contiguous. */
export function contiguous(t: Tensor): Tensor {
  assertTensor(t, 'contiguous');
  if (t.isContiguous()) return t;
  return clone(t);
}

/** A fresh contiguous copy (tracked: the gradient passes straight through). */
export function clone(t: Tensor): Tensor {
  assertTensor(t, 'clone');
  const out = rawCopy(t, t.dtype);
  if (needsGrad(t)) attach(out, 'clone', [t], (g) => [g]);
  return out;
}

/** `t` converted to `dtype`; gradients flow back converted to the source dtype. */
export function cast(t: Tensor, dtype: DType): Tensor {
  assertTensor(t, 'cast');
  if (t.dtype === dtype) return t;
  const out = rawCopy(t, dtype);
  if (needsGrad(t) && dtype !== 'int32') attach(out, 'cast', [t], (g) => [cast(g, t.dtype)]);
  return out;
}

/** A copy of `t` on `device` (through host memory); `t` itself when already there. */
export function toDevice(t: Tensor, device: DeviceName): Tensor {
  assertTensor(t, 'to');
  if (t.device === device) return t;
  const src = t.isContiguous() ? t : rawCopy(t, t.dtype);
  const host = typedArrayFor(t.dtype, t.size);
  if (host.length) native.read(src.storage.handle, src.offset * dtypeSize(t.dtype), host);
  if (src !== t) src.dispose();
  const out = Tensor.empty(t.shape.slice(), t.dtype, device);
  if (host.length) native.write(out.storage.handle, 0, host);
  if (needsGrad(t)) attach(out, 'to', [t], (g) => [toDevice(g, t.device)]);
  return out;
}

/** dst ← src (broadcast), in place, untracked. */
export function copyInto(dst: Tensor, src: Tensor | number): void {
  assertTensor(dst, 'copy_', 'destination');
  if (typeof src === 'number') return fillInPlace(dst, src);
  assertTensor(src, 'copy_', 'source');
  const shape = broadcastShapes(dst.shape, src.shape, 'copy_');
  if (shape.length !== dst.shape.length || shape.some((d, i) => d !== dst.shape[i]))
    throw new ShapeError(`copy_: source of shape ${shapeStr(src.shape)} does not broadcast to destination ${shapeStr(dst.shape)}`);
  if (src.device !== dst.device) {
    const moved = toDevice(src, dst.device);
    copyStrided(dst, moved);
    moved.dispose();
    return;
  }
  if (dst.size) copyStrided(dst, src);
}

/** dst ← value, in place, untracked. */
export function fillInPlace(dst: Tensor, value: number): void {
  assertTensor(dst, 'fill_');
  if (!dst.size) return;
  setIter(dst.shape, [dst]);
  native.fill(DTYPE_CODE[dst.dtype], dst.storage.handle, value);
}

/** A new tensor filled with `value`. */
export function filled(shape: Shape, value: number, dtype: DType, device: DeviceName): Tensor {
  const out = Tensor.empty(shape, dtype, device);
  if (sizeOf(shape)) fillInPlace(out, value);
  return out;
}
