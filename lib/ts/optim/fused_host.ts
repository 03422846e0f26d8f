/**
 * fused_host.ts — the host half of the fused optimizer step: turns an optimizer's options and
 * its step count into the `h` scalars and `flags` that `binding.optimStep` expects.
 *
 * What it is: pure functions, no tensors, no native calls. The per-element update runs natively
 * (native/cpu/optim.cc, and the CUDA version built from it); everything that depends only on the
 * step — bias corrections, decayed learning rates, NAdam's momentum products — is computed here
 * once per step in float64, as PyTorch computes it in Python (torch/optim/*.py). What it is not:
 * validation (the optimizer classes in lib/ts/optim validate options, as `torch.optim.Adam.__init__`
 * does) or state allocation (the classes allocate and zero the state tensors; Adagrad fills its
 * accumulator with `initialAccumulatorValue`).
 *
 * The `h[]` layout of each kind and the meaning of each flag are documented once, on `OptimArgs`
 * in native/core/backend.h; the functions below cite the index they fill. `step` is 1-based: the
 * number of the step being taken (PyTorch's `state['step']` after its increment).
 *
 * @example
 * ```ts
 * const s = adamHost({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false }, 1);
 * binding.optimStep(s.kind, dtype, params, grads, expAvgs, expAvgSqs, null, sizes, s.h, s.flags);
 * ```
 */

/** Optimizer kinds, as `OptimKind` in native/core/backend.h. */
export const OptimKind = { sgd: 0, adam: 1, adagrad: 2, rmsprop: 3, adamax: 4, nadam: 5 } as const;
export type OptimKindCode = (typeof OptimKind)[keyof typeof OptimKind];

/** Flag bits, as `OptimFlag` in native/core/backend.h. */
export const OptimFlag = {
  nesterov: 1, // sgd
  firstStep: 2, // sgd: the momentum buffer is created from this gradient (no dampening)
  amsgrad: 4, // adam
  decoupled: 8, // adam: AdamW's decoupled weight decay
  centered: 16, // rmsprop
} as const;

/** What one fused call needs besides the tensors. `h` has 16 entries; unused ones are 0. */
export interface FusedStep {
  kind: OptimKindCode;
  h: Float64Array;
  flags: number;
}

/** A fresh or reused 16-scalar buffer, zeroed. */
function scalars(out?: Float64Array): Float64Array {
  if (!out) return new Float64Array(16);
  if (out.length < 16) throw new RangeError(`fused optimizer scalars: expected a Float64Array of 16, received length ${out.length}`);
  out.fill(0);
  return out;
}

export interface SgdHostOptions { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

/**
 * SGD (torch/optim/sgd.py). `firstStep`: the momentum buffers do not exist yet, so the kernel sets
 * buf = d_p without dampening, as PyTorch's `torch.clone(d_p)`. h = [lr, momentum, dampening, weightDecay].
 */
export function sgdHost(o: SgdHostOptions, firstStep: boolean, out?: Float64Array): FusedStep {
  const h = scalars(out);
  h[0] = o.lr;
  h[1] = o.momentum;
  h[2] = o.dampening;
  h[3] = o.weightDecay;
  const flags = (o.nesterov ? OptimFlag.nesterov : 0) | (firstStep ? OptimFlag.firstStep : 0);
  return { kind: OptimKind.sgd, h, flags };
}

export interface AdamHostOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /** AdamW: weight decay applied to the parameter (p ·= 1 − lr·wd), not added to the gradient. */
  decoupled: boolean;
}

/**
 * Adam and AdamW (torch/optim/adam.py, adamw.py; Kingma & Ba 2014, Algorithm 1; Loshchilov &
 * Hutter 2017). h = [lr, beta1, beta2, eps, weightDecay, stepSize = lr/(1 − beta1^t),
 * biasCorrection2Sqrt = sqrt(1 − beta2^t)].
 */
export function adamHost(o: AdamHostOptions, step: number, out?: Float64Array): FusedStep {
  const h = scalars(out);
  const [beta1, beta2] = o.betas;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  h[0] = o.lr;
  h[1] = beta1;
  h[2] = beta2;
  h[3] = o.eps;
  h[4] = o.weightDecay;
  h[5] = o.lr / biasCorrection1;
  h[6] = Math.sqrt(biasCorrection2);
  const flags = (o.amsgrad ? OptimFlag.amsgrad : 0) | (o.decoupled ? OptimFlag.decoupled : 0);
  return { kind: OptimKind.adam, h, flags };
}

export interface AdagradHostOptions { lr: number; lrDecay: number; weightDecay: number; eps: number }

/**
 * Adagrad (torch/optim/adagrad.py; Duchi, Hazan & Singer 2011). h = [clr = lr/(1 + (t − 1)·lrDecay),
 * weightDecay, eps]. The accumulator's initial value is the caller's fill, not a scalar here.
 */
export function adagradHost(o: AdagradHostOptions, step: number, out?: Float64Array): FusedStep {
  const h = scalars(out);
  h[0] = o.lr / (1 + (step - 1) * o.lrDecay);
  h[1] = o.weightDecay;
  h[2] = o.eps;
  return { kind: OptimKind.adagrad, h, flags: 0 };
}

export interface RmspropHostOptions { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean }

/**
 * RMSprop (torch/optim/rmsprop.py; Hinton, Coursera lecture 6e; centred: Graves 2013, eq. 38).
 * Nothing depends on the step. h = [lr, alpha, eps, weightDecay, momentum].
 */
export function rmspropHost(o: RmspropHostOptions, out?: Float64Array): FusedStep {
  const h = scalars(out);
  h[0] = o.lr;
  h[1] = o.alpha;
  h[2] = o.eps;
  h[3] = o.weightDecay;
  h[4] = o.momentum;
  return { kind: OptimKind.rmsprop, h, flags: o.centered ? OptimFlag.centered : 0 };
}

export interface AdamaxHostOptions { lr: number; betas: readonly [number, number]; eps: number; weightDecay: number }

/**
 * Adamax (torch/optim/adamax.py; Kingma & Ba 2014, Algorithm 2). h = [lr, beta1, beta2, eps,
 * weightDecay, clr = lr/(1 − beta1^t)].
 */
export function adamaxHost(o: AdamaxHostOptions, step: number, out?: Float64Array): FusedStep {
  const h = scalars(out);
  h[0] = o.lr;
  h[1] = o.betas[0];
  h[2] = o.betas[1];
  h[3] = o.eps;
  h[4] = o.weightDecay;
  h[5] = o.lr / (1 - o.betas[0] ** step);
  return { kind: OptimKind.adamax, h, flags: 0 };
}

export interface NadamHostOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  /** ψ in Dozat 2016; PyTorch's default 4e-3. */
  momentumDecay: number;
}

/**
 * NAdam (torch/optim/nadam.py as of PyTorch 2.0, which fixed 1.13's doubled μ in
 * mu_product_next, pytorch/pytorch#92699; Dozat 2016, "Incorporating Nesterov Momentum into Adam").
 * μ_t = beta1·(1 − 0.5·0.96^(t·ψ)). `muProduct` is Π_{i<t} μ_i held by the optimizer state
 * (1 before the first step); the returned `muProduct` (Π_{i≤t} μ_i) is to be stored back.
 * h = [lr, beta1, beta2, eps, weightDecay, biasCorrection2 = 1 − beta2^t,
 *      lr·(1 − μ_t)/(1 − Π_{i≤t} μ_i), lr·μ_{t+1}/(1 − Π_{i≤t} μ_i · μ_{t+1})].
 */
export function nadamHost(o: NadamHostOptions, step: number, muProduct: number, out?: Float64Array): FusedStep & { muProduct: number } {
  const h = scalars(out);
  const [beta1, beta2] = o.betas;
  const mu = beta1 * (1 - 0.5 * 0.96 ** (step * o.momentumDecay));
  const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * o.momentumDecay));
  const product = muProduct * mu;
  h[0] = o.lr;
  h[1] = beta1;
  h[2] = beta2;
  h[3] = o.eps;
  h[4] = o.weightDecay;
  h[5] = 1 - beta2 ** step;
  h[6] = (o.lr * (1 - mu)) / (1 - product);
  h[7] = (o.lr * muNext) / (1 - product * muNext);
  return { kind: OptimKind.nadam, h, flags: 0, muProduct: product };
}

/**
 * Which state tensors (bit s = state s) a fused step reads and writes; the TypeScript twin of
 * `optim_states_used` in native/core/backend.h. Pass `null` for the others.
 */
export function statesUsed(s: FusedStep): number {
  switch (s.kind) {
    case OptimKind.sgd: return s.h[1] !== 0 ? 1 : 0;
    case OptimKind.adam: return s.flags & OptimFlag.amsgrad ? 7 : 3;
    case OptimKind.adagrad: return 1;
    case OptimKind.rmsprop: return 1 | (s.h[4] > 0 ? 2 : 0) | (s.flags & OptimFlag.centered ? 4 : 0);
    case OptimKind.adamax: return 3;
    case OptimKind.nadam: return 3;
  }
}
