/**
 * functional.ts — the computations behind the layers that are more than one op: batch norm,
 * layer norm, dropout, alpha dropout, RReLU and PReLU, composed from public tensor ops (their
 * gradients come from autograd). These composed forms are the references: a fused native kernel
 * (`native.batchnormForward` / `batchnormBackward`, DESIGN principle 3) plugs in at
 * `batchNorm` and must match `batchNormReference`.
 */
import { noGrad } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { batchNormFused, canFuseBatchNorm, composite, dropoutFused, leakyRelu, rand, where } from '../ops/index.js';
import { autocastFloat32 } from '../ops/door.js';
import { Tensor, tidy } from '../tensor.js';

/** Batch-norm state and options (the tensors of a BatchNorm1d). */
export interface BatchNormArgs {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  training: boolean;
  /** null: cumulative moving average (1 / numBatchesTracked), as PyTorch's momentum=None. */
  momentum: number | null;
  eps: number;
  numBatchesTracked: Tensor | null;
}

/** Shape [1, C, 1, …] for a per-channel vector against an input of rank `rank` (channel dim 1). */
function channelShape(c: number, rank: number): number[] {
  return rank <= 2 ? [c] : [1, c, ...new Array<number>(rank - 2).fill(1)];
}

/**
 * Batch normalisation over the channel dim 1 of [N, C] or [N, C, L] (Ioffe & Szegedy 2015).
 * Training: normalise with the batch mean and the biased variance (the variance of the batch
 * itself, as the paper), and update the running variance with the unbiased one (an estimate of
 * the population's), as PyTorch. Eval: the running statistics.
 * @example const y = nn.functional.batchNorm(x, { runningMean, runningVar, weight, bias, training: true, momentum: 0.1, eps: 1e-5, numBatchesTracked: null });
 */
export function batchNorm(x: Tensor, args: BatchNormArgs): Tensor {
  x = autocastFloat32(x);  // statistics in float32 under amp.autocast
  // The fused native kernels for [N, C] and [N, C, L] of one dtype; the composed reference for
  // other ranks (and as their oracle in the tests).
  if (fusedBatchNormEnabled && canFuseBatchNorm(x, args.weight, args.bias, args)) return batchNormFused(x, args.weight, args.bias, args);
  return batchNormReference(x, args);
}

let fusedBatchNormEnabled = true;
/** @internal Tests and benchmarks: run the composed reference instead of the fused kernels. */
export function setFusedBatchNorm(on: boolean): void {
  fusedBatchNormEnabled = on;
}

/** The composed batch norm (the reference for the fused kernel). */
export function batchNormReference(x: Tensor, a: BatchNormArgs): Tensor {
  return composite(() => {
    const dims = x.ndim === 2 ? [0] : [0, 2];
    const c = x.shape[1];
    const cs = channelShape(c, x.ndim);
    const useBatch = a.training || !a.runningMean || !a.runningVar;
    let mean: Tensor, varB: Tensor;
    if (useBatch) {
      mean = x.mean(dims, { keepDim: true });
      varB = x.variance(dims, { unbiased: false, keepDim: true });
      if (a.training && a.runningMean && a.runningVar) {
        const n = x.size / c;
        noGrad(() => tidy(() => {
          if (a.numBatchesTracked) a.numBatchesTracked.copy_(a.numBatchesTracked.add(1));
          const factor = a.momentum === null ? 1 / (a.numBatchesTracked ? a.numBatchesTracked.item() : 1) : a.momentum;
          const m = mean.detach().reshape([c]);
          const vUnbiased = varB.detach().reshape([c]).mul(n / Math.max(n - 1, 1));
          a.runningMean!.copy_(a.runningMean!.mul(1 - factor).add(m.mul(factor)));
          a.runningVar!.copy_(a.runningVar!.mul(1 - factor).add(vUnbiased.mul(factor)));
        }));
      } else if (a.training && a.numBatchesTracked) {
        noGrad(() => tidy(() => { a.numBatchesTracked!.copy_(a.numBatchesTracked!.add(1)); }));
      }
    } else {
      mean = a.runningMean!.reshape(cs);
      varB = a.runningVar!.reshape(cs);
    }
    let y = x.sub(mean).div(varB.add(a.eps).sqrt());
    if (a.weight) y = y.mul(a.weight.reshape(cs));
    if (a.bias) y = y.add(a.bias.reshape(cs));
    return y;
  });
}

/**
 * Layer normalisation over the trailing `normalizedShape` dims (Ba et al. 2016), biased variance.
 * @example nn.functional.layerNorm(x, [8], weight, bias, 1e-5)
 */
export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  return composite(() => {
    x = autocastFloat32(x);  // float32 under amp.autocast, as PyTorch's layer_norm
    const k = normalizedShape.length;
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const mean = x.mean(dims, { keepDim: true });
    const v = x.variance(dims, { unbiased: false, keepDim: true });
    let y = x.sub(mean).div(v.add(eps).sqrt());
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
}

function checkP(p: number, where: string): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ArgumentError(`${where}: expected p to be a probability in [0, 1], received ${p}`);
}

/**
 * Inverted dropout (Srivastava et al. 2014): in training each element is zeroed with probability
 * p and the rest scaled by 1 / (1 − p); identity when not training. Masks come from the seeded
 * generator (`manualSeed` repeats them).
 * @example nn.functional.dropout(x, 0.5, true)
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  checkP(p, 'dropout');
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  return dropoutFused(x, p);
}

/** SELU's α (Klambauer et al. 2017). */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * Alpha dropout (Klambauer et al. 2017), as PyTorch's alpha_dropout: dropped elements are set to
 * SELU's negative saturation α' = −scale·α, then an affine map a·x + b restores zero mean and unit
 * variance: a = 1 / √((α'² p + 1)(1 − p)), out = a · (mask · x + (1 − mask) α') with
 * b folded in as PyTorch computes it: out = x · mask · a + (mask − 1) · α' · a + α' · a · p
 * (with α' taken positive). Identity when not training.
 * @example nn.functional.alphaDropout(x, 0.1, true)
 */
export function alphaDropout(x: Tensor, p = 0.5, training = true): Tensor {
  return composite(() => {
    checkP(p, 'alphaDropout');
    if (!training || p === 0) return x;
    if (p === 1) return x.mul(0);
    const alpha = SELU_ALPHA * SELU_SCALE; // 1.7580993408473766
    const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const [scale, shift] = noGrad(() => tidy(() => {
      const mask = rand(x.shape, { dtype: x.dtype === 'int32' ? 'float32' : x.dtype, device: x.device }).ge(p);
      const b = mask.sub(1).mul(alpha * a).add(alpha * a * p);
      return [mask.mul(a), b];
    }));
    return x.mul(scale).add(shift);
  });
}

/**
 * Randomised leaky ReLU (Xu et al. 2015): in training, negative (≤ 0) elements are multiplied by
 * a slope drawn from U(lower, upper) per element; in eval by (lower + upper) / 2.
 * @example nn.functional.rrelu(x, 1 / 8, 1 / 3, true)
 */
export function rrelu(x: Tensor, lower = 1 / 8, upper = 1 / 3, training = false): Tensor {
  return composite(() => {
    if (!training) return leakyRelu(x, (lower + upper) / 2);
    const noise = noGrad(() => tidy(() => {
      const r = rand(x.shape, { dtype: x.dtype, device: x.device }).mul(upper - lower).add(lower);
      return where(x.le(0), r, 1);
    }));
    return x.mul(noise);
  });
}

/**
 * Parametric ReLU (He et al. 2015): x where x > 0, else w·x, with w learnable, one per channel
 * (dim 1) or shared. Composed with `where`, so dL/dw = Σ g·x over x ≤ 0.
 * @example nn.functional.prelu(x, weight)
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  return composite(() => {
    const n = weight.size;
    let w = weight;
    if (n > 1) {
      if (x.ndim === 0) throw new ShapeError(`PReLU: expected an input with a channel dimension for ${n} parameters, received shape []`);
      const chDim = x.ndim === 1 ? 0 : 1;
      if (x.shape[chDim] !== n)
        throw new ShapeError(`PReLU: expected input with ${n} channels (dimension ${chDim}), received shape [${x.shape.join(', ')}]`);
      w = x.ndim <= 2 ? weight : weight.reshape(channelShape(n, x.ndim));
    }
    return where(x.gt(0), x, x.mul(w));
  });
}
