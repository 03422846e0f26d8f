/**
 * fused_host.ts — the host half of the fused optimizer step: turns an optimizer's options and
 * its step count into the named host scalars `h` and the `flags` that `binding.optimStep` expects,
 * and makes that one native call.
 *
 * What it is: pure functions that compute the scalars, and `runFusedStep`, the optimizers' only
 * door to the binding. The per-element update runs natively (native/cpu/optim.cc, and the CUDA
 * version built from it); everything that depends only on the step — bias corrections, decayed
 * learning rates, NAdam's momentum products — is computed here once per step in float64, as
 * PyTorch computes it in Python (torch/optim/*.py). What it is not: validation (the optimizer
 * classes in lib/ts/optim validate options, as `torch.optim.Adam.__init__` does) or state
 * allocation (the classes allocate and zero the state tensors; Adagrad fills its accumulator with
 * `initialAccumulatorValue`).
 *
 * The contract with native code — kinds, flags, each kind's named scalars and their slots in `h`,
 * each kind's state tensors — is declared once in native/core/backend.h (ENTRENA_OPTIM_KINDS,
 * OptimFlag, ENTRENA_OPTIM_SCALARS_<kind>, ENTRENA_OPTIM_STATES_<kind>), where the formulas are
 * documented on `OptimArgs`. The tables below mirror it with camelCase names, and
 * test/contracts.test.ts reads both files and fails on any difference. Scalars are written and
 * read by name (`writeScalars`, `readScalars`), never by position. `step` is 1-based: the number of
 * the step being taken (PyTorch's `state['step']` after its increment).
 *
 * @example
 * ```ts
 * const s = adamHost({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, decoupled: false }, 1);
 * readScalars(s.h, OPTIM_SCALAR.adam).stepSize; // 1e-3 / (1 − 0.9)
 * runFusedStep(s, params, [expAvgs, expAvgSqs, null]);
 * ```
 */
import { DTYPE_CODE, native } from '../native.js';
import type { Tensor } from '../tensor.js';

/** Optimizer kinds, as ENTRENA_OPTIM_KINDS in native/core/backend.h. */
export const OptimKind = { sgd: 0, adam: 1, adagrad: 2, rmsprop: 3, adamax: 4, nadam: 5 } as const;
export type OptimKindName = keyof typeof OptimKind;
export type OptimKindCode = (typeof OptimKind)[OptimKindName];

/** Flag bits, as `OptimFlag` in native/core/backend.h (kOptimFirstStep there is firstStep here). */
export const OptimFlag = {
  nesterov: 1, // sgd
  firstStep: 2, // sgd: the momentum buffer is created from this gradient (no dampening)
  amsgrad: 4, // adam
  decoupled: 8, // adam: AdamW's decoupled weight decay
  centered: 16, // rmsprop
} as const;

/** Length of `h`: kOptimScalarSlots in native/core/backend.h. */
export const OPTIM_SCALAR_SLOTS = 16;

/**
 * Each kind's host scalars by name: the slot of each in `h` (ENTRENA_OPTIM_SCALARS_<kind> in
 * native/core/backend.h, snake_case there). Their meaning is documented on `OptimArgs` there.
 */
export const OPTIM_SCALAR = {
  sgd: { lr: 0, momentum: 1, dampening: 2, weightDecay: 3 },
  adam: { lr: 0, beta1: 1, beta2: 2, eps: 3, weightDecay: 4, stepSize: 5, biasCorrection2Sqrt: 6 },
  adagrad: { clr: 0, weightDecay: 1, eps: 2 },
  rmsprop: { lr: 0, alpha: 1, eps: 2, weightDecay: 3, momentum: 4 },
  adamax: { lr: 0, beta1: 1, beta2: 2, eps: 3, weightDecay: 4, clr: 5 },
  nadam: { lr: 0, beta1: 1, beta2: 2, eps: 3, weightDecay: 4, biasCorrection2: 5, gradCoef: 6, expAvgCoef: 7 },
} as const satisfies Record<OptimKindName, Record<string, number>>;

/**
 * Each kind's state tensors: the optimizer's state key and its index k (state0..state2 of the
 * native call), as ENTRENA_OPTIM_STATES_<kind> in native/core/backend.h (PyTorch's snake_case
 * keys there). Which of them a step needs: `statesUsed`.
 */
export const OPTIM_STATE = {
  sgd: { momentumBuffer: 0 },
  adam: { expAvg: 0, expAvgSq: 1, maxExpAvgSq: 2 },
  adagrad: { sum: 0 },
  rmsprop: { squareAvg: 0, momentumBuffer: 1, gradAvg: 2 },
  adamax: { expAvg: 0, expInf: 1 },
  nadam: { expAvg: 0, expAvgSq: 1 },
} as const satisfies Record<OptimKindName, Record<string, 0 | 1 | 2>>;

/** The name of a kind code. */
export function kindName(kind: OptimKindCode): OptimKindName {
  return (Object.keys(OptimKind) as OptimKindName[]).find((k) => OptimKind[k] === kind)!;
}

/** The state key held in state0, state1 and state2 by `kind` (null where it has none). */
export function stateKeys(kind: OptimKindCode): [string | null, string | null, string | null] {
  const keys: [string | null, string | null, string | null] = [null, null, null];
  for (const [key, k] of Object.entries(OPTIM_STATE[kindName(kind)])) keys[k] = key;
  return keys;
}

/** What one fused call needs besides the tensors. `h` has OPTIM_SCALAR_SLOTS entries; unused ones are 0. */
export interface FusedStep {
  kind: OptimKindCode;
  h: Float64Array;
  flags: number;
}

type Layout = Readonly<Record<string, number>>;
/** One number for every name of a layout. */
export type ScalarValues<L extends Layout> = { [K in keyof L]: number };

/** Writes `values` into `h` by name, each at its slot in `layout` (every name must be given). */
export function writeScalars<L extends Layout>(h: Float64Array, layout: L, values: ScalarValues<L>): Float64Array {
  for (const name of Object.keys(layout)) h[layout[name]] = (values as Record<string, number>)[name];
  return h;
}

/** Reads every named scalar of `layout` from `h`. @example readScalars(s.h, OPTIM_SCALAR.adam).beta1 */
export function readScalars<L extends Layout>(h: Float64Array, layout: L): ScalarValues<L> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(layout)) out[name] = h[layout[name]];
  return out as ScalarValues<L>;
}

/** A fresh or reused scalar buffer, zeroed. */
function scalars(out?: Float64Array): Float64Array {
  if (!out) return new Float64Array(OPTIM_SCALAR_SLOTS);
  if (out.length < OPTIM_SCALAR_SLOTS) throw new RangeError(`fused optimizer scalars: expected a Float64Array of ${OPTIM_SCALAR_SLOTS}, received length ${out.length}`);
  out.fill(0);
  return out;
}

export interface SgdHostOptions { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

/**
 * SGD (torch/optim/sgd.py). `firstStep`: the momentum buffers do not exist yet, so the kernel sets
 * buf = d_p without dampening, as PyTorch's `torch.clone(d_p)`.
 */
export function sgdHost(o: SgdHostOptions, firstStep: boolean, out?: Float64Array): FusedStep {
  const h = writeScalars(scalars(out), OPTIM_SCALAR.sgd, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay });
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
 * Hutter 2017). stepSize = lr/(1 − beta1^t), biasCorrection2Sqrt = sqrt(1 − beta2^t).
 */
export function adamHost(o: AdamHostOptions, step: number, out?: Float64Array): FusedStep {
  const [beta1, beta2] = o.betas;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const h = writeScalars(scalars(out), OPTIM_SCALAR.adam, {
    lr: o.lr, beta1, beta2, eps: o.eps, weightDecay: o.weightDecay,
    stepSize: o.lr / biasCorrection1, biasCorrection2Sqrt: Math.sqrt(biasCorrection2),
  });
  const flags = (o.amsgrad ? OptimFlag.amsgrad : 0) | (o.decoupled ? OptimFlag.decoupled : 0);
  return { kind: OptimKind.adam, h, flags };
}

export interface AdagradHostOptions { lr: number; lrDecay: number; weightDecay: number; eps: number }

/**
 * Adagrad (torch/optim/adagrad.py; Duchi, Hazan & Singer 2011). clr = lr/(1 + (t − 1)·lrDecay).
 * The accumulator's initial value is the caller's fill, not a scalar here.
 */
export function adagradHost(o: AdagradHostOptions, step: number, out?: Float64Array): FusedStep {
  const h = writeScalars(scalars(out), OPTIM_SCALAR.adagrad, { clr: o.lr / (1 + (step - 1) * o.lrDecay), weightDecay: o.weightDecay, eps: o.eps });
  return { kind: OptimKind.adagrad, h, flags: 0 };
}

export interface RmspropHostOptions { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean }

/**
 * RMSprop (torch/optim/rmsprop.py; Hinton, Coursera lecture 6e; centred: Graves 2013, eq. 38).
 * Nothing depends on the step.
 */
export function rmspropHost(o: RmspropHostOptions, out?: Float64Array): FusedStep {
  const h = writeScalars(scalars(out), OPTIM_SCALAR.rmsprop, { lr: o.lr, alpha: o.alpha, eps: o.eps, weightDecay: o.weightDecay, momentum: o.momentum });
  return { kind: OptimKind.rmsprop, h, flags: o.centered ? OptimFlag.centered : 0 };
}

export interface AdamaxHostOptions { lr: number; betas: readonly [number, number]; eps: number; weightDecay: number }

/** Adamax (torch/optim/adamax.py; Kingma & Ba 2014, Algorithm 2). clr = lr/(1 − beta1^t). */
export function adamaxHost(o: AdamaxHostOptions, step: number, out?: Float64Array): FusedStep {
  const h = writeScalars(scalars(out), OPTIM_SCALAR.adamax, {
    lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, clr: o.lr / (1 - o.betas[0] ** step),
  });
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
 * biasCorrection2 = 1 − beta2^t, gradCoef = lr·(1 − μ_t)/(1 − Π_{i≤t} μ_i),
 * expAvgCoef = lr·μ_{t+1}/(1 − Π_{i≤t} μ_i · μ_{t+1}).
 */
export function nadamHost(o: NadamHostOptions, step: number, muProduct: number, out?: Float64Array): FusedStep & { muProduct: number } {
  const [beta1, beta2] = o.betas;
  const mu = beta1 * (1 - 0.5 * 0.96 ** (step * o.momentumDecay));
  const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * o.momentumDecay));
  const product = muProduct * mu;
  const h = writeScalars(scalars(out), OPTIM_SCALAR.nadam, {
    lr: o.lr, beta1, beta2, eps: o.eps, weightDecay: o.weightDecay, biasCorrection2: 1 - beta2 ** step,
    gradCoef: (o.lr * (1 - mu)) / (1 - product), expAvgCoef: (o.lr * muNext) / (1 - product * muNext),
  });
  return { kind: OptimKind.nadam, h, flags: 0, muProduct: product };
}

/**
 * Which state tensors (bit s = state s) a fused step reads and writes; the TypeScript twin of
 * `optim_states_used` in native/core/backend.h. Pass `null` for the others.
 */
export function statesUsed(s: FusedStep): number {
  switch (s.kind) {
    case OptimKind.sgd: return readScalars(s.h, OPTIM_SCALAR.sgd).momentum !== 0 ? 1 : 0;
    case OptimKind.adam: return s.flags & OptimFlag.amsgrad ? 7 : 3;
    case OptimKind.adagrad: return 1;
    case OptimKind.rmsprop: return 1 | (readScalars(s.h, OPTIM_SCALAR.rmsprop).momentum > 0 ? 2 : 0) | (s.flags & OptimFlag.centered ? 4 : 0);
    case OptimKind.adamax: return 3;
    case OptimKind.nadam: return 3;
  }
}

/** Whether this addon has the fused step (every build does; `optimStep` is optional in the binding's type). */
export function fusedStepAvailable(): boolean {
  return native.optimStep !== undefined;
}

/**
 * The one native call of a fused step: updates every tensor of `params` (and the states the step
 * uses) in place. `params` share one device and one floating dtype, and each of them and its
 * gradient is contiguous from element 0 of its storage; `states[k]` holds state k of each
 * parameter (the step's `stateKeys`), or is null where the step does not use state k. The binding
 * checks handles, devices and sizes again; this function trusts its caller (lib/ts/optim/optimizer.ts).
 */
export function runFusedStep(step: FusedStep, params: readonly Tensor[], states: readonly (readonly Tensor[] | null)[]): void {
  if (params.length === 0) return;
  const handles = (ts: readonly Tensor[] | null | undefined) => ts?.map((t) => t.storage.handle) ?? null;
  native.optimStep!(step.kind, DTYPE_CODE[params[0].dtype], params.map((p) => p.storage.handle), params.map((p) => p.grad!.storage.handle),
    handles(states[0]), handles(states[1]), handles(states[2]), params.map((p) => p.size), step.h, step.flags);
}
