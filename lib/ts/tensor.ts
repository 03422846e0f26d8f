/**
 * tensor.ts — the public Tensor: the core class (lib/ts/core/tensor.ts: storage, views, memory,
 * reading values) with every operation installed as a method, plus `backward`. The methods are
 * one-line forwards to lib/ts/ops, so `x.add(y)` and `add(x, y)` are the same op through the same
 * door. Installing them here, once, keeps the core free of imports from ops and autograd.
 */
import { ArgumentError, ShapeError, describe } from './errors.js';
import { shapeStr } from './check.js';
import { Tensor } from './core/tensor.js';
import { checkDevice, checkDType, sameShape, type DeviceName, type DType, type Shape } from './core/dtype.js';
import { runBackward, type BackwardOptions } from './autograd/engine.js';
import * as ops from './ops/index.js';

export { Tensor, tidy, keep, memory, type DeviceMemory } from './core/tensor.js';
export { Storage, emptyCache } from './core/storage.js';
export { setIter } from './core/iter.js';
export {
  DTYPES, dtypeSize, typedArrayFor, checkDType, checkDevice, contiguousStrides, sizeOf, sameShape, promoteTypes,
  type DType, type DeviceName, type Shape, type TypedArrayFor, type NestedArray,
} from './core/dtype.js';
export { DTYPE_CODE, DEVICE_CODE } from './native.js';

type Operand = Tensor | number;
type Dims = number | number[] | null;

declare module './core/tensor.js' {
  interface Tensor {
    /**
     * Reverse-mode differentiation. A scalar needs no `grad`; otherwise pass the gradient of the
     * output. Gradients accumulate into `.grad` of leaves that require grad (a leaf itself gets `grad`).
     * `createGraph` records the backward pass, so the gradients can be differentiated again.
     * @example
     * const w = tensor([1, 2], { requiresGrad: true });
     * w.mul(w).sum().backward(); // w.grad = [2, 4]
     */
    backward(grad?: Tensor, options?: BackwardOptions): void;
    /** A copy on `device` (this tensor itself when already there). */
    to(device: DeviceName): Tensor;
    cpu(): Tensor;
    cuda(): Tensor;
    /** A copy converted to `dtype` (this tensor itself when it already has it). */
    cast(dtype: DType): Tensor;
    /** A contiguous tensor with the same values (this tensor itself when already contiguous). */
    contiguous(): Tensor;
    /** A contiguous copy that shares no memory with this tensor. */
    clone(): Tensor;
    add(b: Operand): Tensor; sub(b: Operand): Tensor; mul(b: Operand): Tensor; div(b: Operand): Tensor;
    pow(b: Operand): Tensor; maximum(b: Operand): Tensor; minimum(b: Operand): Tensor; atan2(b: Operand): Tensor;
    eq(b: Operand): Tensor; ne(b: Operand): Tensor; gt(b: Operand): Tensor; ge(b: Operand): Tensor;
    lt(b: Operand): Tensor; le(b: Operand): Tensor;
    neg(): Tensor; abs(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; square(): Tensor;
    sigmoid(): Tensor; tanh(): Tensor; relu(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    where(cond: Tensor, other: Operand): Tensor;
    reshape(...shape: (number | number[])[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    transpose(d0: number, d1: number): Tensor;
    permute(...dims: (number | number[])[]): Tensor;
    /** The transpose of a 2-D tensor (a view). */
    readonly T: Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    expand(shape: Shape): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    indexSelect(dim: number, indices: Tensor | number[]): Tensor;
    gather(dim: number, indices: Tensor): Tensor;
    matmul(b: Tensor): Tensor;
    sum(dim?: Dims, options?: { keepDim?: boolean }): Tensor;
    mean(dim?: Dims, options?: { keepDim?: boolean }): Tensor;
    prod(dim?: Dims, options?: { keepDim?: boolean }): Tensor;
    variance(dim?: Dims, options?: { unbiased?: boolean; keepDim?: boolean }): Tensor;
    std(dim?: Dims, options?: { unbiased?: boolean; keepDim?: boolean }): Tensor;
    max(dim?: number | null, options?: { keepDim?: boolean }): Tensor;
    min(dim?: number | null, options?: { keepDim?: boolean }): Tensor;
    argmax(dim?: number | null, options?: { keepDim?: boolean }): Tensor;
    argmin(dim?: number | null, options?: { keepDim?: boolean }): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;
    /** @internal this ← this + b · alpha, in place, untracked. */
    addInPlace_(b: Operand, alpha?: number): this;
    /** Copies `src` (broadcast) into this tensor in place, untracked. */
    copy_(src: Operand): this;
    /** Fills this tensor with `value` in place, untracked. */
    fill_(value: number): this;
  }
}

function flatArgs(a: (number | number[])[]): number[] {
  return a.length === 1 && Array.isArray(a[0]) ? (a[0] as number[]) : (a as number[]);
}

const methods: ThisType<Tensor> & Record<string, unknown> = {
  backward(this: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
    this.assertAlive('backward');
    if (grad === undefined && this.size !== 1) {
      throw new ShapeError(`backward: grad can be implicitly created only for a scalar output, this one has shape ${shapeStr(this.shape)}; pass the gradient explicitly`);
    }
    if (grad !== undefined) {
      if (!(grad instanceof Tensor)) throw new ArgumentError(`backward: expected grad to be a Tensor, received ${describe(grad)}`);
      if (!sameShape(grad.shape, this.shape)) throw new ShapeError(`backward: expected grad of shape ${shapeStr(this.shape)}, received ${shapeStr(grad.shape)}`);
    }
    runBackward([this], [grad], { retainGraph: options.retainGraph, createGraph: options.createGraph });
  },
  to(this: Tensor, device: DeviceName) { return ops.toDevice(this, checkDevice(device, 'to')); },
  cpu(this: Tensor) { return ops.toDevice(this, 'cpu'); },
  cuda(this: Tensor) { return ops.toDevice(this, 'cuda'); },
  cast(this: Tensor, dtype: DType) { return ops.cast(this, checkDType(dtype, 'cast')); },
  contiguous(this: Tensor) { return ops.contiguous(this); },
  clone(this: Tensor) { return ops.clone(this); },
  where(this: Tensor, cond: Tensor, other: Operand) { return ops.where(cond, this, other); },
  reshape(this: Tensor, ...shape: (number | number[])[]) { return ops.reshape(this, flatArgs(shape)); },
  permute(this: Tensor, ...dims: (number | number[])[]) { return ops.permute(this, flatArgs(dims)); },
  addInPlace_(this: Tensor, b: Operand, alpha = 1) { ops.addInPlace(this, b, alpha); return this; },
  copy_(this: Tensor, src: Operand) { ops.copyInto(this, src); return this; },
  fill_(this: Tensor, value: number) { this.assertAlive('fill_'); ops.fillInPlace(this, value); return this; },
};
// Methods that forward to the op of the same name with `this` first.
for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'eq', 'ne', 'gt', 'ge', 'lt', 'le',
  'neg', 'abs', 'exp', 'log', 'sqrt', 'square', 'sigmoid', 'tanh', 'relu', 'clamp', 'flatten', 'transpose', 'squeeze',
  'unsqueeze', 'expand', 'narrow', 'indexSelect', 'gather', 'matmul', 'sum', 'mean', 'prod', 'variance', 'std', 'max',
  'min', 'argmax', 'argmin', 'softmax', 'logSoftmax'] as const) {
  // Fixed arity (no rest/spread on the hot path): an absent argument is undefined either way.
  const op = ops[name] as (t: Tensor, a?: unknown, b?: unknown, c?: unknown) => Tensor;
  methods[name] = function (this: Tensor, a?: unknown, b?: unknown, c?: unknown) { return op(this, a, b, c); };
}
for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tensor.prototype, 'T', {
  configurable: true,
  get(this: Tensor): Tensor {
    if (this.ndim !== 2) throw new ShapeError(`T: expected a 2-D tensor, received shape ${shapeStr(this.shape)}`);
    return ops.transpose(this, 0, 1);
  },
});
