/**
 * dtype.ts — element types, devices and shapes: the vocabulary every other module shares, with
 * their checks. A leaf of the core (imports only errors.ts).
 */
import { DeviceError, DTypeError, describe } from '../errors.js';

export type DType = 'float32' | 'float64' | 'int32';
export type DeviceName = 'cpu' | 'cuda';
export type Shape = number[];
export type TypedArrayFor<D extends DType> = D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Float32Array;
export type NestedArray = number | boolean | NestedArray[];

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

/** Bytes per element. */
export function dtypeSize(d: DType): number {
  return d === 'float64' ? 8 : 4;
}
/** A zeroed host array of `n` elements of `d`. */
export function typedArrayFor(d: DType, n: number): Float32Array | Float64Array | Int32Array {
  return d === 'float64' ? new Float64Array(n) : d === 'int32' ? new Int32Array(n) : new Float32Array(n);
}
/** True for the dtypes that carry gradients. */
export function isFloating(d: DType): boolean {
  return d !== 'int32';
}
export function checkDType(d: unknown, where: string): DType {
  if (d === 'float32' || d === 'float64' || d === 'int32') return d;
  throw new DTypeError(`${where}: expected dtype 'float32', 'float64' or 'int32', received ${describe(d)}`);
}
export function checkDevice(d: unknown, where: string): DeviceName {
  if (d === 'cpu' || d === 'cuda') return d;
  throw new DeviceError(`${where}: expected device 'cpu' or 'cuda', received ${describe(d)}`);
}

/** The common dtype of two tensor dtypes (float64 > float32 > int32), as torch.promote_types. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  return 'int32';
}

/** Row-major (C-order) element strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}
/** Number of elements of `shape` (1 for a 0-d shape). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
