/**
 * check.ts — the one set of argument checks and message helpers the whole library uses
 * (DESIGN principle 7: a message names the argument, what was expected and what came).
 *
 * A leaf module: it imports only errors.ts, so every layer (core, ops, nn, optim, data, train) can
 * use it without an import cycle. One rule, one code: a bad number or option is
 * ERR_INVALID_ARGUMENT, a bad shape ERR_SHAPE, a bad dtype ERR_DTYPE (the ops' door applies the
 * dtype rule to tensors, see lib/ts/ops/door.ts).
 */
import { ArgumentError, describe } from './errors.js';

/** A shape for a message: `[2, 3]` (non-numbers described, so a bad shape is shown as it came). */
export function shapeStr(s: readonly unknown[]): string {
  return `[${s.map((v) => (typeof v === 'number' ? String(v) : describe(v))).join(', ')}]`;
}

/** The bounds of `checkNumber`; both ends inclusive unless said otherwise. */
export interface NumberRange {
  min?: number;
  max?: number;
  /** Exclude `min` itself (an open lower end). */
  minExclusive?: boolean;
  /** Exclude `max` itself (an open upper end). */
  maxExclusive?: boolean;
  /** Also reject ±Infinity. */
  finite?: boolean;
  /** Also require an integer. */
  integer?: boolean;
}

function rangeText(r: NumberRange): string {
  const lo = r.min ?? -Infinity, hi = r.max ?? Infinity;
  const kind = r.integer ? 'an integer' : r.finite ? 'a finite number' : 'a number';
  if (lo === -Infinity && hi === Infinity) return kind;
  if (hi === Infinity) return `${kind} ${r.minExclusive ? '>' : '≥'} ${lo}`;
  if (lo === -Infinity) return `${kind} ${r.maxExclusive ? '<' : '≤'} ${hi}`;
  return `${kind} in ${r.minExclusive ? '(' : '['}${lo}, ${hi}${r.maxExclusive ? ')' : ']'}`;
}

/**
 * `value` when it is a number within `range`, else ERR_INVALID_ARGUMENT naming `where` and `name`.
 * NaN is always rejected.
 * @example checkNumber(lr, 'SGD', 'lr', { min: 0 }) // "SGD: expected lr to be a number ≥ 0, received the number -1"
 */
export function checkNumber(value: unknown, where: string, name: string, range: NumberRange = {}): number {
  const lo = range.min ?? -Infinity, hi = range.max ?? Infinity;
  if (typeof value !== 'number' || Number.isNaN(value)
    || (range.finite && !Number.isFinite(value))
    || (range.integer && !Number.isInteger(value))
    || (range.minExclusive ? value <= lo : value < lo)
    || (range.maxExclusive ? value >= hi : value > hi))
    throw new ArgumentError(`${where}: expected ${name} to be ${rangeText(range)}, received ${describe(value)}`);
  return value;
}

/** `value` when it is a positive integer, else ERR_INVALID_ARGUMENT. @example checkPositiveInt(n, 'Linear', 'inFeatures') */
export function checkPositiveInt(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new ArgumentError(`${where}: expected ${name} to be a positive integer, received ${describe(value)}`);
  return value;
}

/** A class instance with a shape and a dtype (a Tensor passed where options were expected). */
function isTensorLike(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return proto !== Object.prototype && proto !== null && 'shape' in o && 'dtype' in o;
}

/**
 * `o` as an options object whose keys are all in `allowed` (`undefined` is `{}`), else
 * ERR_INVALID_ARGUMENT naming `where`, the unknown key and the valid ones — so a typo or another
 * library's name (`verbose`, `batch_size`) fails loudly instead of being silently ignored. A key
 * that differs from a valid one only by case or underscores (PyTorch's snake_case) gets a
 * "did you mean"; `hints` adds advice for well-known foreign names.
 * @example const o = checkOptions<{ bias?: boolean }>(options, 'Linear', ['bias'])
 * // "fit: unknown option 'verbose' (expected one of 'train', …); use progress: false for silence"
 */
export function checkOptions<T extends object>(o: unknown, where: string, allowed: readonly string[], hints: Readonly<Record<string, string>> = {}): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object' || Array.isArray(o) || isTensorLike(o))
    throw new ArgumentError(`${where}: expected an options object, received ${describe(o)}`);
  const fold = (s: string): string => s.replace(/_/g, '').toLowerCase();
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    const near = allowed.find((a) => fold(a) === fold(k));
    const hint = Object.hasOwn(hints, k) ? `; ${hints[k]}` : near ? `; did you mean '${near}'?` : '';
    throw new ArgumentError(`${where}: unknown option '${k}' (expected one of ${allowed.map((a) => `'${a}'`).join(', ')})${hint}`);
  }
  return o as T;
}
