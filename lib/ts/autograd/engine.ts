/**
 * engine.ts — reverse-mode `backward` over the dynamic tape.
 *
 * Each op that sees an input requiring grad (while grad mode is on) leaves a GradNode on its output
 * (recorded by the ops' door, lib/ts/ops/door.ts; the rules live beside each op in lib/ts/ops).
 * `backward` walks the graph in reverse topological order, accumulates into leaves' `.grad`,
 * disposes every intermediate gradient it made, and frees the graph (saved tensors are released)
 * unless `retainGraph` is set.
 */
import { EntrenaError } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor, closeScope, keep, openScope } from '../core/tensor.js';
import { binary, copyAs, filled, hasNaN } from '../core/kernels.js';
import { isAnomalyEnabled, withGrad } from './graph.js';

export { GradNode, isGradEnabled, noGrad, withGrad, setDetectAnomaly, isAnomalyEnabled, detectAnomaly, type BackwardFn } from './graph.js';

/** Reverse-mode differentiation from `root` (see Tensor.backward). */
export function runBackward(root: Tensor, grad: Tensor | undefined, retainGraph: boolean): void {
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

  const anomaly = isAnomalyEnabled();
  const leafGrads = new Set<Tensor>();
  // Intermediates a tidy kept only for this graph: released once the graph is freed.
  const release = new Set<Tensor>();
  openScope();
  try {
    const seed = grad ?? filled(root.shape.slice(), 1, root.dtype, root.device);
    // A leaf as the root (x.backward() on a parameter): its gradient is the seed itself, as PyTorch.
    if (!root.gradFn) accumulateLeaf(root, seed, false);
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, seed);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradFn!;
      const inGrads = withGrad(false, () => node.backward!(g));
      if (anomaly && !hasNaN(g)) {
        inGrads.forEach((gi, j) => {
          if (gi && hasNaN(gi)) throw new EntrenaError('ERR_ANOMALY', `anomaly: the backward of '${node.name}' produced NaN in the gradient of its input ${j} (shape ${shapeStr(gi.shape)}) from a gradient without NaN`);
        });
      }
      for (let j = 0; j < node.inputs.length; j++) {
        const inp = node.inputs[j];
        const gi = inGrads[j];
        if (!inp || !gi || !inp.requiresGrad) continue;
        if (inp.gradFn) {
          const prev = grads.get(inp);
          grads.set(inp, prev ? binary('add', prev, gi, 0, 0, prev.dtype) : gi);
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
    closeScope(leafGrads);
    for (const t of release) t.dispose();
  }

  function accumulateLeaf(leaf: Tensor, g: Tensor, exclusive: boolean): void {
    if (leaf.grad && !leaf.grad.isDisposed) {
      binary('add', leaf.grad, g, 0, 0, leaf.grad.dtype, leaf.grad);
      return;
    }
    // A gradient may be shared (add passes g through to both inputs, and g may also be waiting in
    // the map for another node): the leaf takes it as is only when it is exclusively ours, fresh
    // and contiguous; otherwise it gets a copy, so later in-place accumulation touches nothing else.
    let owned = g;
    if (!exclusive || leafGrads.has(g) || g === grad || !g.isContiguous() || g.storageShared() || g.dtype !== leaf.dtype) owned = copyAs(g, leaf.dtype);
    leafGrads.add(owned);
    keep(owned);
    leaf.grad = owned;
  }
}
