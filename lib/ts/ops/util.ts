/**
 * util.ts — shared argument checking for the ops: dims, shapes, broadcasting, dtype promotion.
 * Messages name the argument, what was expected and what came (DESIGN principle 7).
 */
import { ArgumentError, DeviceError, DTypeError, ShapeError, describe } from '../errors.js';
import { Tensor, type DType, type Shape } from '../tensor.js';

export function assertTensor(t: unknown, where: string, name = 'input'): Tensor {
  if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: expected ${name} to be a Tensor, received ${describe(t)}`);
  t.assertAlive(where);
  return t;
}

export function assertOperand(t: unknown, where: string, name: string): Tensor | number {
  if (typeof t === 'number') return t;
  if (typeof t === 'boolean') return t ? 1 : 0;
  return assertTensor(t, where, name);
}

/** Normalises a possibly negative dim against a rank; `rank` dims are valid (plus one for insert). */
export function normalizeDim(dim: unknown, rank: number, where: string, extra = 0): number {
  const n = rank + extra;
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new ArgumentError(`${where}: expected dim to be an integer, received ${describe(dim)}`);
  const lo = n === 0 ? -1 : -n, hi = n === 0 ? 0 : n - 1;
  if (dim < lo || dim > hi) throw new ArgumentError(`${where}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${lo} … ${hi})`);
  return dim < 0 ? dim + Math.max(n, 1) : dim;
}

export function checkShape(shape: unknown, where: string, name = 'shape'): Shape {
  if (!Array.isArray(shape)) throw new ArgumentError(`${where}: expected ${name} to be an array of sizes, received ${describe(shape)}`);
  for (const d of shape)
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${where}: expected ${name} to hold non-negative integers, received [${shape.map((v) => (typeof v === 'number' ? String(v) : describe(v))).join(', ')}]`);
  // Beyond 2^53 elements sizes are not exact; far before that the allocation fails cleanly.
  if (shape.reduce((n: number, d: number) => n * d, 1) > Number.MAX_SAFE_INTEGER)
    throw new ShapeError(`${where}: ${name} [${shape.join(', ')}] has more elements than can be addressed`);
  if (shape.length > 8) throw new ShapeError(`${where}: at most 8 dimensions are supported, received ${shape.length}`);
  return shape.slice();
}

export function broadcastShapes(a: Shape, b: Shape, where: string): Shape {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new ShapeError(`${where}: shapes [${a.join(', ')}] and [${b.join(', ')}] cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
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

/** Result dtype of a binary op, as PyTorch's promotion (numbers are "weak" scalars). */
export function promote(a: Tensor | number, b: Tensor | number): DType {
  if (typeof a === 'number' && typeof b === 'number') return 'float32';
  if (typeof a === 'number') return promote(b, a);
  if (typeof b === 'number') return a.dtype === 'int32' && !Number.isInteger(b) ? 'float32' : a.dtype;
  if (a.dtype === 'float64' || b.dtype === 'float64') return 'float64';
  if (a.dtype === 'float32' || b.dtype === 'float32') return 'float32';
  return 'int32';
}

/** The common dtype of two tensor dtypes (float64 > float32 > int32). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  return 'int32';
}

export function sameDevice(where: string, ...ts: (Tensor | number | null | undefined)[]): void {
  let dev: string | null = null;
  for (const t of ts) {
    if (!(t instanceof Tensor)) continue;
    if (dev === null) dev = t.device;
    else if (t.device !== dev)
      throw new DeviceError(`${where}: expected all tensors on the same device, received tensors on ${dev} and ${t.device}; move one with .to('${dev}')`);
  }
}

export function requireFloat(t: Tensor, where: string): void {
  if (t.dtype === 'int32') throw new DTypeError(`${where}: expected a floating-point tensor (float32 or float64), received int32`);
}

export function shapeStr(s: Shape): string {
  return `[${(s as unknown[]).map((v) => (typeof v === 'number' ? String(v) : describe(v))).join(', ')}]`;
}
