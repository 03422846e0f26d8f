/**
 * amp — automatic mixed precision, with PyTorch's names and semantics (torch.autocast,
 * torch.cuda.amp.GradScaler, torch.set_float32_matmul_precision):
 *
 * - `autocast({ device, dtype }, fn)`: inside fn, matmul and linear (and the layers built on them)
 *   run in the 16-bit dtype; softmax, logSoftmax, the losses, batch norm, layer norm and the
 *   reductions run in float32 (PyTorch's autocast op lists; the door applies them, see
 *   lib/ts/ops/door.ts). Parameters stay float32 — the master weights — and their gradients
 *   arrive in float32, through the recorded casts.
 * - `GradScaler`: loss scaling for float16, whose 5-bit exponent underflows small gradients:
 *   the loss is multiplied by `scale` before backward, the gradients divided by it before the
 *   optimizer step, which is skipped when any gradient is inf/NaN; `update()` then halves the
 *   scale after an overflow and doubles it after `growthInterval` clean steps.
 * - `setFloat32MatmulPrecision('highest' | 'high' | 'medium')`: 'high' and 'medium' let CUDA
 *   float32 matmul and linear run on TF32 tensor cores (10-bit mantissa products, float32
 *   accumulation); the CPU computes float32 products exactly whatever the setting.
 */
import { ArgumentError, DTypeError, DeviceError, describe } from '../errors.js';
import { checkOptions } from '../check.js';
import { autocastState } from '../core/autocast_state.js';
import type { DeviceName, HalfDType } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { mul, sum } from '../ops/index.js';
import { binary, copyStrided, setMatmulTf32 } from '../core/kernels.js';

// ---- autocast -------------------------------------------------------------------------------------

export interface AutocastOptions {
  /** The device whose tensors are cast (default 'cuda' as torch.autocast's device_type has none; give it). */
  device: DeviceName;
  /** The lower precision: 'bfloat16' (CPU and CUDA) or 'float16' (CUDA). Default: bfloat16 on the CPU, float16 on CUDA. */
  dtype?: HalfDType;
  /** false turns autocast off inside fn (a float32 region inside an autocast one). Default true. */
  enabled?: boolean;
}

/** The dtypes autocast supports on each device (PyTorch: CPU autocast is bfloat16; CUDA both). */
const AUTOCAST_DTYPES: Record<DeviceName, readonly HalfDType[]> = { cpu: ['bfloat16'], cuda: ['float16', 'bfloat16'] };

/**
 * Runs `fn` with autocast on (or off, `enabled: false`) and restores the previous state when it
 * returns — or, for an async fn, when its promise settles. Nested regions override the outer one.
 * As with `tidy`, an async fn's awaits let other code run under the same setting: keep
 * unrelated work out of the region.
 * @example
 * const loss = amp.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => lossFn.forward(model.forward(x), y));
 * loss.backward(); // parameter gradients are float32
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const o = autocastRegion(options);
  if (typeof fn !== 'function') throw new ArgumentError(`autocast: expected a function, received ${describe(fn)}`);
  const prev = { device: autocastState.device, dtype: autocastState.dtype };
  const restore = () => { autocastState.device = prev.device; autocastState.dtype = prev.dtype; };
  if (!o.enabled) autocastState.dtype = null;
  else {
    autocastState.device = o.device;
    autocastState.dtype = o.dtype;
  }
  let out: T;
  try {
    out = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (out instanceof Promise) return out.finally(restore) as T;
  restore();
  return out;
}

/**
 * @internal The checked options of an autocast region, its dtype defaulted (autocast; fit's `amp`):
 * an unsupported device/dtype pair is ERR_DTYPE naming the valid ones.
 */
export function autocastRegion(options: AutocastOptions): { device: DeviceName; dtype: HalfDType; enabled: boolean } {
  const o = checkOptions<AutocastOptions>(options, 'autocast', ['device', 'dtype', 'enabled']);
  if (!o) throw new ArgumentError(`autocast: expected options { device: 'cpu' | 'cuda', dtype?: 'bfloat16' | 'float16' }, received ${describe(options)}`);
  if (o.device !== 'cpu' && o.device !== 'cuda') throw new DeviceError(`autocast: expected device 'cpu' or 'cuda', received ${describe(o.device)}`);
  const valid = AUTOCAST_DTYPES[o.device];
  const dtype = o.dtype ?? valid[0];
  if (!valid.includes(dtype as HalfDType))
    throw new DTypeError(`autocast: dtype ${describe(o.dtype)} is not supported on ${o.device}; expected ${valid.map((d) => `'${d}'`).join(' or ')}`);
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') throw new ArgumentError(`autocast: expected enabled to be a boolean, received ${describe(o.enabled)}`);
  return { device: o.device, dtype, enabled: o.enabled !== false };
}

/** Whether autocast is on (for `device`, when given). @example amp.isAutocastEnabled('cpu') */
export function isAutocastEnabled(device?: DeviceName): boolean {
  return autocastState.dtype !== null && (device === undefined || device === autocastState.device);
}
/** The dtype autocast casts to, or null when it is off. @example amp.getAutocastDtype() // 'bfloat16' */
export function getAutocastDtype(): HalfDType | null {
  return autocastState.dtype;
}

// ---- float32 matmul precision -----------------------------------------------------------------------

export type MatmulPrecision = 'highest' | 'high' | 'medium';
let matmulPrecision: MatmulPrecision = 'highest';

/**
 * torch.set_float32_matmul_precision: 'highest' (default) computes float32 matmul exactly in
 * float32; 'high' and 'medium' allow TF32 tensor cores for float32 matmul and linear on CUDA
 * (PyTorch's 'medium' may use bfloat16 products; here it means TF32 as 'high').
 * @example amp.setFloat32MatmulPrecision('high')
 */
export function setFloat32MatmulPrecision(precision: MatmulPrecision): void {
  if (precision !== 'highest' && precision !== 'high' && precision !== 'medium')
    throw new ArgumentError(`setFloat32MatmulPrecision: expected 'highest', 'high' or 'medium', received ${describe(precision)}`);
  matmulPrecision = precision;
  setMatmulTf32(precision !== 'highest');
}
/** The current float32 matmul precision. @example amp.getFloat32MatmulPrecision() // 'highest' */
export function getFloat32MatmulPrecision(): MatmulPrecision {
  return matmulPrecision;
}

// ---- GradScaler -------------------------------------------------------------------------------------

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** false: every method passes through (scale returns the loss, step steps). Default true. */
  enabled?: boolean;
}

/** What the scaler needs of an optimizer: its parameter groups and step. */
interface ScaledOptimizer {
  paramGroups: { [key: string]: unknown }[];
  step(closure?: () => Tensor | number): unknown;
}

/** Per optimizer, between two update() calls: PyTorch's OptState (READY, UNSCALED, STEPPED). */
interface OptState { stage: 'unscaled' | 'stepped'; foundInf: boolean }

export interface GradScalerState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

/**
 * Dynamic loss scaling for float16 mixed precision (torch.cuda.amp.GradScaler):
 * @example
 * const scaler = new amp.GradScaler();
 * const loss = amp.autocast({ device: 'cuda', dtype: 'float16' }, () => lossFn.forward(model.forward(x), y));
 * scaler.scale(loss).backward();
 * scaler.step(optimizer); // skipped when a gradient is inf/NaN
 * scaler.update();
 */
export class GradScaler {
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  private scaleValue: number;
  private growthTracker = 0;
  private states = new Map<ScaledOptimizer, OptState>();

  constructor(options: GradScalerOptions = {}) {
    const o = checkOptions<GradScalerOptions>(options, 'GradScaler', ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled']) ?? {};
    const positive = (v: unknown, name: string, dflt: number): number => {
      const x = v ?? dflt;
      if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw new ArgumentError(`GradScaler: expected ${name} to be a finite number > 0, received ${describe(v)}`);
      return x;
    };
    this.scaleValue = Math.fround(positive(o.initScale, 'initScale', 65536));
    this.growthFactor = positive(o.growthFactor, 'growthFactor', 2);
    if (this.growthFactor <= 1) throw new ArgumentError(`GradScaler: expected growthFactor > 1, received ${this.growthFactor}`);
    this.backoffFactor = positive(o.backoffFactor, 'backoffFactor', 0.5);
    if (this.backoffFactor >= 1) throw new ArgumentError(`GradScaler: expected backoffFactor < 1, received ${this.backoffFactor}`);
    const gi = o.growthInterval ?? 2000;
    if (!Number.isInteger(gi) || gi < 1) throw new ArgumentError(`GradScaler: expected growthInterval to be a positive integer, received ${describe(o.growthInterval)}`);
    this.growthInterval = gi;
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean') throw new ArgumentError(`GradScaler: expected enabled to be a boolean, received ${describe(o.enabled)}`);
    this.enabled = o.enabled ?? true;
  }

  /** Whether the scaler is on. @example scaler.isEnabled() */
  isEnabled(): boolean { return this.enabled; }

  /** The current scale (float32, as PyTorch keeps it). @example scaler.getScale() // 65536 */
  getScale(): number { return this.enabled ? this.scaleValue : 1; }

  /**
   * `loss · scale` (a new tensor in the graph), or the loss itself when disabled. A bfloat16 run
   * is refused — a bfloat16 loss, or a call inside a bfloat16 autocast region (and `fit` with
   * `amp: { dtype: 'bfloat16' }` and a scaler): bfloat16 has float32's exponent range and needs no
   * loss scaling.
   * @example scaler.scale(loss).backward()
   */
  scale(loss: Tensor): Tensor {
    if (!(loss instanceof Tensor)) throw new ArgumentError(`GradScaler.scale: expected a Tensor, received ${describe(loss)}`);
    if (!this.enabled) return loss;
    if (autocastState.dtype === 'bfloat16' || loss.dtype === 'bfloat16')
      throw new DTypeError("GradScaler: loss scaling is for float16 autocast; this run uses 'bfloat16', whose exponent range is float32's: drop the scaler (or pass enabled: false), or autocast with dtype 'float16'");
    return mul(loss, this.scaleValue);
  }

  /**
   * Divides the optimizer's gradients by the scale, in place, and records whether any is inf/NaN
   * (torch's unscale_): call it before clipping gradients; `step` then does not unscale again.
   * @example scaler.unscale_(optimizer); nn.utils.clipGradNorm(model.parameters(), 1); scaler.step(optimizer);
   */
  unscale_(optimizer: ScaledOptimizer): void {
    if (!this.enabled) return;
    checkOptimizer(optimizer, 'unscale_');
    const st = this.states.get(optimizer);
    if (st?.stage === 'unscaled') throw new ArgumentError('GradScaler.unscale_: already called on this optimizer since the last update()');
    if (st?.stage === 'stepped') throw new ArgumentError('GradScaler.unscale_: called after step(); call update() first');
    // The reciprocal in double, rounded to float32 (PyTorch: scale.double().reciprocal().float()).
    const inv = Math.fround(1 / this.scaleValue);
    let foundInf = false;
    noGrad(() => {
      let probe: Tensor | null = null;
      for (const g of optimizer.paramGroups) {
        for (const p of g.params as Tensor[]) {
          const grad = p.grad;
          if (!grad) continue;
          // x·0 is NaN exactly for inf and NaN, 0 otherwise: a sum of them flags any, never overflows.
          const flag = sum(mul(grad, 0));
          probe = probe ? addInto(probe, flag) : flag;
          scaleInPlace(grad, inv);
        }
      }
      if (probe) { foundInf = !Number.isFinite(probe.item()); probe.dispose(); }
    });
    this.states.set(optimizer, { stage: 'unscaled', foundInf });
  }

  /** `unscale_` under the name API.md gives it. @example scaler.unscale(optimizer) */
  unscale(optimizer: ScaledOptimizer): void { this.unscale_(optimizer); }

  /**
   * Unscales (unless `unscale_` did) and steps the optimizer, skipping the step when a gradient
   * is inf/NaN; returns what `optimizer.step` returned, or undefined when skipped.
   * @example scaler.step(optimizer)
   */
  step(optimizer: ScaledOptimizer, closure?: () => Tensor | number): unknown {
    if (!this.enabled) return optimizer.step(closure);
    checkOptimizer(optimizer, 'step');
    if (closure !== undefined) throw new ArgumentError('GradScaler.step: closures are not supported (as in PyTorch): the loss they compute would not be scaled');
    let st = this.states.get(optimizer);
    if (st?.stage === 'stepped') throw new ArgumentError('GradScaler.step: already called on this optimizer since the last update()');
    if (!st) { this.unscale_(optimizer); st = this.states.get(optimizer)!; }
    const out = st.foundInf ? undefined : optimizer.step();
    st.stage = 'stepped';
    return out;
  }

  /**
   * Adjusts the scale after the step(s): × backoffFactor when an inf/NaN was found (the growth
   * count restarts), × growthFactor after growthInterval clean steps; or sets `newScale`.
   * @example scaler.update()
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      const v = newScale instanceof Tensor ? newScale.item() : newScale;
      if (typeof v !== 'number' || !(v > 0)) throw new ArgumentError(`GradScaler.update: expected newScale > 0, received ${describe(newScale)}`);
      this.scaleValue = Math.fround(v);
    } else {
      if (this.states.size === 0) throw new ArgumentError('GradScaler.update: no inf checks were recorded; call step() (or unscale_()) first');
      const found = [...this.states.values()].some((s) => s.foundInf);
      // torch._amp_update_scale_, in float32.
      if (found) {
        this.scaleValue = Math.fround(this.scaleValue * this.backoffFactor);
        this.growthTracker = 0;
      } else if (++this.growthTracker === this.growthInterval) {
        const grown = Math.fround(this.scaleValue * this.growthFactor);
        if (Number.isFinite(grown)) this.scaleValue = grown;
        this.growthTracker = 0;
      }
    }
    this.states.clear();
  }

  /** PyTorch's keys. @example const sd = scaler.stateDict() */
  stateDict(): GradScalerState {
    return { scale: this.getScale(), growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: this.growthTracker };
  }
  /** Restores scale and growth tracker (the factors must match this scaler's). @example scaler.loadStateDict(sd) */
  loadStateDict(sd: GradScalerState): void {
    if (!sd || typeof sd !== 'object' || typeof sd.scale !== 'number' || !(sd.scale > 0) || !Number.isInteger(sd._growth_tracker) || sd._growth_tracker < 0)
      throw new ArgumentError(`GradScaler.loadStateDict: expected { scale > 0, _growth_tracker ≥ 0, ... }, received ${describe(sd)}`);
    this.scaleValue = Math.fround(sd.scale);
    this.growthTracker = sd._growth_tracker;
  }
}

function checkOptimizer(o: unknown, where: string): asserts o is ScaledOptimizer {
  const x = o as ScaledOptimizer | null;
  if (!x || typeof x !== 'object' || !Array.isArray(x.paramGroups) || typeof x.step !== 'function' || !x.paramGroups.every((g) => Array.isArray(g?.params)))
    throw new ArgumentError(`GradScaler.${where}: expected an optimizer (step() and paramGroups with params), received ${describe(o)}`);
}

/** g ·= s in place (16-bit gradients through a float32 product, rounded once). */
function scaleInPlace(g: Tensor, s: number): void {
  if (g.dtype === 'float32' || g.dtype === 'float64') { binary('mul', g, s, 0, 0, g.dtype, g); return; }
  const t = mul(g, s);
  copyStrided(g, t);
  t.dispose();
}

/** a + b, freeing both (the probe's running sum). */
function addInto(a: Tensor, b: Tensor): Tensor {
  const s = a.add(b);
  a.dispose(); b.dispose();
  return s;
}

