/**
 * dtype.ts — element types, devices and shapes: the vocabulary every other module shares, with
 * their checks. A leaf of the core (imports only errors.ts).
 */
import { DeviceError, DTypeError, describe } from '../errors.js';

/**
 * Element types. `bfloat16` and `float16` are 16-bit storage types (native/core/half.h): ops
 * compute on them in float32 and round once, as PyTorch's CPU kernels do; their values read back
 * (`data()`, `item()`) as float32.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';
/** The 16-bit floating-point dtypes. */
export type HalfDType = 'bfloat16' | 'float16';
export type DeviceName = 'cpu' | 'cuda';
export type Shape = number[];
/** The host array of `data()` for dtype D (the 16-bit types read back as float32 values). */
export type TypedArrayFor<D extends DType> = D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Float32Array;
export type NestedArray = number | boolean | NestedArray[];

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bfloat16', 'float16'];

/** Bytes per element. */
export function dtypeSize(d: DType): number {
  return d === 'float64' ? 8 : d === 'bfloat16' || d === 'float16' ? 2 : 4;
}
/** True for bfloat16 and float16. */
export function isHalf(d: DType): d is HalfDType {
  return d === 'bfloat16' || d === 'float16';
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/**
 * `v` rounded to the nearest value of a 16-bit dtype (through float32, ties to even; float16
 * overflows to ±Inf), as native/core/half.h rounds: the value a number takes as an operand of a
 * 16-bit op, as PyTorch's CPU ops convert a scalar to the tensor's dtype. @example roundHalf(0.1, 'bfloat16') // 0.10009765625
 */
export function roundHalf(v: number, d: HalfDType): number {
  f32[0] = v;
  const u = u32[0];
  if (v !== v) return NaN;
  if (d === 'bfloat16') {
    u32[0] = (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
    return f32[0];
  }
  const sign = u >>> 31 ? -1 : 1, ax = u & 0x7fffffff;
  if (ax >= 0x477ff000) return sign * Infinity;
  // Below 2^-14 the spacing is 2^-24; above, 2^(e−10). Math.round-to-even on the scaled value.
  f32[0] = Math.abs(f32[0]);
  const a = f32[0];
  const e = ax < 0x38800000 ? -24 : ((ax >>> 23) - 127) - 10;
  const q = a / 2 ** e;
  let r = Math.floor(q);
  const rest = q - r;
  if (rest > 0.5 || (rest === 0.5 && r % 2 === 1)) r += 1;
  return sign * r * 2 ** e;
}

/** A zeroed host array of `n` values of `d` (float32 values for the 16-bit types). */
export function typedArrayFor(d: DType, n: number): Float32Array | Float64Array | Int32Array {
  return d === 'float64' ? new Float64Array(n) : d === 'int32' ? new Int32Array(n) : new Float32Array(n);
}
/** A zeroed host array of `n` elements of `d` as stored (the raw bits of the 16-bit types). */
export function rawArrayFor(d: DType, n: number): Float32Array | Float64Array | Int32Array | Uint16Array {
  return isHalf(d) ? new Uint16Array(n) : typedArrayFor(d, n);
}
/** True for the dtypes that carry gradients. */
export function isFloating(d: DType): boolean {
  return d !== 'int32';
}
export function checkDType(d: unknown, where: string): DType {
  if (d === 'float32' || d === 'float64' || d === 'int32' || d === 'bfloat16' || d === 'float16') return d;
  throw new DTypeError(`${where}: expected dtype 'float32', 'float64', 'int32', 'bfloat16' or 'float16', received ${describe(d)}`);
}
export function checkDevice(d: unknown, where: string): DeviceName {
  if (d === 'cpu' || d === 'cuda') return d;
  throw new DeviceError(`${where}: expected device 'cpu' or 'cuda', received ${describe(d)}`);
}

/**
 * The common dtype of two tensor dtypes, as torch.promote_types: float64 > float32 > the 16-bit
 * types > int32; bfloat16 with float16 is float32 (neither holds the other's values).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32') return b;
  if (b === 'int32') return a;
  return 'float32';
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
