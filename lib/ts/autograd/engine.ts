/**
 * engine.ts — the dynamic tape: graph nodes, `noGrad`, and reverse-mode `backward`.
 *
 * Each differentiable op that sees an input with `requiresGrad` (while grad mode is on) attaches a
 * GradNode to its output: the inputs, the tensors saved for the backward pass, and the gradient
 * rule (lib/ts/autograd/grads.ts). `backward` walks the graph in reverse topological order,
 * accumulates into leaves' `.grad`, disposes every intermediate gradient it made, and frees the
 * graph (saved tensors are released) unless `retainGraph` is set.
 */
import { EntrenaError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export class GradNode {
  /** `backward` is null once the graph has been freed. */
  constructor(
    readonly name: string,
    readonly inputs: Tensor[],
    public backward: BackwardFn | null,
    public saved: Tensor[],
  ) {}
}

let gradEnabled = true;

/** True while operations record the graph (outside `noGrad`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording the graph, as `torch.no_grad()`.
 * @example
 * const y = noGrad(() => model.forward(x)); // y.requiresGrad === false
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` with recording on or off (internal helper for `fit`, `predict`, gradient rules). */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when `out` of an op over `inputs` must be tracked. */
export function needsGrad(...inputs: (Tensor | number | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t !== null && typeof t === 'object' && t.requiresGrad) return true;
  return false;
}

// ---- anomaly detection ----------------------------------------------------------------------

let anomaly = false;
/** A NaN check for a tensor (set by tensor.ts to avoid an import cycle). */
let hasNaN: ((t: Tensor) => boolean) | null = null;
export function setNaNCheck(f: (t: Tensor) => boolean): void {
  hasNaN = f;
}

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

function checkForward(out: Tensor, name: string, inputs: Tensor[]): void {
  if (!hasNaN || !hasNaN(out)) return;
  if (inputs.some((t) => !t.isDisposed && hasNaN!(t))) return; // NaN came in: not produced here
  throw new EntrenaError('ERR_ANOMALY', `anomaly: '${name}' produced NaN in the forward pass (output shape [${out.shape.join(', ')}]) from inputs without NaN`);
}

/** Attaches a node to `out` (which must be freshly made by the op). */
export function attach(out: Tensor, name: string, inputs: Tensor[], backward: BackwardFn, saved: Tensor[] = []): Tensor {
  if (anomaly) checkForward(out, name, inputs);
  out._setGradFn(new GradNode(name, inputs, backward, saved));
  return out;
}

// Hooks set by tensor.ts (avoids an import cycle at module-evaluation time).
export interface EngineHooks {
  openScope(): void;
  closeScope(keep: Set<Tensor>, graph?: Set<Tensor>): void;
  untrack(t: Tensor): void;
  onesLike(t: Tensor): Tensor;
  accumulate(into: Tensor, g: Tensor): void; // in place: into += g
  copy(t: Tensor): Tensor;
}
let hooks: EngineHooks | null = null;
export function setEngineHooks(h: EngineHooks): void {
  hooks = h;
}

/** Reverse-mode differentiation from `root` (see Tensor.backward). */
export function runBackward(root: Tensor, grad: Tensor | undefined, retainGraph: boolean): void {
  if (!hooks) throw new EntrenaError('ERR_INTERNAL', 'autograd engine not initialised');
  const h = hooks;
  if (!root.requiresGrad) {
    throw new EntrenaError('ERR_AUTOGRAD', 'backward: the tensor does not require grad and has no grad_fn (did you call it inside noGrad, or on a detached tensor?)');
  }
  // Topological order of the non-leaf tensors reachable from root (iterative DFS: deep nets).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const node = t.gradFn;
    if (!node) { stack.pop(); continue; }
    if (i === 0) {
      if (visited.has(t)) { stack.pop(); continue; }
      visited.add(t);
      if (!node.backward) {
        throw new EntrenaError('ERR_AUTOGRAD', `backward: the graph through '${node.name}' has already been freed; pass { retainGraph: true } to the first backward to go through it twice`);
      }
    }
    if (i < node.inputs.length) {
      top[1] = i + 1;
      const inp = node.inputs[i];
      if (inp && inp.gradFn && !visited.has(inp)) stack.push([inp, 0]);
    } else {
      order.push(t);
      stack.pop();
    }
  }

  const leafGrads = new Set<Tensor>();
  // Intermediates a tidy kept only for this graph: released once the graph is freed.
  const release = new Set<Tensor>();
  h.openScope();
  try {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, grad ?? h.onesLike(root));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradFn!;
      const inGrads = withGrad(false, () => node.backward!(g));
      if (anomaly && hasNaN && !hasNaN(g)) {
        inGrads.forEach((gi, j) => {
          if (gi && hasNaN!(gi)) throw new EntrenaError('ERR_ANOMALY', `anomaly: the backward of '${node.name}' produced NaN in the gradient of its input ${j} (shape [${gi.shape.join(', ')}]) from a gradient without NaN`);
        });
      }
      for (let j = 0; j < node.inputs.length; j++) {
        const inp = node.inputs[j];
        const gi = inGrads[j];
        if (!inp || !gi || !inp.requiresGrad) continue;
        if (inp.gradFn) {
          const prev = grads.get(inp);
          if (prev) grads.set(inp, withGrad(false, () => prev.add(gi)));
          else grads.set(inp, gi);
        } else {
          // gi is exclusively ours only if the rule made it (not a pass-through of g) for one input.
          const exclusive = gi !== g && inGrads.indexOf(gi) === inGrads.lastIndexOf(gi);
          accumulateLeaf(inp, gi, exclusive);
        }
      }
      if (!retainGraph) {
        for (const s of node.saved) if (s._graphOwned) release.add(s);
        for (const s of node.inputs) if (s && s._graphOwned) release.add(s);
        if (t._graphOwned) release.add(t);
        node.backward = null;
        node.saved = [];
      }
    }
  } finally {
    h.closeScope(leafGrads);
    for (const t of release) t.dispose();
  }

  function accumulateLeaf(leaf: Tensor, g: Tensor, exclusive: boolean): void {
    if (leaf.grad && !leaf.grad.isDisposed) {
      h.accumulate(leaf.grad, g);
      return;
    }
    // A gradient may be shared (add passes g through to both inputs, and g may also be waiting in
    // the map for another node): the leaf takes it as is only when it is exclusively ours, fresh
    // and contiguous; otherwise it gets a copy, so later in-place accumulation touches nothing else.
    let owned = g;
    if (!exclusive || leafGrads.has(g) || g === grad || !g.isContiguous() || g.storageShared()) owned = h.copy(g);
    leafGrads.add(owned);
    h.untrack(owned);
    leaf.grad = owned;
  }
}
