/**
 * gradcheck.ts — compares autograd's gradients with central finite differences in float64, as
 * torch.autograd.gradcheck: for every output element k and input element j,
 * |J_analytic[k, j] − J_numeric[k, j]| ≤ atol + rtol · |J_numeric[k, j]|.
 */
import { checkOptions } from '../check.js';
import { ArgumentError, EntrenaError, describe } from '../errors.js';
import { writeHost } from '../core/kernels.js';
import { Tensor } from '../tensor.js';
import { noGrad, runBackward, withGrad } from './engine.js';
import { tidy } from '../core/tensor.js';
import { tensor, zerosLike } from '../ops/creation.js';
import { concat, reshape } from '../ops/shape.js';
import { grad } from './grad.js';

export interface GradcheckOptions { eps?: number; atol?: number; rtol?: number }

function write(t: Tensor, values: Float64Array): void {
  writeHost(t, values);
}

/**
 * Checks the gradients of `fn` at `inputs` (float64 tensors with requiresGrad, contiguous).
 * Returns true, or throws with the worst element.
 * @example
 * const x = randn([3], { dtype: 'float64', requiresGrad: true });
 * gradcheck((x) => x.sigmoid().mul(x), [x]); // true
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): true {
  options = checkOptions<typeof options>(options, 'gradcheck', ['eps', 'atol', 'rtol']);
  if (typeof fn !== 'function') throw new ArgumentError(`gradcheck: expected fn to be a function, received ${describe(fn)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ArgumentError(`gradcheck: expected a non-empty array of input tensors, received ${describe(inputs)}`);
  const eps = options.eps ?? 1e-6, atol = options.atol ?? 1e-5, rtol = options.rtol ?? 1e-3;
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new ArgumentError(`gradcheck: inputs[${i}] is ${describe(x)}, expected a Tensor`);
    if (x.dtype !== 'float64') throw new ArgumentError(`gradcheck: inputs[${i}] must be float64 for a meaningful check, received ${x.dtype}`);
    if (!x.isContiguous()) throw new ArgumentError(`gradcheck: inputs[${i}] must be contiguous`);
  });
  // Evaluated with grad mode on: fn may itself take gradients (gradgradcheck); tidy frees its graph.
  const evalOut = (): Float64Array => tidy(() => withGrad(true, () => Float64Array.from(fn(...inputs).data() as ArrayLike<number>)));
  // Analytic Jacobian rows: one backward per output element (gradients returned, `.grad` untouched).
  const out = fn(...inputs);
  const nOut = out.size;
  const analytic: Float64Array[][] = inputs.map((x) => Array.from({ length: nOut }, () => new Float64Array(x.size)));
  for (let k = 0; k < nOut && out.requiresGrad; k++) {
    const onehot = new Float64Array(nOut);
    onehot[k] = 1;
    const g = tensor(onehot, { shape: out.shape.slice(), dtype: out.dtype === 'float64' ? 'float64' : 'float32' });
    const got = runBackward([out], [g], { inputs, retainGraph: k < nOut - 1 });
    inputs.forEach((x, i) => {
      const gx = got.get(x);
      if (gx) analytic[i][k].set(gx.data() as Float64Array);
    });
    // (A gradient may be g itself, passed through, or shared by two inputs.)
    for (const gx of new Set([g, ...got.values()])) gx.dispose();
  }
  // Numeric Jacobian columns by central differences.
  let worst = { err: -1, input: 0, element: 0, output: 0, a: 0, n: 0 };
  inputs.forEach((x, i) => {
    const base = Float64Array.from(x.data() as Float64Array);
    for (let j = 0; j < x.size; j++) {
      const p = base.slice(); p[j] += eps; write(x, p);
      const fp = evalOut();
      const m = base.slice(); m[j] -= eps; write(x, m);
      const fm = evalOut();
      write(x, base);
      for (let k = 0; k < nOut; k++) {
        const n = (fp[k] - fm[k]) / (2 * eps);
        const a = analytic[i][k][j];
        const err = Math.abs(a - n) - (atol + rtol * Math.abs(n));
        if (!(err <= 0) && (err > worst.err || Number.isNaN(err))) worst = { err: Number.isNaN(err) ? Infinity : err, input: i, element: j, output: k, a, n };
      }
    }
  });
  if (!inputs.includes(out)) out.dispose();
  if (worst.err > 0) {
    throw new EntrenaError('ERR_AUTOGRAD', `gradcheck failed: d out[${worst.output}] / d inputs[${worst.input}][${worst.element}]: analytic ${worst.a}, numeric ${worst.n} (atol ${atol}, rtol ${rtol})`);
  }
  return true;
}

/**
 * Checks second derivatives, as torch.autograd.gradgradcheck: the gradients of `fn` with respect to
 * its inputs, computed with `createGraph` for a fixed random output gradient v, are themselves
 * checked by `gradcheck` with respect to the inputs and v — so every op's backward (its rule, and
 * the rules of the ops that rule records) is checked against central differences in float64.
 * @example
 * const x = randn([3], { dtype: 'float64', requiresGrad: true });
 * gradgradcheck((x) => x.tanh().mul(x), [x]); // true
 */
export function gradgradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions & { seed?: number } = {}): true {
  options = checkOptions<typeof options>(options, 'gradgradcheck', ['eps', 'atol', 'rtol', 'seed']);
  if (typeof fn !== 'function') throw new ArgumentError(`gradgradcheck: expected fn to be a function, received ${describe(fn)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ArgumentError(`gradgradcheck: expected a non-empty array of input tensors, received ${describe(inputs)}`);
  const shape = noGrad(() => {
    const o = fn(...inputs);
    const s = o.shape.slice();
    o.dispose();
    return s;
  });
  // A fixed output gradient away from 0 (a seeded LCG: the same v on every run).
  let state = (options.seed ?? 12345) >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    vals[i] = 0.5 + state / 4294967296;
  }
  const v = tensor(vals, { shape, dtype: 'float64', requiresGrad: true });
  try {
    return gradcheck((...args: Tensor[]) => {
      const xs = args.slice(0, -1), w = args[args.length - 1];
      const out = fn(...xs);
      const gs = grad(out, xs, { gradOutputs: w, createGraph: true, allowUnused: true });
      const parts = gs.map((g, i) => reshape(g ?? zerosLike(xs[i]), [xs[i].size]));
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    }, [...inputs, v], { eps: options.eps, atol: options.atol, rtol: options.rtol });
  } finally {
    v.dispose();
  }
}
