/**
 * init.ts — `nn.init`: parameter initialisers, in place and untracked, returning the tensor, with
 * PyTorch's fan computation (`fanIn = size(1) · receptive field`, `fanOut = size(0) · receptive
 * field`, for weights laid out [out, in, ...kernel] as torch.nn) and PyTorch's gains
 * (torch/nn/init.py). `varianceScaling`, `lecunUniform` and `lecunNormal` follow Keras
 * (keras/initializers), applied to the same PyTorch fans.
 *
 * Randomness comes from the library's seeded generator (`manualSeed`), so initialisation repeats
 * bit for bit; it does not reproduce PyTorch's random stream.
 */
import { noGrad } from '../autograd/engine.js';
import { checkNumber, checkOptions, shapeStr } from '../check.js';
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { normalInPlace, randn, tensor, uniformInPlace } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { checkFloatInput } from './module.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

/** Writes host values (row-major, float64) into `x` in place, converted to its dtype. */
function copyFromHost(x: Tensor, values: Float64Array): void {
  const host = tensor(values, { shape: x.shape.slice(), dtype: 'float64', device: x.device });
  x.copy_(host);
  host.dispose();
}
const target = (t: unknown, where: string): Tensor => checkFloatInput(t, where, 'tensor');
const num = (v: unknown, where: string, name: string): number => checkNumber(v, where, name, { finite: true });

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear, conv and
 * sigmoid; 5/3 for tanh; √2 for relu; √(2 / (1 + slope²)) for leaky_relu (slope default 0.01);
 * 3/4 for selu.
 * @example nn.init.calculateGain('leaky_relu', 0.2) // 1.3867504905630728
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ArgumentError(`calculateGain: negative slope ${describe(param)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default:
      throw new ArgumentError(`calculateGain: unsupported nonlinearity ${describe(nonlinearity)} (expected one of 'linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu')`);
  }
}

/**
 * [fanIn, fanOut] of a weight, as torch.nn.init._calculate_fan_in_and_fan_out: needs at least 2
 * dimensions; fanIn = size(1) · Π size(2:), fanOut = size(0) · Π size(2:).
 * @example nn.init.calculateFans(zeros([64, 3, 3, 3])) // [27, 576]
 */
export function calculateFans(t: Tensor, where = 'calculateFans'): [number, number] {
  if (t.ndim < 2) throw new ShapeError(`${where}: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape ${shapeStr(t.shape)})`);
  let receptive = 1;
  for (let i = 2; i < t.ndim; i++) receptive *= t.shape[i];
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fanFor(t: Tensor, mode: unknown, where: string): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new ArgumentError(`${where}: expected mode 'fanIn' or 'fanOut', received ${describe(mode)}`);
  const [fi, fo] = calculateFans(t, where);
  return mode === 'fanIn' ? fi : fo;
}

/** Fills with U[a, b). @example nn.init.uniform(w, -0.1, 0.1) */
export function uniform(t: Tensor, a = 0, b = 1): Tensor {
  const x = target(t, 'uniform');
  num(a, 'uniform', 'a'); num(b, 'uniform', 'b');
  if (b < a) throw new ArgumentError(`uniform: expected a <= b, received a = ${a}, b = ${b}`);
  noGrad(() => uniformInPlace(x, a, b));
  return x;
}
/** Fills with N(mean, std²). @example nn.init.normal(w, 0, 0.02) */
export function normal(t: Tensor, mean = 0, std = 1): Tensor {
  const x = target(t, 'normal');
  num(mean, 'normal', 'mean');
  checkNumber(std, 'normal', 'std', { min: 0, finite: true });
  noGrad(() => normalInPlace(x, mean, std));
  return x;
}
/** Fills with `value`. @example nn.init.constant(b, 0.1) */
export function constant(t: Tensor, value: number): Tensor {
  const x = target(t, 'constant');
  if (typeof value !== 'number') throw new ArgumentError(`constant: expected value to be a number, received ${describe(value)}`);
  x.fill_(value);
  return x;
}
/** Fills with 0. @example nn.init.zeros(layer.bias!) */
export function zeros(t: Tensor): Tensor { return constant(target(t, 'zeros'), 0); }
/** Fills with 1. @example nn.init.ones(bn.weight!) */
export function ones(t: Tensor): Tensor { return constant(target(t, 'ones'), 1); }

/**
 * Fills with N(mean, std²) truncated to [a, b] (absolute bounds, as torch.nn.init.trunc_normal_),
 * by redrawing the values that fall outside (float64 on the host).
 * @example nn.init.truncNormal(w, { std: 0.02, a: -0.04, b: 0.04 })
 */
export function truncNormal(t: Tensor, options: { mean?: number; std?: number; a?: number; b?: number } = {}): Tensor {
  options = checkOptions<typeof options>(options, 'truncNormal', ['mean', 'std', 'a', 'b']);
  const x = target(t, 'truncNormal');
  const mean = num(options.mean ?? 0, 'truncNormal', 'mean');
  const std = checkNumber(options.std ?? 1, 'truncNormal', 'std', { min: 0, finite: true });
  const a = options.a ?? -2, b = options.b ?? 2;
  if (!(a < b)) throw new ArgumentError(`truncNormal: expected a < b, received a = ${a}, b = ${b}`);
  // Standardised bounds; rejection needs a reasonable acceptance probability.
  const lo = std > 0 ? (a - mean) / std : -Infinity, hi = std > 0 ? (b - mean) / std : Infinity;
  if (std > 0 && (hi < -5 || lo > 5 || hi - lo < 0.05)) throw new ArgumentError(`truncNormal: the interval [${a}, ${b}] is too far from N(${mean}, ${std}²) to sample by rejection`);
  noGrad(() => {
    const n = x.size;
    const out = new Float64Array(n);
    let pending: number[] = Array.from({ length: n }, (_, i) => i);
    for (let round = 0; pending.length && round < 1000; round++) {
      const draw = randn([pending.length], { dtype: 'float64', device: 'cpu' });
      const z = draw.data() as Float64Array;
      draw.dispose();
      const next: number[] = [];
      pending.forEach((idx, k) => {
        if (z[k] >= lo && z[k] <= hi) out[idx] = mean + std * z[k];
        else next.push(idx);
      });
      pending = next;
    }
    copyFromHost(x, out);
  });
  return x;
}

/**
 * Glorot / Xavier uniform: U(−a, a) with a = gain · √(6 / (fanIn + fanOut)) (Glorot & Bengio 2010).
 * @example nn.init.xavierUniform(layer.weight, { gain: nn.init.calculateGain('tanh') })
 */
export function xavierUniform(t: Tensor, options: { gain?: number } = {}): Tensor {
  options = checkOptions<typeof options>(options, 'xavierUniform', ['gain']);
  const x = target(t, 'xavierUniform');
  const gain = num(options.gain ?? 1, 'xavierUniform', 'gain');
  const [fi, fo] = calculateFans(x, 'xavierUniform');
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fi + fo));
  return uniform(x, -a, a);
}
/** Glorot / Xavier normal: N(0, std²), std = gain · √(2 / (fanIn + fanOut)). @example nn.init.xavierNormal(w) */
export function xavierNormal(t: Tensor, options: { gain?: number } = {}): Tensor {
  options = checkOptions<typeof options>(options, 'xavierNormal', ['gain']);
  const x = target(t, 'xavierNormal');
  const gain = num(options.gain ?? 1, 'xavierNormal', 'gain');
  const [fi, fo] = calculateFans(x, 'xavierNormal');
  return normal(x, 0, gain * Math.sqrt(2 / (fi + fo)));
}

export interface KaimingOptions { a?: number; mode?: FanMode; nonlinearity?: Nonlinearity }
/**
 * He / Kaiming uniform: U(−b, b), b = gain · √(3 / fan) (He et al. 2015), defaults as PyTorch
 * (a = 0, mode 'fanIn', nonlinearity 'leaky_relu').
 * @example nn.init.kaimingUniform(w, { nonlinearity: 'relu' })
 */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  options = checkOptions<typeof options>(options, 'kaimingUniform', ['a', 'mode', 'nonlinearity']);
  const x = target(t, 'kaimingUniform');
  const fan = fanFor(x, options.mode ?? 'fanIn', 'kaimingUniform');
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  const bound = Math.sqrt(3) * gain / Math.sqrt(fan);
  return uniform(x, -bound, bound);
}
/** He / Kaiming normal: N(0, std²), std = gain / √fan. @example nn.init.kaimingNormal(w, { mode: 'fanOut', nonlinearity: 'relu' }) */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  options = checkOptions<typeof options>(options, 'kaimingNormal', ['a', 'mode', 'nonlinearity']);
  const x = target(t, 'kaimingNormal');
  const fan = fanFor(x, options.mode ?? 'fanIn', 'kaimingNormal');
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return normal(x, 0, gain / Math.sqrt(fan));
}

export interface VarianceScalingOptions {
  scale?: number;
  mode?: 'fanIn' | 'fanOut' | 'fanAvg';
  distribution?: 'truncatedNormal' | 'normal' | 'uniform';
}
/**
 * Keras' VarianceScaling: with n = fanIn, fanOut or their mean, 'truncatedNormal' draws
 * N(0, std²) truncated at ±2 std with std = √(scale / n) / 0.87962566103423978 (the constant
 * restores the variance lost to truncation), 'normal' uses std = √(scale / n), 'uniform'
 * U(−l, l) with l = √(3 · scale / n). Defaults: scale 1, 'fanIn', 'truncatedNormal'.
 * @example nn.init.varianceScaling(w, { scale: 2, mode: 'fanIn', distribution: 'truncatedNormal' })
 */
export function varianceScaling(t: Tensor, options: VarianceScalingOptions = {}): Tensor {
  options = checkOptions<typeof options>(options, 'varianceScaling', ['scale', 'mode', 'distribution']);
  const x = target(t, 'varianceScaling');
  const scale = checkNumber(options.scale ?? 1, 'varianceScaling', 'scale', { min: 0, minExclusive: true, finite: true });
  const mode = options.mode ?? 'fanIn', distribution = options.distribution ?? 'truncatedNormal';
  if (mode !== 'fanIn' && mode !== 'fanOut' && mode !== 'fanAvg') throw new ArgumentError(`varianceScaling: expected mode 'fanIn', 'fanOut' or 'fanAvg', received ${describe(mode)}`);
  const [fi, fo] = calculateFans(x, 'varianceScaling');
  const n = Math.max(1, mode === 'fanIn' ? fi : mode === 'fanOut' ? fo : (fi + fo) / 2);
  switch (distribution) {
    case 'truncatedNormal': {
      const std = Math.sqrt(scale / n) / 0.87962566103423978;
      return truncNormal(x, { mean: 0, std, a: -2 * std, b: 2 * std });
    }
    case 'normal': return normal(x, 0, Math.sqrt(scale / n));
    case 'uniform': { const l = Math.sqrt(3 * scale / n); return uniform(x, -l, l); }
    default: throw new ArgumentError(`varianceScaling: expected distribution 'truncatedNormal', 'normal' or 'uniform', received ${describe(distribution)}`);
  }
}
/** LeCun uniform (Keras): U(−l, l), l = √(3 / fanIn). @example nn.init.lecunUniform(w) */
export function lecunUniform(t: Tensor): Tensor {
  return varianceScaling(target(t, 'lecunUniform'), { scale: 1, mode: 'fanIn', distribution: 'uniform' });
}
/** LeCun normal (Keras, for SELU nets): truncated normal with std √(1 / fanIn) before truncation. @example nn.init.lecunNormal(w) */
export function lecunNormal(t: Tensor): Tensor {
  return varianceScaling(target(t, 'lecunNormal'), { scale: 1, mode: 'fanIn', distribution: 'truncatedNormal' });
}

/**
 * A (semi-)orthogonal matrix, as torch.nn.init.orthogonal_ (Saxe et al. 2013): the tensor viewed
 * as [rows, cols] with rows = size(0) gets Q from the QR decomposition of a standard normal
 * matrix (transposed first when rows < cols), signs corrected so that R has a positive diagonal,
 * times `gain`. QR is modified Gram–Schmidt with re-orthogonalisation, in float64 on the host.
 * @example nn.init.orthogonal(w); // w wᵀ ≈ I (rows <= cols) or wᵀ w ≈ I
 */
export function orthogonal(t: Tensor, options: { gain?: number } = {}): Tensor {
  options = checkOptions<typeof options>(options, 'orthogonal', ['gain']);
  const x = target(t, 'orthogonal');
  const gain = num(options.gain ?? 1, 'orthogonal', 'gain');
  if (x.ndim < 2) throw new ShapeError(`orthogonal: only tensors with 2 or more dimensions are supported, received shape ${shapeStr(x.shape)}`);
  if (x.size === 0) return x;
  const rows = x.shape[0], cols = x.size / rows;
  noGrad(() => {
    const draw = randn([rows * cols], { dtype: 'float64', device: 'cpu' });
    const z = draw.data() as Float64Array;
    draw.dispose();
    // A is m×n with m >= n (column-major columns in `cols_`): the transposed draw when rows < cols.
    const tall = rows >= cols;
    const m = tall ? rows : cols, n = tall ? cols : rows;
    const colsV: Float64Array[] = Array.from({ length: n }, (_, j) => {
      const v = new Float64Array(m);
      for (let i = 0; i < m; i++) v[i] = tall ? z[i * cols + j] : z[j * cols + i];
      return v;
    });
    for (let j = 0; j < n; j++) {
      const v = colsV[j];
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          const q = colsV[k];
          let dot = 0;
          for (let i = 0; i < m; i++) dot += q[i] * v[i];
          for (let i = 0; i < m; i++) v[i] -= dot * q[i];
        }
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i] * v[i];
      norm = Math.sqrt(norm);
      // Gram–Schmidt yields R with a positive diagonal, which is exactly Q · sign(diag R) of a
      // Householder QR, as PyTorch's sign correction.
      for (let i = 0; i < m; i++) v[i] = norm > 0 ? v[i] / norm : 0;
    }
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (tall ? colsV[c][r] : colsV[r][c]);
    copyFromHost(x, out);
  });
  return x;
}
