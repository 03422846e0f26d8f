/**
 * optimizer.ts — the optimizers, layered as PyTorch's (DESIGN principle 13): a class validates
 * hyper-parameters and holds parameter groups and lazily created state; the update of all the
 * parameters of one group that share a device and dtype is ONE fused native call
 * (native/cpu/optim.cc, made by fused_host.ts's runFusedStep), with the step-dependent scalars
 * computed on the host (fused_host.ts). Step-dependent scalars are per parameter in PyTorch (each
 * has its own `state['step']`; its foreach paths pass lists of them); here parameters whose step
 * (and, for NAdam, μ product) agree share one call — all of a group's, unless parameters joined
 * mid-training. Where no fused kernel exists for a device (or a parameter is a strided view), the
 * composed TypeScript reference below performs the same update with tensor ops; tests check the
 * two agree, and that the fused path really ran (`optimizerCallCounts`).
 *
 * Adam and AdamW are one kernel with a `decoupled` flag, not two copies.
 */
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, DTypeError, EntrenaError, describe } from '../errors.js';
import { Tensor, keep } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { filled } from '../ops/copy.js';
import { rawBinary, rawUnary } from '../ops/elementwise.js';
import {
  adagradHost, adamHost, adamaxHost, fusedStepAvailable, nadamHost, readScalars, rmspropHost, runFusedStep, sgdHost, stateKeys, statesUsed,
  OPTIM_SCALAR, OptimFlag, OptimKind, type FusedStep,
} from './fused_host.js';

export type ParamGroupInit = { params: Tensor[] } & Record<string, unknown>;
export interface ParamGroup { params: Tensor[]; lr: number; initialLr?: number; [option: string]: unknown }
export type ParamsArg = Tensor[] | ParamGroupInit[] | Iterable<Tensor>;

type StateValue = Tensor | number;
export type ParamState = Record<string, StateValue>;

let fusedEnabled = true;
/** @internal Tests: run the composed reference instead of the fused kernels. */
export function setFusedOptimizers(on: boolean): void {
  fusedEnabled = on;
}

const callCounts = { fused: 0, composed: 0 };
/**
 * @internal Tests: how many fused native steps (`fused`, one per call of the binding's optimStep)
 * and composed per-parameter updates (`composed`) the optimizers have made in this process.
 * Compare two readings around `step()`: the fused path falls back to the composed one silently
 * (setFusedOptimizers(false), strided parameters, a device without the kernel).
 */
export function optimizerCallCounts(): { fused: number; composed: number } {
  return { ...callCounts };
}

/** A hyper-parameter ≥ 0 (PyTorch's `if not 0.0 <= x`): a number, NaN rejected, +∞ accepted as PyTorch does. */
const nonNegative = (v: unknown, where: string, name: string) => checkNumber(v, where, name, { min: 0 });
/** Each named hyper-parameter of `g` is a number ≥ 0. */
const nonNegatives = (g: ParamGroup, where: string, names: string[]): void => { for (const k of names) nonNegative(g[k], where, k); };
function checkBetas(v: unknown, where: string): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new ArgumentError(`${where}: expected betas to be a pair [beta1, beta2], received ${describe(v)}`);
  checkNumber(v[0], where, 'betas[0]', { min: 0, max: 1, maxExclusive: true });
  checkNumber(v[1], where, 'betas[1]', { min: 0, max: 1, maxExclusive: true });
  return [v[0], v[1]];
}

/** Splits `params` by `key` (first-seen order kept): the parameters of one bucket share a fused call. */
function bucketBy<K>(params: readonly Tensor[], key: (p: Tensor) => K): Map<K, Tensor[]> {
  const buckets = new Map<K, Tensor[]>();
  for (const p of params) {
    const k = key(p);
    let list = buckets.get(k);
    if (!list) buckets.set(k, (list = []));
    list.push(p);
  }
  return buckets;
}

/** The common machinery: parameter groups, state, zeroGrad, state dicts. */
export abstract class Optimizer {
  paramGroups: ParamGroup[] = [];
  /** Per-parameter state, created lazily at the first step. */
  state = new Map<Tensor, ParamState>();
  readonly defaults: Record<string, unknown>;
  protected readonly name: string;

  constructor(params: ParamsArg, defaults: Record<string, unknown>, name: string) {
    this.name = name;
    this.defaults = defaults;
    let list: unknown[];
    if (params instanceof Tensor) throw new ArgumentError(`${name}: expected an array of parameters (e.g. model.parameters()), received a single Tensor`);
    try { list = Array.from(params as Iterable<unknown>); } catch { throw new ArgumentError(`${name}: expected an array of parameters or parameter groups, received ${describe(params)}`); }
    if (list.length === 0) throw new ArgumentError(`${name}: received an empty parameter list`);
    const groups: ParamGroupInit[] = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as ParamGroupInit[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group; its options default to the optimizer's. @example opt.addParamGroup({ params: head.parameters(), lr: 1e-2 }) */
  addParamGroup(group: ParamGroupInit): void {
    if (!group || typeof group !== 'object' || !Array.isArray(group.params))
      throw new ArgumentError(`${this.name}: expected a parameter group { params: Tensor[], ... }, received ${describe(group)}`);
    const params = group.params;
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ArgumentError(`${this.name}: params[${i}] is ${describe(p)}, expected a Tensor`);
      if (p.dtype === 'int32') throw new DTypeError(`${this.name}: params[${i}] is int32; only floating-point tensors can be optimized`);
      if (!p.isLeaf) throw new ArgumentError(`${this.name}: params[${i}] is not a leaf tensor (it was computed by an op); optimize leaves such as model.parameters()`);
    });
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) if (seen.has(p)) throw new ArgumentError(`${this.name}: some parameters appear in more than one parameter group`);
    const g: ParamGroup = { ...this.defaults, ...group, params: params.slice() } as ParamGroup;
    this.validate(g);
    this.paramGroups.push(g);
  }

  /** Checks one group's hyper-parameters (as torch.optim.X.__init__). */
  protected abstract validate(g: ParamGroup): void;
  /** Updates the parameters of one group that have gradients. */
  protected abstract updateGroup(g: ParamGroup, params: Tensor[]): void;

  /**
   * One optimisation step over every parameter that has a gradient. A closure (re-evaluating
   * the loss and gradients) is accepted, as PyTorch; its loss is returned.
   */
  step(closure?: () => Tensor | number): number | undefined {
    let loss: number | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw new ArgumentError(`${this.name}.step: expected a closure function, received ${describe(closure)}`);
      const l = closure();
      loss = typeof l === 'number' ? l : l.item();
    }
    noGrad(() => {
      for (const g of this.paramGroups) {
        const params = g.params.filter((p) => p.grad !== null && !p.isDisposed);
        if (params.length) this.updateGroup(g, params);
      }
    });
    return loss;
  }

  /** Clears (and disposes) every parameter's gradient, as PyTorch's zero_grad(set_to_none=True). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) if (p.grad) p.grad = null;
  }

  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }
  protected tensorState(p: Tensor, key: string, fill = 0): Tensor {
    const s = this.stateOf(p);
    let t = s[key] as Tensor | undefined;
    // State outlives any tidy the step runs in: it is the optimizer's, released with it.
    if (!t) s[key] = t = keep(filled(p.shape.slice(), fill, p.dtype, p.device));
    return t;
  }

  /**
   * PyTorch's layout: `state` keyed by the parameter's index across groups, `paramGroups` with the
   * options and the indices of their parameters. Tensors are the live state (save, do not mutate).
   */
  stateDict(): { state: Record<string, ParamState>; paramGroups: Record<string, unknown>[] } {
    const index = new Map<Tensor, number>();
    let i = 0;
    for (const g of this.paramGroups) for (const p of g.params) index.set(p, i++);
    const state: Record<string, ParamState> = {};
    for (const [p, s] of this.state) if (index.has(p)) state[String(index.get(p))] = { ...s };
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...options } = g;
      return { ...options, params: params.map((p) => index.get(p)!) };
    });
    return { state, paramGroups };
  }

  /** Restores a state dict made by `stateDict()` (same parameter layout). */
  loadStateDict(sd: { state: Record<string, ParamState>; paramGroups: Record<string, unknown>[] }): void {
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || !sd.state)
      throw new ArgumentError(`${this.name}.loadStateDict: expected { state, paramGroups }, received ${describe(sd)}`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new ArgumentError(`${this.name}.loadStateDict: the state dict has ${sd.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    const flat = this.paramGroups.flatMap((g) => g.params);
    sd.paramGroups.forEach((sg, gi) => {
      const ids = sg.params as number[];
      if (!Array.isArray(ids) || ids.length !== this.paramGroups[gi].params.length)
        throw new ArgumentError(`${this.name}.loadStateDict: group ${gi} has ${Array.isArray(ids) ? ids.length : '?'} parameters in the state dict, ${this.paramGroups[gi].params.length} here`);
      const { params: _ignored, ...options } = sg;
      Object.assign(this.paramGroups[gi], options);
    });
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const p = flat[Number(k)];
      if (!p) throw new ArgumentError(`${this.name}.loadStateDict: state for parameter ${k}, which does not exist`);
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (v.size !== p.size) throw new ArgumentError(`${this.name}.loadStateDict: state '${name}' of parameter ${k} has ${v.size} elements, the parameter ${p.size}`);
          const t = keep(filled(p.shape.slice(), 0, p.dtype, p.device));
          t.copy_(v.reshape(p.shape));
          copy[name] = t;
        } else copy[name] = v;
      }
      this.state.set(p, copy);
    }
  }

  /**
   * Runs `step` over `params`: one fused native call per (device, dtype) — one in all for a
   * group on one device — or the composed reference. States are the kind's (OPTIM_STATE in
   * fused_host.ts), created on first use filled with `stateFill[k]`.
   */
  protected fused(step: FusedStep, params: Tensor[], stateFill: number[] = [0, 0, 0]): void {
    const used = statesUsed(step);
    const keys = stateKeys(step.kind);
    for (const list of bucketBy(params, (p) => `${p.device}/${p.dtype}`).values()) {
      const states = [0, 1, 2].map((s) => (used & (1 << s) && keys[s] ? list.map((p) => this.tensorState(p, keys[s]!, stateFill[s])) : null));
      const canFuse = fusedEnabled && fusedStepAvailable() &&
        list.every((p) => p.offset === 0 && p.isContiguous() && p.grad!.offset === 0 && p.grad!.isContiguous());
      // (Views of a parameter, such as the transposed weight a Linear layer reads, share its
      // storage and see the update, as in PyTorch.)
      if (canFuse) {
        runFusedStep(step, list, states);
        callCounts.fused++;
      } else {
        list.forEach((p, i) => referenceUpdate(step, p, p.grad!, states[0]?.[i] ?? null, states[1]?.[i] ?? null, states[2]?.[i] ?? null));
        callCounts.composed += list.length;
      }
    }
  }
}

// ---- the composed reference (any device): the same formulas as native/cpu/optim.cc -------------

function assign(dst: Tensor, src: Tensor): void {
  dst.copy_(src);
  src.dispose();
}
function axpy(a: Tensor, alpha: number, b: Tensor): Tensor {
  // a + alpha · b (new tensor)
  const s = rawUnary('mul_scalar', b, alpha);
  const r = rawBinary('add', a, s);
  s.dispose();
  return r;
}
function lerpInto(buf: Tensor, beta: number, x: Tensor): void {
  // buf ← beta·buf + (1 − beta)·x
  const a = rawUnary('mul_scalar', buf, beta), b = rawUnary('mul_scalar', x, 1 - beta);
  assign(buf, rawBinary('add', a, b));
  a.dispose(); b.dispose();
}

/** @internal The composed update of one parameter (see OptimArgs in native/core/backend.h). */
export function referenceUpdate(step: FusedStep, p: Tensor, grad: Tensor, s0: Tensor | null, s1: Tensor | null, s2: Tensor | null): void {
  const temps: Tensor[] = [];
  const t = (x: Tensor) => { temps.push(x); return x; };
  const decayed = (wd: number): Tensor => (wd !== 0 ? t(axpy(grad, wd, p)) : grad);
  switch (step.kind) {
    case OptimKind.sgd: {
      const h = readScalars(step.h, OPTIM_SCALAR.sgd);
      let d = decayed(h.weightDecay);
      if (h.momentum !== 0 && s0) {
        if (step.flags & OptimFlag.firstStep) s0.copy_(d);
        else {
          const a = t(rawUnary('mul_scalar', s0, h.momentum));
          assign(s0, axpy(a, 1 - h.dampening, d));
        }
        d = step.flags & OptimFlag.nesterov ? t(axpy(d, h.momentum, s0)) : s0;
      }
      assign(p, axpy(p, -h.lr, d));
      break;
    }
    case OptimKind.adam: {
      const h = readScalars(step.h, OPTIM_SCALAR.adam);
      let g = grad;
      if (h.weightDecay !== 0) {
        if (step.flags & OptimFlag.decoupled) assign(p, rawUnary('mul_scalar', p, 1 - h.lr * h.weightDecay));
        else g = t(axpy(grad, h.weightDecay, p));
      }
      lerpInto(s0!, h.beta1, g);
      const g2 = t(rawBinary('mul', g, g));
      lerpInto(s1!, h.beta2, g2);
      let v = s1!;
      if (step.flags & OptimFlag.amsgrad) { assign(s2!, rawBinary('maximum', s2!, s1!)); v = s2!; }
      const denom = t(rawUnary('affine', t(rawUnary('sqrt', v)), 1 / h.biasCorrection2Sqrt, h.eps));
      assign(p, axpy(p, -h.stepSize, t(rawBinary('div', s0!, denom))));
      break;
    }
    case OptimKind.adagrad: {
      const h = readScalars(step.h, OPTIM_SCALAR.adagrad);
      const g = decayed(h.weightDecay);
      assign(s0!, rawBinary('add', s0!, t(rawBinary('mul', g, g))));
      const std = t(rawUnary('add_scalar', t(rawUnary('sqrt', s0!)), h.eps));
      assign(p, axpy(p, -h.clr, t(rawBinary('div', g, std))));
      break;
    }
    case OptimKind.rmsprop: {
      const h = readScalars(step.h, OPTIM_SCALAR.rmsprop);
      const g = decayed(h.weightDecay);
      lerpInto(s0!, h.alpha, t(rawBinary('mul', g, g)));
      let avg: Tensor;
      if (step.flags & OptimFlag.centered) {
        lerpInto(s2!, h.alpha, g);
        avg = t(rawUnary('add_scalar', t(rawUnary('sqrt', t(rawBinary('sub', s0!, t(rawBinary('mul', s2!, s2!)))))), h.eps));
      } else avg = t(rawUnary('add_scalar', t(rawUnary('sqrt', s0!)), h.eps));
      if (h.momentum > 0) {
        assign(s1!, axpy(t(rawUnary('mul_scalar', s1!, h.momentum)), 1, t(rawBinary('div', g, avg))));
        assign(p, axpy(p, -h.lr, s1!));
      } else assign(p, axpy(p, -h.lr, t(rawBinary('div', g, avg))));
      break;
    }
    case OptimKind.adamax: {
      const h = readScalars(step.h, OPTIM_SCALAR.adamax);
      const g = decayed(h.weightDecay);
      lerpInto(s0!, h.beta1, g);
      const a = t(rawUnary('mul_scalar', s1!, h.beta2));
      const b = t(rawUnary('add_scalar', t(rawUnary('abs', g)), h.eps));
      assign(s1!, rawBinary('maximum', a, b));
      assign(p, axpy(p, -h.clr, t(rawBinary('div', s0!, s1!))));
      break;
    }
    case OptimKind.nadam: {
      const h = readScalars(step.h, OPTIM_SCALAR.nadam);
      const g = decayed(h.weightDecay);
      lerpInto(s0!, h.beta1, g);
      lerpInto(s1!, h.beta2, t(rawBinary('mul', g, g)));
      const denom = t(rawUnary('add_scalar', t(rawUnary('sqrt', t(rawUnary('mul_scalar', s1!, 1 / h.biasCorrection2)))), h.eps));
      assign(p, axpy(p, -h.gradCoef, t(rawBinary('div', g, denom))));
      assign(p, axpy(p, -h.expAvgCoef, t(rawBinary('div', s0!, denom))));
      break;
    }
    default:
      throw new EntrenaError('ERR_INTERNAL', `unknown optimizer kind ${step.kind}`);
  }
  for (const x of temps) if (x !== grad && x !== p && x !== s0 && x !== s1 && x !== s2) x.dispose();
}

// ---- the optimizers ------------------------------------------------------------------------------

function stepCount(opt: Optimizer, p: Tensor): number {
  const s = (opt as unknown as { stateOf(p: Tensor): ParamState }).stateOf(p);
  s.step = ((s.step as number | undefined) ?? 0) + 1;
  return s.step as number;
}

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and (coupled) weight decay, as
 * torch.optim.SGD. @example new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true })
 */
export class SGD extends Optimizer {
  constructor(params: ParamsArg, options: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }) {
    options = checkOptions<typeof options>(options, 'SGD', ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov']);
    if (options.lr === undefined) throw new ArgumentError('SGD: expected options with lr (SGD has no default learning rate)');
    super(params, { lr: options.lr, momentum: options.momentum ?? 0, dampening: options.dampening ?? 0, weightDecay: options.weightDecay ?? 0, nesterov: options.nesterov ?? false }, 'SGD');
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, 'SGD', ['lr', 'momentum']);
    checkNumber(g.dampening, 'SGD', 'dampening');
    nonNegative(g.weightDecay, 'SGD', 'weightDecay');
    if (g.nesterov && (!((g.momentum as number) > 0) || g.dampening !== 0)) throw new ArgumentError('SGD: Nesterov momentum requires a momentum and zero dampening');
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    const momentum = g.momentum as number;
    const fresh = params.filter((p) => momentum !== 0 && !this.stateOf(p).momentumBuffer);
    const old = params.filter((p) => !fresh.includes(p));
    const o = { lr: g.lr, momentum, dampening: g.dampening as number, weightDecay: g.weightDecay as number, nesterov: !!g.nesterov };
    if (fresh.length) this.fused(sgdHost(o, true), fresh);
    if (old.length) this.fused(sgdHost(o, false), old);
  }
}

interface AdamOptions { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean }

/**
 * Adam (Kingma & Ba 2014) with optional AMSGrad and coupled (L2) weight decay, as torch.optim.Adam.
 * @example new optim.Adam(model.parameters(), { lr: 1e-3 })
 */
export class Adam extends Optimizer {
  protected decoupled = false;
  constructor(params: ParamsArg, options: AdamOptions = {}, name = 'Adam', defaultWd = 0) {
    options = checkOptions<typeof options>(options, name, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad']);
    super(params, { lr: options.lr ?? 1e-3, betas: options.betas ?? [0.9, 0.999], eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? defaultWd, amsgrad: options.amsgrad ?? false }, name);
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, this.name, ['lr', 'eps']);
    checkBetas(g.betas, this.name);
    nonNegative(g.weightDecay, this.name, 'weightDecay');
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    // Parameters at the same step share one call (they all do, unless added mid-training).
    const o = { lr: g.lr, betas: g.betas as [number, number], eps: g.eps as number, weightDecay: g.weightDecay as number, amsgrad: !!g.amsgrad, decoupled: this.decoupled };
    for (const [n, list] of bucketBy(params, (p) => stepCount(this, p))) this.fused(adamHost(o, n), list);
  }
}

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2017), weightDecay 1e-2 by default,
 * as torch.optim.AdamW. @example new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 })
 */
export class AdamW extends Adam {
  constructor(params: ParamsArg, options: AdamOptions = {}) {
    super(params, options, 'AdamW', 1e-2);
    this.decoupled = true;
  }
}

/** Adagrad (Duchi et al. 2011), as torch.optim.Adagrad. @example new optim.Adagrad(params, { lr: 0.01 }) */
export class Adagrad extends Optimizer {
  constructor(params: ParamsArg, options: { lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number } = {}) {
    options = checkOptions<typeof options>(options, 'Adagrad', ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps']);
    super(params, { lr: options.lr ?? 1e-2, lrDecay: options.lrDecay ?? 0, weightDecay: options.weightDecay ?? 0, initialAccumulatorValue: options.initialAccumulatorValue ?? 0, eps: options.eps ?? 1e-10 }, 'Adagrad');
    // As PyTorch, the accumulator exists (filled with initialAccumulatorValue) from construction.
    for (const g of this.paramGroups) for (const p of g.params) { this.tensorState(p, 'sum', g.initialAccumulatorValue as number); this.stateOf(p).step = 0; }
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, 'Adagrad', ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps']);
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    // Parameters at the same step share one call (clr depends on the step).
    const o = { lr: g.lr, lrDecay: g.lrDecay as number, weightDecay: g.weightDecay as number, eps: g.eps as number };
    for (const [n, list] of bucketBy(params, (p) => stepCount(this, p))) this.fused(adagradHost(o, n), list, [g.initialAccumulatorValue as number, 0, 0]);
  }
}

/** RMSprop (Hinton; centred as Graves 2013), as torch.optim.RMSprop. @example new optim.RMSprop(params, { lr: 1e-3, momentum: 0.9 }) */
export class RMSprop extends Optimizer {
  constructor(params: ParamsArg, options: { lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean } = {}) {
    options = checkOptions<typeof options>(options, 'RMSprop', ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered']);
    super(params, { lr: options.lr ?? 1e-2, alpha: options.alpha ?? 0.99, eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0, momentum: options.momentum ?? 0, centered: options.centered ?? false }, 'RMSprop');
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, 'RMSprop', ['lr', 'alpha', 'eps', 'weightDecay', 'momentum']);
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    for (const p of params) stepCount(this, p);
    this.fused(rmspropHost({ lr: g.lr, alpha: g.alpha as number, eps: g.eps as number, weightDecay: g.weightDecay as number, momentum: g.momentum as number, centered: !!g.centered }),
      params);
  }
}

/** Adamax (Kingma & Ba 2014, §7.1), as torch.optim.Adamax. @example new optim.Adamax(params, { lr: 2e-3 }) */
export class Adamax extends Optimizer {
  constructor(params: ParamsArg, options: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number } = {}) {
    options = checkOptions<typeof options>(options, 'Adamax', ['lr', 'betas', 'eps', 'weightDecay']);
    super(params, { lr: options.lr ?? 2e-3, betas: options.betas ?? [0.9, 0.999], eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0 }, 'Adamax');
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, 'Adamax', ['lr', 'eps']);
    checkBetas(g.betas, 'Adamax');
    nonNegative(g.weightDecay, 'Adamax', 'weightDecay');
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    // Parameters at the same step share one call (clr depends on the step).
    const o = { lr: g.lr, betas: g.betas as [number, number], eps: g.eps as number, weightDecay: g.weightDecay as number };
    for (const [n, list] of bucketBy(params, (p) => stepCount(this, p))) this.fused(adamaxHost(o, n), list);
  }
}

/** NAdam (Dozat 2016), as torch.optim.NAdam (PyTorch ≥ 2.0's μ product). @example new optim.NAdam(params, { lr: 2e-3 }) */
export class NAdam extends Optimizer {
  constructor(params: ParamsArg, options: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; momentumDecay?: number } = {}) {
    options = checkOptions<typeof options>(options, 'NAdam', ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay']);
    super(params, { lr: options.lr ?? 2e-3, betas: options.betas ?? [0.9, 0.999], eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0, momentumDecay: options.momentumDecay ?? 4e-3 }, 'NAdam');
  }
  protected validate(g: ParamGroup): void {
    nonNegatives(g, 'NAdam', ['lr', 'eps']);
    checkBetas(g.betas, 'NAdam');
    nonNegatives(g, 'NAdam', ['weightDecay', 'momentumDecay']);
  }
  protected updateGroup(g: ParamGroup, params: Tensor[]): void {
    // The scalars depend on the step and on the parameter's μ product Π_{i<t} μ_i (PyTorch keeps
    // both per parameter): parameters where both agree — all of them, unless some joined the group
    // later — share one call. The product is the same function of the step for every parameter, so
    // it is keyed exactly (String(x) round-trips a double).
    const o = { lr: g.lr, betas: g.betas as [number, number], eps: g.eps as number, weightDecay: g.weightDecay as number, momentumDecay: g.momentumDecay as number };
    const buckets = bucketBy(params, (p) => {
      const n = stepCount(this, p);
      return `${n}/${String((this.stateOf(p).muProduct as number | undefined) ?? 1)}`;
    });
    for (const list of buckets.values()) {
      const st0 = this.stateOf(list[0]);
      const s = nadamHost(o, st0.step as number, (st0.muProduct as number | undefined) ?? 1);
      for (const p of list) this.stateOf(p).muProduct = s.muProduct;
      this.fused(s, list);
    }
  }
}
