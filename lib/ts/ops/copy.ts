/**
 * copy.ts — moving values: contiguous copies, dtype casts, device transfers, fills, in-place copies.
 * All of them go through the native strided `cast` kernel (a copy with conversion).
 */
import { ShapeError } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import type { DeviceName, DType } from '../core/dtype.js';
import { broadcastShapes, copyAs, copyStrided, fill, filled, transfer } from '../core/kernels.js';
import { castTo, defineOp, runOp1, type OpDef } from './door.js';
import { assertTensor } from './util.js';
import { noGrad } from '../autograd/graph.js';

const ANY: OpDef['args'] = [{ name: 'input' }];

const CLONE = defineOp({ name: 'clone', args: ANY, dtype: 'none', half: true, forward: (c) => copyAs(c.args[0] as Tensor), backward: (g) => [g] });

const TO = defineOp<DeviceName>({
  name: 'to', args: ANY, dtype: 'none', half: true,
  forward: (c) => transfer(c.args[0] as Tensor, c.params),
  backward: (g, c) => [toDevice(g, (c.inputs[0] as Tensor).device)],
});

/** A contiguous tensor with the values of `t`; `t` itself when already contiguous. @example contiguous(x.T) */
export function contiguous(t: Tensor): Tensor {
  if (t instanceof Tensor && !t.isDisposed && t.isContiguous()) return t;
  return runOp1(CLONE, t, undefined);
}

/** A fresh contiguous copy (tracked: the gradient passes straight through). @example const y = clone(x) */
export function clone(t: Tensor): Tensor {
  return runOp1(CLONE, t, undefined);
}

/** `t` converted to `dtype` (`t` itself when it has it); gradients flow back converted. @example cast(x, 'float64') */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t instanceof Tensor && t.dtype === dtype) return t;
  // An integer result carries no gradient: not recorded.
  return dtype === 'int32' ? noGrad(() => castTo(t, dtype)) : castTo(t, dtype);
}

/** A copy of `t` on `device` (through host memory); `t` itself when already there. @example toDevice(x, 'cuda') */
export function toDevice(t: Tensor, device: DeviceName): Tensor {
  if (t instanceof Tensor && t.device === device) return t;
  return runOp1(TO, t, device);
}

/** dst ← src (broadcast), in place, untracked. @example w.copy_(tensor([1, 2])) */
export function copyInto(dst: Tensor, src: Tensor | number): void {
  assertTensor(dst, 'copy_', 'destination');
  if (typeof src === 'number') { fill(dst, src); return; }
  assertTensor(src, 'copy_', 'source');
  const shape = broadcastShapes(dst.shape, src.shape, 'copy_');
  if (shape.length !== dst.shape.length || shape.some((d, i) => d !== dst.shape[i]))
    throw new ShapeError(`copy_: source of shape ${shapeStr(src.shape)} does not broadcast to destination ${shapeStr(dst.shape)}`);
  if (src.device !== dst.device) {
    const moved = transfer(src, dst.device);
    try { copyStrided(dst, moved); } finally { moved.dispose(); }
    return;
  }
  copyStrided(dst, src);
}

export { copyStrided, filled };
