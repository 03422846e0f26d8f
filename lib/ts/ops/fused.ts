/**
 * fused.ts — the fused training ops behind layers: batch normalisation (one native call forward,
 * one backward: native/cpu/batchnorm.cc, native/cuda/batchnorm.cu) and inverted dropout (one
 * uniform draw, one native functor). Their composed references live in lib/ts/nn/functional.ts
 * and the tests hold the two together (DESIGN principle 3).
 */
import { Tensor } from '../core/tensor.js';
import { batchnormBackward, batchnormForward, binary, contiguousRaw, fill, hasFusedBatchNorm, unaryInto } from '../core/kernels.js';
import { defineOp, needsInputGrad, runOp, runOp1, type Op } from './door.js';
import { rand } from './creation.js';
import { add, mul, rsqrt, square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';
import { isGradEnabled } from '../autograd/graph.js';

/** The state and options of a batch norm call (the tensors of a BatchNorm layer). */
export interface BatchNormState {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  training: boolean;
  /** null: cumulative moving average (1 / numBatchesTracked), as PyTorch's momentum=None. */
  momentum: number | null;
  eps: number;
  numBatchesTracked: Tensor | null;
}

const BATCH_NORM = defineOp<BatchNormState>({
  name: 'batchNorm', args: [{ name: 'input' }, { name: 'weight', optional: true }, { name: 'bias', optional: true }], dtype: 'floatOnly',
  autocast: 'float32',
  forward: (c) => {
    const [x, weight, bias] = c.args as [Tensor, Tensor | null, Tensor | null];
    const a = c.params;
    const useBatch = a.training || !a.runningMean || !a.runningVar;
    const n = x.shape[0], ch = x.shape[1], l = x.ndim === 3 ? x.shape[2] : 1;
    const xc = contiguousRaw(x);
    const y = Tensor.empty(x.shape.slice(), x.dtype, x.device);
    const saveMean = useBatch ? Tensor.empty([ch], x.dtype, x.device) : null;
    const saveInvstd = useBatch ? Tensor.empty([ch], x.dtype, x.device) : null;
    let factor = a.momentum ?? 0;
    if (a.training && a.numBatchesTracked) {
      unaryInto('add_scalar', a.numBatchesTracked, a.numBatchesTracked, 1);
      if (a.momentum === null) factor = 1 / a.numBatchesTracked.item();
    }
    const track = a.training && a.runningMean && a.runningVar;
    if (x.size) {
      batchnormForward(xc, n, ch, l, a.eps, factor, useBatch, y, weight, bias,
        track || !useBatch ? a.runningMean : null, track || !useBatch ? a.runningVar : null, saveMean, saveInvstd);
    }
    if (c.recording) c.save(xc, ...(saveMean ? [saveMean, saveInvstd!] : []));
    return y;
  },
  backward: (g, c) => {
    const [x, weight, bias] = c.inputs as [Tensor, Tensor | null, Tensor | null];
    const a = c.params;
    const useBatch = a.training || !a.runningMean || !a.runningVar;
    if (isGradEnabled()) return batchNormGradRecorded(g, c.inputs as [Tensor, Tensor | null, Tensor | null], a, useBatch, [0, 1, 2].map((i) => needsInputGrad(c, i)));
    const [xc, saveMean = null, saveInvstd = null] = c.saved;
    const n = x.shape[0], ch = x.shape[1], l = x.ndim === 3 ? x.shape[2] : 1;
    const dx = needsInputGrad(c, 0) ? Tensor.empty(x.shape.slice(), xc.dtype, x.device) : null;
    const dw = weight && needsInputGrad(c, 1) ? Tensor.empty([ch], xc.dtype, x.device) : null;
    const db = bias && needsInputGrad(c, 2) ? Tensor.empty([ch], xc.dtype, x.device) : null;
    if (x.size) {
      batchnormBackward(xc, contiguousRaw(g), n, ch, l, a.eps, useBatch, weight, saveMean, saveInvstd,
        useBatch ? null : a.runningMean, useBatch ? null : a.runningVar, dx, dw, db);
    } else {
      for (const t of [dw, db]) if (t) fill(t, 0);
    }
    return [dx, dw, db];
  },
});

/**
 * The batch norm gradients as a recorded computation, for a backward that creates a graph (double
 * backward): the analytic gradient written in differentiable ops of x, weight and g. Training
 * (batch statistics, M = N·L values per channel, x̂ = (x − μ)·σ⁻¹, σ⁻¹ = 1/√(var + ε)):
 *   dx = σ⁻¹ · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)),  dx̂ = g · w;
 * eval (running statistics, constants): dx = g · w · σ⁻¹. In both, dw = Σ g · x̂ and db = Σ g over
 * the batch (and length) dims. The fused kernel stays the first-order path.
 */
function batchNormGradRecorded(g: Tensor, [x, weight, bias]: [Tensor, Tensor | null, Tensor | null], a: BatchNormState, useBatch: boolean, wanted: boolean[]): (Tensor | null)[] {
  const c = x.shape[1];
  const cs = x.ndim === 3 ? [1, c, 1] : [1, c];
  const dims = x.ndim === 3 ? [0, 2] : [0];
  let xhat: Tensor, rstd: Tensor;
  if (useBatch) {
    const xc = sub(x, mean(x, dims, { keepDim: true }));
    rstd = rsqrt(add(mean(square(xc), dims, { keepDim: true }), a.eps));
    xhat = mul(xc, rstd);
  } else {
    rstd = reshape(rsqrt(add(a.runningVar!, a.eps)), cs);
    xhat = mul(sub(x, reshape(a.runningMean!, cs)), rstd);
  }
  const dxhat = weight ? mul(g, reshape(weight, cs)) : g;
  const dx = !wanted[0] ? null : useBatch
    ? mul(rstd, sub(sub(dxhat, mean(dxhat, dims, { keepDim: true })), mul(xhat, mean(mul(dxhat, xhat), dims, { keepDim: true }))))
    : mul(dxhat, rstd);
  const dw = weight && wanted[1] ? reshape(sum(mul(g, xhat), dims), [c]) : null;
  const db = bias && wanted[2] ? reshape(sum(g, dims), [c]) : null;
  return [dx, dw, db];
}

/**
 * True when `batchNorm` can run the fused kernels for these arguments: [N, C] or [N, C, L] input,
 * and every tensor of one floating dtype (the kernels read them all in the input's dtype).
 */
export function canFuseBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, s: BatchNormState): boolean {
  // (float32 and float64: the kernels update the running statistics in place, in their dtype.)
  if (!hasFusedBatchNorm() || (x.ndim !== 2 && x.ndim !== 3) || (x.dtype !== 'float32' && x.dtype !== 'float64')) return false;
  for (const t of [weight, bias, s.runningMean, s.runningVar]) if (t && t.dtype !== x.dtype) return false;
  return true;
}

/**
 * Fused batch normalisation over the channel dim 1 of x [N, C] or [N, C, L] (Ioffe & Szegedy
 * 2015): training normalises with the batch mean and biased variance and updates the running
 * statistics with the unbiased one (momentum, or 1/numBatchesTracked when momentum is null); eval
 * uses the running statistics. One graph node; its backward is one native call (dx, dweight, dbias).
 * Check `canFuseBatchNorm` first; `nn.functional.batchNorm` picks this or the composed reference.
 * @example batchNormFused(x, weight, bias, { runningMean, runningVar, training: true, momentum: 0.1, eps: 1e-5, numBatchesTracked: null })
 */
export function batchNormFused(x: Tensor, weight: Tensor | null, bias: Tensor | null, state: BatchNormState): Tensor {
  return runOp(BATCH_NORM, [x, weight, bias], state);
}

interface DropoutParams { p: number; scale: number }
// One uniform draw per element, then one functor that keeps (and scales by 1/(1 − p)) the elements
// whose draw is ≥ p. The backward applies the same functor, with the saved draws, to the gradient:
// the mask op below, linear in its input, hence its own gradient.
const DROPOUT_MASK: Op<DropoutParams> = defineOp<DropoutParams>({
  name: 'dropoutMask', args: [{ name: 'input' }, { name: 'draws', noGrad: true }], dtype: 'float',
  forward: (c) => binary('dropout_apply', c.args[0] as Tensor, c.args[1] as Tensor, c.params.p, c.params.scale, c.dtype),
  backward: (g, c) => [runOp(DROPOUT_MASK, [g, c.inputs[1]], c.params)],
});
const DROPOUT = defineOp<DropoutParams>({
  name: 'dropout', args: [{ name: 'input' }], dtype: 'float',
  forward: (c) => {
    const x = c.args[0] as Tensor, { p, scale } = c.params;
    const u = rand(x.shape, { dtype: x.dtype === 'float64' ? 'float64' : 'float32', device: x.device });
    if (c.recording) c.save(u);
    return binary('dropout_apply', x, u, p, scale, c.dtype);
  },
  backward: (g, c) => [runOp(DROPOUT_MASK, [g, c.saved[0]], c.params)],
});

/**
 * Inverted dropout (Srivastava et al. 2014) for 0 < p < 1: each element is zeroed with probability
 * p and the rest scaled by 1 / (1 − p). Masks come from the seeded generator (`manualSeed` repeats them).
 * @example dropoutFused(x, 0.2)
 */
export function dropoutFused(x: Tensor, p: number): Tensor {
  return runOp1(DROPOUT, x, { p, scale: 1 / (1 - p) });
}
