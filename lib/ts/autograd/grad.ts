/**
 * grad.ts — gradients as values: `grad(outputs, inputs)` (torch.autograd.grad) and the functional
 * forms built on it (torch.autograd.functional): vector-Jacobian and Jacobian-vector products,
 * Hessian-vector products and small Hessians. With `createGraph` the returned gradients carry their
 * own graph and can be differentiated again (double backward): every op's gradient rule is made of
 * ops that record (lib/ts/ops: the activations' gradients, softmax's, the index adjoints and the
 * fused batch norm's have rules of their own).
 */
import { ArgumentError, EntrenaError, ShapeError, describe } from '../errors.js';
import { checkOptions, shapeStr } from '../check.js';
import { Tensor, tidy } from '../core/tensor.js';
import { sameShape } from '../core/dtype.js';
import { filled } from '../core/kernels.js';
import { runBackward } from './engine.js';
import { mul } from '../ops/elementwise.js';
import { reshape, stack } from '../ops/shape.js';

export interface GradOptions {
  /** The gradient of each output (required for a non-scalar output; ones for a scalar). */
  gradOutputs?: Tensor | (Tensor | null | undefined)[] | null;
  /** Keep the graph for another pass through it (default: `createGraph`). */
  retainGraph?: boolean;
  /** Record the computation of the gradients, so they can be differentiated again (default false). */
  createGraph?: boolean;
  /** An input the outputs do not depend on gets null instead of an error (default false). */
  allowUnused?: boolean;
}

function tensorList(v: unknown, what: string): Tensor[] {
  const list = v instanceof Tensor ? [v] : Array.isArray(v) ? v : null;
  if (!list || list.length === 0) throw new ArgumentError(`grad: expected ${what} to be a Tensor or a non-empty array of tensors, received ${describe(v)}`);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`grad: expected ${what}[${i}] to be a Tensor, received ${describe(t)}`);
    t.assertAlive(`grad: ${what}[${i}]`);
  });
  return list as Tensor[];
}

/**
 * The gradients of `outputs` with respect to `inputs`, returned (one per input, in order) rather
 * than accumulated into `.grad`, as torch.autograd.grad. With `createGraph` they can be
 * differentiated again (gradient penalties, Hessian-vector products).
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const [g] = autograd.grad(x.pow(3).sum(), x, { createGraph: true }); // 3x² = [3, 12, 27]
 * const [h] = autograd.grad(g.sum(), x);                                // 6x  = [6, 12, 18]
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  options = checkOptions<GradOptions>(options, 'grad', ['gradOutputs', 'retainGraph', 'createGraph', 'allowUnused']);
  const outs = tensorList(outputs, 'outputs');
  const ins = tensorList(inputs, 'inputs');
  const go = options.gradOutputs;
  const seeds: (Tensor | undefined)[] = go === undefined || go === null ? outs.map(() => undefined)
    : go instanceof Tensor ? [go] : Array.isArray(go) ? go.map((g) => g ?? undefined) : (() => { throw new ArgumentError(`grad: expected gradOutputs to be a Tensor or an array, received ${describe(go)}`); })();
  if (seeds.length !== outs.length) throw new ArgumentError(`grad: expected ${outs.length} gradOutputs (one per output), received ${seeds.length}`);
  outs.forEach((o, i) => {
    if (!o.requiresGrad) throw new EntrenaError('ERR_AUTOGRAD', `grad: outputs[${i}] (shape ${shapeStr(o.shape)}) does not require grad and has no grad_fn`);
    const s = seeds[i];
    if (s === undefined) {
      if (o.size !== 1) throw new ShapeError(`grad: outputs[${i}] has shape ${shapeStr(o.shape)}; a gradient can be implicitly created only for a scalar output: pass gradOutputs`);
    } else {
      if (!(s instanceof Tensor)) throw new ArgumentError(`grad: expected gradOutputs[${i}] to be a Tensor, received ${describe(s)}`);
      if (!sameShape(s.shape, o.shape)) throw new ShapeError(`grad: gradOutputs[${i}] has shape ${shapeStr(s.shape)}, expected ${shapeStr(o.shape)} (the shape of outputs[${i}])`);
    }
  });
  ins.forEach((x, i) => {
    if (!x.requiresGrad) throw new EntrenaError('ERR_AUTOGRAD', `grad: inputs[${i}] (shape ${shapeStr(x.shape)}) does not require grad`);
  });
  const got = runBackward(outs, seeds, { inputs: ins, createGraph: options.createGraph === true, retainGraph: options.retainGraph });
  return ins.map((x, i) => {
    const g = got.get(x);
    if (g) return g;
    if (!options.allowUnused)
      throw new EntrenaError('ERR_AUTOGRAD', `grad: inputs[${i}] (shape ${shapeStr(x.shape)}) was not used to compute the outputs; pass { allowUnused: true } to get null for it`);
    return null;
  });
}

// ---- functional --------------------------------------------------------------------------------

type Inputs = Tensor | Tensor[];
type Fn = (...xs: Tensor[]) => Tensor;

/** Fresh leaves with the inputs' values that require grad (the caller's tensors are not touched). */
function leaves(inputs: Inputs, where: string): Tensor[] {
  const list = inputs instanceof Tensor ? [inputs] : Array.isArray(inputs) ? inputs : null;
  if (!list || list.length === 0) throw new ArgumentError(`${where}: expected inputs to be a Tensor or a non-empty array of tensors, received ${describe(inputs)}`);
  return list.map((x, i) => {
    if (!(x instanceof Tensor)) throw new ArgumentError(`${where}: expected inputs[${i}] to be a Tensor, received ${describe(x)}`);
    x.assertAlive(where);
    const l = x.detach();
    l.requiresGrad = true;
    return l;
  });
}
function vectors(v: Inputs | undefined, like: Tensor[], where: string, name: string): Tensor[] {
  const list = v instanceof Tensor ? [v] : Array.isArray(v) ? v : null;
  if (!list || list.length !== like.length) throw new ArgumentError(`${where}: expected ${name} to hold ${like.length} tensor(s), one per input, received ${describe(v)}`);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: expected ${name}[${i}] to be a Tensor, received ${describe(t)}`);
    if (!sameShape(t.shape, like[i].shape)) throw new ShapeError(`${where}: ${name}[${i}] has shape ${shapeStr(t.shape)}, expected ${shapeStr(like[i].shape)}`);
  });
  return list;
}
/** The gradients, zeros where an input is unused (as torch.autograd.functional does). */
function gradsOrZeros(gs: (Tensor | null)[], like: Tensor[]): Tensor[] {
  return gs.map((g, i) => g ?? filled(like[i].shape.slice(), 0, like[i].dtype, like[i].device));
}
function checkFn(fn: unknown, where: string): Fn {
  if (typeof fn !== 'function') throw new ArgumentError(`${where}: expected a function, received ${describe(fn)}`);
  return fn as Fn;
}
const one = <T>(inputs: Inputs, xs: T[]): T | T[] => (inputs instanceof Tensor ? xs[0] : xs);
/** Σᵢ ⟨gᵢ, vᵢ⟩ over the gradients that exist (recorded: it is differentiated again); null when none does. */
function dotAll(gs: (Tensor | null)[], vs: Tensor[]): Tensor | null {
  let acc: Tensor | null = null;
  gs.forEach((g, i) => {
    if (!g) return;
    const d = mul(g, vs[i]).sum();
    acc = acc ? acc.add(d) : d;
  });
  return acc;
}

/**
 * The vector-Jacobian product vᵀ·J of `fn` at `inputs` (torch.autograd.functional.vjp): returns
 * [fn(inputs), vᵀJ]. `v` has the output's shape (omit it for a scalar output).
 * @example const [y, g] = autograd.functional.vjp((x) => x.square(), x, ones([3])) // g = 2x
 */
export function vjp(fn: Fn, inputs: Inputs, v?: Tensor, options: { createGraph?: boolean } = {}): [Tensor, Tensor | Tensor[]] {
  options = checkOptions<typeof options>(options, 'vjp', ['createGraph']);
  const f = checkFn(fn, 'vjp');
  const xs = leaves(inputs, 'vjp');
  return tidy(() => {
    const out = f(...xs);
    const gs = out.requiresGrad ? grad(out, xs, { gradOutputs: v ?? null, createGraph: options.createGraph, allowUnused: true }) : xs.map(() => null);
    return [(options.createGraph ? out : out.detach()), one(inputs, gradsOrZeros(gs, xs))];
  });
}

/**
 * The Jacobian-vector product J·v of `fn` at `inputs` (torch.autograd.functional.jvp), by the
 * double-backward trick: vᵀJ is linear in a dummy output gradient u, and J·v is its gradient with
 * respect to u. Returns [fn(inputs), Jv].
 * @example const [y, jv] = autograd.functional.jvp((x) => x.square(), x, ones([3])) // jv = 2x
 */
export function jvp(fn: Fn, inputs: Inputs, v: Inputs, options: { createGraph?: boolean } = {}): [Tensor, Tensor] {
  options = checkOptions<typeof options>(options, 'jvp', ['createGraph']);
  const f = checkFn(fn, 'jvp');
  const xs = leaves(inputs, 'jvp');
  const vs = vectors(v, xs, 'jvp', 'v');
  return tidy(() => {
    const out = f(...xs);
    const u = filled(out.shape.slice(), 0, out.dtype, out.device);
    u.requiresGrad = true;
    const zero = filled(out.shape.slice(), 0, out.dtype, out.device);
    if (!out.requiresGrad) return [out.detach(), zero];
    const gs = grad(out, xs, { gradOutputs: u, createGraph: true, allowUnused: true });
    const dot = dotAll(gs, vs);
    const jv = dot && dot.requiresGrad ? grad(dot, u, { createGraph: options.createGraph, allowUnused: true })[0] ?? zero : zero;
    return [(options.createGraph ? out : out.detach()), jv];
  });
}

/**
 * The Hessian-vector product H·v of a scalar `fn` at `inputs` (torch.autograd.functional.hvp), by
 * double backward: the gradient, with its graph, dotted with v, differentiated again. Costs about
 * two gradients, whatever the size of H. Returns [fn(inputs), Hv].
 * @example const [f, hv] = autograd.functional.hvp((x) => x.pow(3).sum(), x, ones([3])) // hv = 6x
 */
export function hvp(fn: Fn, inputs: Inputs, v: Inputs, options: { createGraph?: boolean } = {}): [Tensor, Tensor | Tensor[]] {
  options = checkOptions<typeof options>(options, 'hvp', ['createGraph']);
  const f = checkFn(fn, 'hvp');
  const xs = leaves(inputs, 'hvp');
  const vs = vectors(v, xs, 'hvp', 'v');
  return tidy(() => {
    const out = f(...xs);
    if (out.size !== 1) throw new ShapeError(`hvp: expected fn to return a scalar (one element), received shape ${shapeStr(out.shape)}`);
    if (!out.requiresGrad) return [out.detach(), one(inputs, gradsOrZeros(xs.map(() => null), xs))];
    const gs = grad(out, xs, { createGraph: true, allowUnused: true });
    const dot = dotAll(gs, vs);
    const hv = dot && dot.requiresGrad ? grad(dot, xs, { createGraph: options.createGraph, allowUnused: true }) : xs.map(() => null);
    return [(options.createGraph ? out : out.detach()), one(inputs, gradsOrZeros(hv, xs))];
  });
}

/**
 * The Hessian of a scalar `fn` at one input x (torch.autograd.functional.hessian), of shape
 * [...x.shape, ...x.shape]: one Hessian-vector product per element of x, so for small x.
 * @example autograd.functional.hessian((x) => x.pow(3).sum(), tensor([1, 2])) // [[6, 0], [0, 12]]
 */
export function hessian(fn: Fn, input: Tensor): Tensor {
  const f = checkFn(fn, 'hessian');
  const [x] = leaves(input, 'hessian');
  return tidy(() => {
    const out = f(x);
    if (out.size !== 1) throw new ShapeError(`hessian: expected fn to return a scalar (one element), received shape ${shapeStr(out.shape)}`);
    const zero = filled([...x.shape, ...x.shape], 0, x.dtype, x.device);
    if (!out.requiresGrad) return zero;
    const [g] = grad(out, x, { createGraph: true, allowUnused: true });
    if (!g || !g.requiresGrad) return zero;
    const flat = reshape(g, [x.size]);
    const rows: Tensor[] = [];
    for (let i = 0; i < x.size; i++) {
      const [r] = grad(flat.narrow(0, i, 1).sum(), x, { retainGraph: true, allowUnused: true });
      rows.push(r ? reshape(r, [x.size]) : filled([x.size], 0, x.dtype, x.device));
    }
    return reshape(stack(rows, 0), [...x.shape, ...x.shape]);
  });
}

export const functional = { vjp, jvp, hvp, hessian };
