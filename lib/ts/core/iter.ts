/**
 * iter.ts — the scratch writer: how an elementwise iteration (shape and each operand's offset and
 * strides) reaches the native drivers without allocating a JS object per call. The layout is
 * documented once, in native/bindings.cc: [0] rank, [1..8] sizes; operand o at 16 + 16·o:
 * [0] element offset, [1..8] strides.
 */
import { ShapeError } from '../errors.js';
import { scratch } from '../native.js';

/** Strides and offset of one operand of an iteration. */
export interface IterOperand { readonly strides: readonly number[]; readonly offset: number }

/** Writes an elementwise iteration into the scratch buffer; operands' strides are right-aligned. */
export function setIter(shape: readonly number[], operands: readonly IterOperand[]): void {
  const nd = shape.length;
  if (nd > 8) throw new ShapeError(`tensors of rank ${nd} are not supported (at most 8 dimensions)`);
  scratch[0] = nd;
  for (let d = 0; d < nd; d++) scratch[1 + d] = shape[d];
  for (let o = 0; o < operands.length; o++) {
    const base = 16 + 16 * o;
    const op = operands[o];
    scratch[base] = op.offset;
    const k = op.strides.length;
    // Missing leading dims broadcast (stride 0).
    for (let d = 0; d < nd; d++) {
      const od = d - (nd - k);
      scratch[base + 1 + d] = od < 0 ? 0 : op.strides[od];
    }
  }
}
