/**
 * engine.ts — reverse-mode differentiation over the dynamic tape: `backward` (gradients into the
 * leaves' `.grad`) and `grad` (gradients returned, `.grad` untouched), once or with `createGraph`,
 * which records the backward pass itself so that the gradients can be differentiated again
 * (double backward: Hessian-vector products, gradient penalties).
 *
 * Each op that sees an input requiring grad (while grad mode is on) leaves a GradNode on its output
 * (recorded by the ops' door, lib/ts/ops/door.ts; the rules live beside each op in lib/ts/ops). The
 * walk goes in reverse topological order from the roots, runs each node's rule once with the sum
 * of the gradients reaching it, and frees the graph afterwards (core/tensor.ts releaseNode: saved
 * tensors and graph-owned intermediates are disposed) unless `retainGraph` is set — which is the
 * default when `createGraph` is, as in PyTorch.
 */
import { EntrenaError } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor, closeScope, graphOf, keep, openScope, releaseNode } from '../core/tensor.js';
import { binary, copyAs, copyStrided, filled, hasNaN } from '../core/kernels.js';
import { isHalf } from '../core/dtype.js';
import { add } from '../ops/elementwise.js';
import { type GradNode, isAnomalyEnabled, setWantedGrads, withGrad } from './graph.js';

export { GradNode, isGradEnabled, noGrad, withGrad, setDetectAnomaly, isAnomalyEnabled, detectAnomaly, type BackwardFn } from './graph.js';

export interface BackwardOptions {
  /** Keep the graph for another backward through it (default: `createGraph`). */
  retainGraph?: boolean;
  /** Record the backward pass, so that the gradients can be differentiated again (default false). */
  createGraph?: boolean;
}

interface Walk extends BackwardOptions {
  /** Gradients are returned for these tensors (and `.grad` is left alone); absent: into `.grad`. */
  inputs?: readonly Tensor[];
}

/** Topological order (inputs before the tensors made from them) of the non-leaf tensors reachable from `roots`. */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  for (const root of roots) {
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
  }
  return order;
}

/**
 * The tensors whose gradient leads to one of `targets`: the targets themselves and every tensor of
 * the graph from which a target can be reached. Nothing else needs a gradient.
 */
function wantedSet(order: readonly Tensor[], targets: ReadonlySet<Tensor>): Set<Tensor> {
  const wanted = new Set<Tensor>(targets);
  for (const t of order) {
    if (wanted.has(t)) continue;
    for (const inp of t.gradFn!.inputs) if (inp && wanted.has(inp)) { wanted.add(t); break; }
  }
  return wanted;
}

/**
 * Reverse-mode differentiation from `roots` seeded with `seeds` (ones for a missing seed). Without
 * `walk.inputs`, gradients accumulate into the leaves' `.grad`; with it, the gradients of those
 * tensors are returned in a map (absent: not reached) and `.grad` is not touched.
 */
export function runBackward(roots: readonly Tensor[], seeds: readonly (Tensor | undefined)[], walk: Walk = {}): Map<Tensor, Tensor> {
  const createGraph = walk.createGraph === true;
  const retainGraph = walk.retainGraph ?? createGraph;
  for (const root of roots) {
    if (!root.requiresGrad)
      throw new EntrenaError('ERR_AUTOGRAD', 'backward: the tensor does not require grad and has no grad_fn (did you call it inside noGrad, or on a detached tensor?)');
  }
  const order = topoOrder(roots);
  const targets = walk.inputs ? new Set(walk.inputs) : null;
  const wanted = targets ? wantedSet(order, targets) : null;
  const anomaly = isAnomalyEnabled();
  // Sums of gradients: recorded (an add node) when the graph is being created, in place otherwise.
  // (16-bit gradients are summed by the add op, which computes in float32 and rounds once.)
  const sum = (a: Tensor, b: Tensor): Tensor => (createGraph || isHalf(a.dtype) ? add(a, b) : binary('add', a, b, 0, 0, a.dtype));

  // Post-accumulate-grad hooks (Tensor.registerPostAccumulateGradHook) run once per leaf, when the
  // last node that can send it a gradient has run: count those edges for the hooked leaves.
  const hookedEdges = targets ? null : countHookedEdges(order);
  const hookedReached = new Set<Tensor>();
  const leafGrads = new Set<Tensor>();
  const captured = new Map<Tensor, Tensor>();
  const processed: GradNode[] = [];
  const userSeeds = new Set(seeds.filter((g): g is Tensor => g instanceof Tensor));
  const prevWanted = setWantedGrads(wanted);
  openScope();
  try {
    const grads = new Map<Tensor, Tensor>();
    roots.forEach((root, i) => {
      const seed = seeds[i] ?? filled(root.shape.slice(), 1, root.dtype, root.device);
      const prev = grads.get(root);
      grads.set(root, prev ? sum(prev, seed) : seed);
    });
    // A leaf as a root (x.backward() on a parameter): its gradient is the seed itself, as PyTorch.
    for (const root of roots) if (!root.gradFn && grads.has(root)) deliver(root, grads.get(root)!, false);
    if (hookedEdges) for (const root of roots) if (!root.gradFn && grads.has(root) && !hookedEdges.has(root)) runHooks(root);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) { if (hookedEdges) edgesDone(t.gradFn!); continue; }
      grads.delete(t);
      if (targets && targets.has(t)) captured.set(t, g);
      if (wanted && !wanted.has(t)) continue;
      const node = t.gradFn!;
      const inGrads = withGrad(createGraph, () => node.backward!(g));
      processed.push(node);
      if (anomaly && !hasNaN(g)) {
        inGrads.forEach((gi, j) => {
          if (gi && hasNaN(gi)) throw new EntrenaError('ERR_ANOMALY', `anomaly: the backward of '${node.name}' produced NaN in the gradient of its input ${j} (shape ${shapeStr(gi.shape)}) from a gradient without NaN`);
        });
      }
      for (let j = 0; j < node.inputs.length; j++) {
        const inp = node.inputs[j];
        const gi = inGrads[j];
        if (!inp || !gi || !inp.requiresGrad || (wanted && !wanted.has(inp))) continue;
        if (inp.gradFn) {
          const prev = grads.get(inp);
          grads.set(inp, prev ? sum(prev, gi) : gi);
        } else {
          // gi is exclusively ours only if the rule made it (not a pass-through of g) for one input.
          deliver(inp, gi, gi !== g && inGrads.indexOf(gi) === inGrads.lastIndexOf(gi));
        }
      }
      if (hookedEdges) edgesDone(node);
    }
    // (Every counted edge has been seen by now; this only guards against a count that never closed.)
    if (hookedEdges) for (const leaf of [...hookedReached]) runHooks(leaf);
  } finally {
    setWantedGrads(prevWanted);
    const kept = new Set<Tensor>([...leafGrads, ...captured.values()]);
    closeScope(kept, createGraph ? graphOf(kept) : new Set());
    if (!retainGraph) for (const node of processed) releaseNode(node);
  }
  return captured;

  /** The edges of `node` to hooked leaves are done: a leaf whose last edge this was runs its hooks. */
  function edgesDone(node: GradNode): void {
    for (const inp of node.inputs) {
      if (!inp || inp.gradFn || !hookedEdges!.has(inp)) continue;
      const left = hookedEdges!.get(inp)! - 1;
      hookedEdges!.set(inp, left);
      if (left === 0 && hookedReached.has(inp)) runHooks(inp);
    }
  }
  function runHooks(leaf: Tensor): void {
    hookedReached.delete(leaf);
    for (const hook of [...(leaf._postAccumulateGradHooks ?? [])]) hook(leaf);
  }

  /** A leaf's gradient: into the capture map, or accumulated into `.grad`. */
  function deliver(leaf: Tensor, g: Tensor, exclusive: boolean): void {
    if (!targets && leaf._postAccumulateGradHooks?.length) hookedReached.add(leaf);
    if (targets) {
      if (!targets.has(leaf)) return;
      const prev = captured.get(leaf);
      captured.set(leaf, prev ? sum(prev, g) : g);
      return;
    }
    const old = leaf.grad && !leaf.grad.isDisposed ? leaf.grad : null;
    if (createGraph) {
      // Out of place, so the new gradient keeps its graph (and the old one stays its input).
      const next = old ? add(old, g) : g.dtype === leaf.dtype ? g : copyAs(g, leaf.dtype);
      if (old) old._graphOwned = true;
      leafGrads.add(next);
      keep(next);
      leaf._replaceGrad(next);
      return;
    }
    if (old) {
      if (isHalf(old.dtype)) {
        const total = add(old, g);
        copyStrided(old, total);
        total.dispose();
      } else {
        binary('add', old, g, 0, 0, old.dtype, old);
      }
      return;
    }
    // A gradient may be shared (add passes g through to both inputs, and g may also be waiting in
    // the map for another node): the leaf takes it as is only when it is exclusively ours, fresh
    // and contiguous; otherwise it gets a copy, so later in-place accumulation touches nothing else.
    let owned = g;
    if (!exclusive || leafGrads.has(g) || userSeeds.has(g) || !g.isContiguous() || g.storageShared() || g.dtype !== leaf.dtype) owned = copyAs(g, leaf.dtype);
    leafGrads.add(owned);
    keep(owned);
    leaf.grad = owned;
  }
}

/** For each leaf with post-accumulate-grad hooks: how many edges of the graph's nodes lead to it. */
function countHookedEdges(order: readonly Tensor[]): Map<Tensor, number> {
  const counts = new Map<Tensor, number>();
  for (const t of order) {
    for (const inp of t.gradFn!.inputs) {
      if (inp && !inp.gradFn && inp.requiresGrad && inp._postAccumulateGradHooks?.length) counts.set(inp, (counts.get(inp) ?? 0) + 1);
    }
  }
  return counts;
}
