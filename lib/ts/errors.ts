/**
 * errors.ts — entrena's error classes. Every error thrown by the library (TypeScript validation or
 * native status codes) is an `EntrenaError` with a stable `code`, so callers can branch on
 * `err.code` rather than on message text.
 *
 * @example
 * try { zeros([2, 3]).matmul(zeros([4, 5])); }
 * catch (e) { if (e instanceof EntrenaError && e.code === 'ERR_SHAPE') console.log(e.message); }
 */

export type ErrorCode =
  | 'ERR_SHAPE'
  | 'ERR_DTYPE'
  | 'ERR_DEVICE'
  | 'ERR_INDEX'
  | 'ERR_DISPOSED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_CUDA'
  | 'ERR_NOT_COMPILED_WITH_CUDA'
  | 'ERR_KERNEL_NOT_AVAILABLE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_AUTOGRAD'
  | 'ERR_ANOMALY'
  | 'ERR_FORMAT'
  | 'ERR_IO'
  | 'ERR_DISTRIBUTED'
  | 'ERR_INTERNAL';

/** Base class of every error entrena throws; `code` is stable across versions. */
export class EntrenaError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'EntrenaError';
  }
}

/** Shapes that do not fit together (broadcasting, matmul, reshape, a layer's input). */
export class ShapeError extends EntrenaError {
  constructor(message: string) { super('ERR_SHAPE', message); this.name = 'ShapeError'; }
}
/** A dtype an op does not accept. */
export class DTypeError extends EntrenaError {
  constructor(message: string) { super('ERR_DTYPE', message); this.name = 'DTypeError'; }
}
/** Operands on different devices, or an unknown device. */
export class DeviceError extends EntrenaError {
  constructor(message: string) { super('ERR_DEVICE', message); this.name = 'DeviceError'; }
}
/** A tensor used after `dispose()` (or after the `tidy` that owned it ended). */
export class DisposedError extends EntrenaError {
  constructor(message: string) { super('ERR_DISPOSED', message); this.name = 'DisposedError'; }
}
/** Memory exhausted on a device (after the CUDA allocator freed its cache and retried). */
export class OutOfMemoryError extends EntrenaError {
  constructor(message: string) { super('ERR_OUT_OF_MEMORY', message); this.name = 'OutOfMemoryError'; }
}
/** A bad argument value: a negative learning rate, a probability outside [0, 1], a bad dim. */
export class ArgumentError extends EntrenaError {
  constructor(message: string) { super('ERR_INVALID_ARGUMENT', message); this.name = 'ArgumentError'; }
}
/** A malformed file (safetensors, IDX, CSV, checkpoint). */
export class FormatError extends EntrenaError {
  constructor(message: string) { super('ERR_FORMAT', message); this.name = 'FormatError'; }
}

/** Builds the right subclass for a code; used by the native binding's error factory. */
export function makeError(code: string, message: string): EntrenaError {
  switch (code) {
    case 'ERR_SHAPE': return new ShapeError(message);
    case 'ERR_DTYPE': return new DTypeError(message);
    case 'ERR_DEVICE': return new DeviceError(message);
    case 'ERR_DISPOSED': return new DisposedError(message);
    case 'ERR_OUT_OF_MEMORY': return new OutOfMemoryError(message);
    case 'ERR_INVALID_ARGUMENT': return new ArgumentError(message);
    case 'ERR_FORMAT': return new FormatError(message);
    default: return new EntrenaError(code as ErrorCode, message);
  }
}

/** Describes a value for an error message: `shape [2, 3]`, `a string`, `undefined`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'symbol') return `a symbol (${value.description ?? ''})`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object' && value && 'shape' in value && 'dtype' in value) {
    const t = value as { shape: number[]; dtype: string };
    return `a ${t.dtype} tensor of shape [${t.shape.join(', ')}]`;
  }
  if (typeof value === 'object' && value) {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return `an object (${typeof ctor === 'string' ? ctor : 'no prototype'})`;
  }
  return typeof value;
}
