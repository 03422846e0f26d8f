/**
 * util.ts — argument checks the ops share beyond what the door does: dims, shapes, and a tensor
 * check for the untracked helpers that do not pass the door. Messages name the argument, what was
 * expected and what came (DESIGN principle 7).
 */
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import type { Shape } from '../core/dtype.js';

/** `t` when it is a live Tensor, else ERR_INVALID_ARGUMENT (ERR_DISPOSED when disposed). */
export function assertTensor(t: unknown, where: string, name = 'input'): Tensor {
  if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: expected ${name} to be a Tensor, received ${describe(t)}`);
  t.assertAlive(where);
  return t;
}

/** Normalises a possibly negative dim against a rank; `rank` dims are valid (plus `extra` for an insert). */
export function normalizeDim(dim: unknown, rank: number, where: string, extra = 0): number {
  const n = rank + extra;
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new ArgumentError(`${where}: expected dim to be an integer, received ${describe(dim)}`);
  const lo = n === 0 ? -1 : -n, hi = n === 0 ? 0 : n - 1;
  if (dim < lo || dim > hi) throw new ArgumentError(`${where}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${lo} … ${hi})`);
  return dim < 0 ? dim + Math.max(n, 1) : dim;
}

/** `shape` when it is an array of at most 8 non-negative integers with an addressable size. */
export function checkShape(shape: unknown, where: string, name = 'shape'): Shape {
  shapeSize(shape, where, name);
  return (shape as Shape).slice();
}

/**
 * Checks a shape as `checkShape` does and returns its element count, without a copy.
 * @example if (shapeSize(s, 'reshape') !== x.size) throw ...
 */
export function shapeSize(shape: unknown, where: string, name = 'shape'): number {
  if (!Array.isArray(shape)) throw new ArgumentError(`${where}: expected ${name} to be an array of sizes, received ${describe(shape)}`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new ShapeError(`${where}: expected ${name} to hold non-negative integers, received ${shapeStr(shape)}`);
    n *= d;
  }
  // Beyond 2^53 elements sizes are not exact; far before that the allocation fails cleanly.
  if (n > Number.MAX_SAFE_INTEGER) throw new ShapeError(`${where}: ${name} ${shapeStr(shape)} has more elements than can be addressed`);
  if (shape.length > 8) throw new ShapeError(`${where}: at most 8 dimensions are supported, received ${shape.length}`);
  return n;
}

export { shapeStr };
