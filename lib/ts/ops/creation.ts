/**
 * creation.ts — making tensors: from values, constant fills, ranges, and seeded random numbers.
 *
 * Randomness: one global (seed, counter) pair drives every random op. Each call consumes
 * ceil(n / 4) Philox counter groups, so the same sequence of calls after `manualSeed(s)` gives the
 * same numbers bit for bit, on any thread count and on CPU and CUDA alike (native/core/philox.h).
 */
import { ArgumentError, DTypeError, OutOfMemoryError, ShapeError, describe } from '../errors.js';
import { Tensor } from '../core/tensor.js';
import { checkDevice, checkDType, sizeOf, type DeviceName, type DType, type NestedArray, type Shape } from '../core/dtype.js';
import { filled, fromHost as hostTensor, randomInto } from '../core/kernels.js';
import { checkOptions, shapeStr } from '../check.js';
import { checkShape } from './util.js';

export interface CreateOptions {
  dtype?: DType;
  device?: DeviceName;
  requiresGrad?: boolean;
}

const CREATE_KEYS = ['dtype', 'device', 'requiresGrad'] as const;

function opts(options: CreateOptions | undefined, where: string, extra: readonly string[] = []): { dtype: DType; device: DeviceName; requiresGrad: boolean } {
  const o = checkOptions<CreateOptions>(options, where, [...CREATE_KEYS, ...extra]);
  const r = {
    dtype: o?.dtype === undefined ? 'float32' : checkDType(o.dtype, where),
    device: o?.device === undefined ? 'cpu' : checkDevice(o.device, where),
    requiresGrad: !!o?.requiresGrad,
  };
  if (r.requiresGrad && r.dtype === 'int32') throw new DTypeError(`${where}: only floating-point tensors can require gradients, this one would be int32`);
  return r;
}

function finish(t: Tensor, requiresGrad: boolean): Tensor {
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

/** kernels.fromHost, after checking that every value fits an int32 tensor. */
function fromHost(values: ArrayLike<number>, shape: Shape, dtype: DType, device: DeviceName): Tensor {
  if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v) || v > 2147483647 || v < -2147483648) throw new DTypeError(`tensor: an int32 tensor cannot hold ${v} (element ${i})`);
    }
  }
  return hostTensor(values, shape, dtype, device);
}

/** A host Float64Array of n values, or ERR_OUT_OF_MEMORY when it cannot exist. */
function hostValues(n: number, where: string): Float64Array {
  try {
    return new Float64Array(n);
  } catch {
    throw new OutOfMemoryError(`${where}: cannot allocate ${n} values on the host`);
  }
}

/** Infers the shape of a nested array and checks it is not ragged. */
function inferShape(values: NestedArray, where: string): Shape {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  const check = (node: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number' && typeof node !== 'boolean')
        throw new ShapeError(`${where}: expected a number at ${path || 'the top level'}, received ${describe(node)}`);
      return;
    }
    if (!Array.isArray(node)) throw new ShapeError(`${where}: ragged nested array: expected an array of length ${shape[depth]} at ${path}, received ${describe(node)}`);
    if (node.length !== shape[depth])
      throw new ShapeError(`${where}: ragged nested array: expected length ${shape[depth]} at ${path || 'the top level'} (as its first sibling), received length ${node.length}`);
    for (let i = 0; i < node.length; i++) check(node[i], depth + 1, `${path}[${i}]`);
  };
  check(values, 0, '');
  return shape;
}

function flattenNested(values: NestedArray, n: number): Float64Array {
  const out = new Float64Array(n);
  let k = 0;
  const walk = (v: NestedArray): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else out[k++] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  };
  walk(values);
  return out;
}

/**
 * A tensor from nested arrays, a flat array plus `shape`, a typed array, or a number.
 * @example
 * const x = tensor([[1, 2], [3, 4]]);                    // float32 [2, 2]
 * const y = tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'float64' });
 */
export function tensor(values: NestedArray | ArrayLike<number>, options: CreateOptions & { shape?: Shape } = {}): Tensor {
  const o = opts(options, 'tensor', ['shape']);
  let dtype = o.dtype;
  if (options.dtype === undefined) {
    if (values instanceof Float64Array) dtype = 'float64';
    else if (values instanceof Int32Array) dtype = 'int32';
  }
  let flat: ArrayLike<number>;
  let shape: Shape;
  if (ArrayBuffer.isView(values)) {
    flat = values as unknown as ArrayLike<number>;
    shape = [flat.length];
  } else if (typeof values === 'number' || typeof values === 'boolean') {
    flat = [typeof values === 'boolean' ? (values ? 1 : 0) : values];
    shape = [];
  } else if (Array.isArray(values)) {
    shape = inferShape(values, 'tensor');
    checkShape(shape, 'tensor');
    flat = flattenNested(values, sizeOf(shape));
  } else {
    throw new ArgumentError(`tensor: expected nested arrays, a typed array or a number, received ${describe(values)}`);
  }
  if (options.shape !== undefined) {
    const s = checkShape(options.shape, 'tensor');
    if (sizeOf(s) !== flat.length)
      throw new ShapeError(`tensor: shape ${shapeStr(s)} needs ${sizeOf(s)} values, received ${flat.length}`);
    shape = s;
  }
  if (o.requiresGrad && dtype === 'int32') throw new DTypeError('tensor: only floating-point tensors can require gradients, this one is int32');
  return finish(fromHost(flat, shape, dtype, o.device), o.requiresGrad);
}

/** A tensor of zeros. @example zeros([2, 3]) */
export function zeros(shape: Shape, options?: CreateOptions): Tensor {
  const o = opts(options, 'zeros');
  return finish(filled(checkShape(shape, 'zeros'), 0, o.dtype, o.device), o.requiresGrad);
}
/** A tensor of ones. @example ones([3]) */
export function ones(shape: Shape, options?: CreateOptions): Tensor {
  const o = opts(options, 'ones');
  return finish(filled(checkShape(shape, 'ones'), 1, o.dtype, o.device), o.requiresGrad);
}
/** A tensor filled with `value`. @example full([2, 2], 7) */
export function full(shape: Shape, value: number, options?: CreateOptions): Tensor {
  const o = opts(options, 'full');
  if (typeof value !== 'number') throw new ArgumentError(`full: expected value to be a number, received ${describe(value)}`);
  return finish(filled(checkShape(shape, 'full'), value, o.dtype, o.device), o.requiresGrad);
}
export function zerosLike(t: Tensor, options?: CreateOptions): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...options });
}
export function onesLike(t: Tensor, options?: CreateOptions): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...options });
}
export function fullLike(t: Tensor, value: number, options?: CreateOptions): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...options });
}

/** The n×n identity (or n×m). @example eye(3) */
export function eye(n: number, m: number | CreateOptions = n, options?: CreateOptions): Tensor {
  if (typeof m === 'object') { options = m; m = n; }
  const o = opts(options, 'eye');
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(m) || (m as number) < 0) throw new ArgumentError(`eye: expected non-negative integer sizes, received ${describe(n)} and ${describe(m)}`);
  const cols = m as number;
  const host = hostValues(n * cols, 'eye');
  for (let i = 0; i < Math.min(n, cols); i++) host[i * cols + i] = 1;
  return finish(fromHost(host, [n, cols], o.dtype, o.device), o.requiresGrad);
}

/** Values from `start` to `end` (exclusive) by `step`, as torch.arange. @example arange(0, 5) */
export function arange(start: number, end?: number, step = 1, options?: CreateOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  for (const [k, v] of [['start', start], ['end', end], ['step', step]] as const)
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`arange: expected ${k} to be a finite number, received ${describe(v)}`);
  if (step === 0) throw new ArgumentError('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const host = hostValues(n, 'arange');
  for (let i = 0; i < n; i++) host[i] = start + i * step;
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const o = opts({ dtype: integral ? 'int32' : 'float32', ...options }, 'arange');
  return finish(fromHost(host, [n], o.dtype, o.device), o.requiresGrad);
}

/** `n` evenly spaced values from `a` to `b` inclusive. @example linspace(0, 1, 5) */
export function linspace(a: number, b: number, n: number, options?: CreateOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`linspace: expected n to be a non-negative integer, received ${describe(n)}`);
  const o = opts(options, 'linspace');
  const host = hostValues(n, 'linspace');
  const step = n > 1 ? (b - a) / (n - 1) : 0;
  // As torch.linspace: the second half counts back from b so both ends are exact.
  for (let i = 0; i < n; i++) host[i] = i < n / 2 ? a + step * i : b - step * (n - 1 - i);
  return finish(fromHost(host, [n], o.dtype, o.device), o.requiresGrad);
}

// ---- random ----------------------------------------------------------------------------------------

const rng = { seed: 0x2545f491, counter: 0 };

/**
 * Seeds every random op (rand, randn, randint, dropout, initializers, shuffling).
 * @example manualSeed(42); const a = rand([3]); manualSeed(42); rand([3]) // same as a
 */
export function manualSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER)
    throw new ArgumentError(`manualSeed: expected a non-negative integer seed, received ${describe(seed)}`);
  rng.seed = seed;
  rng.counter = 0;
}
/** The generator's state, for checkpoints. */
export function getRngState(): { seed: number; counter: number } {
  return { seed: rng.seed, counter: rng.counter };
}
export function setRngState(state: { seed: number; counter: number }): void {
  if (!state || !Number.isInteger(state.seed) || !Number.isInteger(state.counter) || state.seed < 0 || state.counter < 0)
    throw new ArgumentError(`setRngState: expected { seed, counter } non-negative integers, received ${describe(state)}`);
  rng.seed = state.seed;
  rng.counter = state.counter;
}
/** @internal Reserves counter groups for `n` values and returns the first. */
export function nextCounter(n: number): number {
  const c = rng.counter;
  rng.counter += Math.ceil(n / 4);
  return c;
}

function randomFill(kind: 0 | 1, shape: Shape, a: number, b: number, o: { dtype: DType; device: DeviceName }, where: string): Tensor {
  if (o.dtype === 'int32') throw new DTypeError(`${where}: expected a floating dtype, received int32`);
  const t = Tensor.empty(checkShape(shape, where), o.dtype, o.device);
  if (t.size) randomInto(t, kind, rng.seed, nextCounter(t.size), a, b);
  return t;
}

/** Uniform random values in [0, 1). @example rand([2, 3]) */
export function rand(shape: Shape, options?: CreateOptions): Tensor {
  const o = opts(options, 'rand');
  return finish(randomFill(0, shape, 0, 1, o, 'rand'), o.requiresGrad);
}
/** Standard normal random values. @example randn([2, 3]) */
export function randn(shape: Shape, options?: CreateOptions): Tensor {
  const o = opts(options, 'randn');
  return finish(randomFill(1, shape, 0, 1, o, 'randn'), o.requiresGrad);
}
/** @internal Uniform in [lo, hi) into a new tensor. */
export function uniform(shape: Shape, lo: number, hi: number, o: { dtype: DType; device: DeviceName }): Tensor {
  return randomFill(0, shape, lo, hi, o, 'uniform');
}
/** @internal Normal(mean, std) into a new tensor. */
export function normal(shape: Shape, mean: number, std: number, o: { dtype: DType; device: DeviceName }): Tensor {
  return randomFill(1, shape, mean, std, o, 'normal');
}
/** @internal Fills `t` in place with U[lo, hi) (for initializers). */
export function uniformInPlace(t: Tensor, lo: number, hi: number): void {
  const r = randomFill(0, t.shape, lo, hi, { dtype: t.dtype === 'int32' ? 'float32' : t.dtype, device: t.device }, 'uniform');
  t.copy_(r);
  r.dispose();
}
/** @internal Fills `t` in place with N(mean, std²). */
export function normalInPlace(t: Tensor, mean: number, std: number): void {
  const r = randomFill(1, t.shape, mean, std, { dtype: t.dtype === 'int32' ? 'float32' : t.dtype, device: t.device }, 'normal');
  t.copy_(r);
  r.dispose();
}

/** Random integers in [low, high) as int32. @example randint(0, 10, [5]) */
export function randint(low: number, high: number, shape: Shape, options?: CreateOptions): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low)
    throw new ArgumentError(`randint: expected integers low < high, received ${describe(low)} and ${describe(high)}`);
  const o = opts({ dtype: 'int32', ...options }, 'randint');
  const u = randomFill(0, shape, 0, 1, { dtype: 'float64', device: o.device }, 'randint');
  const host = u.data() as Float64Array;
  u.dispose();
  const ints = new Float64Array(host.length);
  for (let i = 0; i < host.length; i++) ints[i] = low + Math.floor(host[i] * (high - low));
  return fromHost(ints, checkShape(shape, 'randint'), o.dtype, o.device);
}

