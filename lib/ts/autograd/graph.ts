/**
 * graph.ts — the pieces of the dynamic tape every op touches: the graph node, grad mode
 * (`noGrad`) and anomaly mode. The backward walk is in engine.ts; the ops record nodes through
 * their one door (lib/ts/ops/door.ts), never by hand.
 */
import type { Tensor } from '../core/tensor.js';

/** Gradients of a node's inputs from the gradient of its output (null where an input gets none). */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class GradNode {
  /** True once the node let go of its inputs and saved tensors (core/tensor.ts releaseNode). */
  released = false;
  /**
   * `inputs` holds one entry per argument of the op (null for numbers and arguments that carry no
   * gradient), aligned with what `backward` returns. `backward` is null once the graph is freed.
   */
  constructor(
    readonly name: string,
    readonly inputs: (Tensor | null)[],
    public backward: BackwardFn | null,
    public saved: Tensor[],
  ) {}
}

let gradEnabled = true;

/** True while operations record the graph (outside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** @internal Sets grad mode and returns the previous one (the door's forward runs with it off). */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

/**
 * Runs `fn` without recording the graph, as `torch.no_grad()`.
 * @example
 * const y = noGrad(() => model.forward(x)); // y.requiresGrad === false
 */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/**
 * Runs `fn` with recording on or off, as `torch.set_grad_enabled(mode)` used as a context.
 * @example const y = withGrad(training, () => model.forward(x));
 */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

// ---- which gradients a walk wants ---------------------------------------------------------------

let wantedGrads: ReadonlySet<Tensor> | null = null;
/**
 * @internal Set by the engine for a walk that wants only some gradients (`grad(outputs, inputs)`):
 * rules skip the gradients of arguments outside the set. Returns the previous set.
 */
export function setWantedGrads(s: ReadonlySet<Tensor> | null): ReadonlySet<Tensor> | null {
  const prev = wantedGrads;
  wantedGrads = s;
  return prev;
}
/** True when a rule should compute the gradient of `t`: it requires grad and the walk wants it. */
export function gradWanted(t: Tensor): boolean {
  return t.requiresGrad && (wantedGrads === null || wantedGrads.has(t));
}

let anomaly = false;

/**
 * Turns anomaly detection on or off (as torch.autograd.set_detect_anomaly). While on, every
 * tracked op checks its output, and every gradient rule its results, for NaN, and the first op
 * that produces one (from inputs without NaN) throws ERR_ANOMALY naming itself. Slow: for debugging.
 * @example setDetectAnomaly(true); loss.backward(); // ERR_ANOMALY: 'log' produced NaN in the forward pass
 */
export function setDetectAnomaly(on: boolean): void {
  anomaly = !!on;
}
export function isAnomalyEnabled(): boolean {
  return anomaly;
}
/** Runs `fn` with anomaly detection on. @example detectAnomaly(() => { const l = lossOf(model); l.backward(); }) */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomaly;
  anomaly = true;
  try {
    return fn();
  } finally {
    anomaly = prev;
  }
}
