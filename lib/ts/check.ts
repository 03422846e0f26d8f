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
