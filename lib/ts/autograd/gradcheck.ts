/**
 * gradcheck.ts — compares autograd's gradients with central finite differences in float64, as
 * torch.autograd.gradcheck: for every output element k and input element j,
 * |J_analytic[k, j] − J_numeric[k, j]| ≤ atol + rtol · |J_numeric[k, j]|.
 */
import { ArgumentError, EntrenaError, describe } from '../errors.js';
import { writeHost } from '../core/kernels.js';
import { Tensor } from '../tensor.js';
import { noGrad } from './engine.js';
import { tensor } from '../ops/creation.js';

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
  if (typeof fn !== 'function') throw new ArgumentError(`gradcheck: expected fn to be a function, received ${describe(fn)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) throw new ArgumentError(`gradcheck: expected a non-empty array of input tensors, received ${describe(inputs)}`);
  const eps = options.eps ?? 1e-6, atol = options.atol ?? 1e-5, rtol = options.rtol ?? 1e-3;
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new ArgumentError(`gradcheck: inputs[${i}] is ${describe(x)}, expected a Tensor`);
    if (x.dtype !== 'float64') throw new ArgumentError(`gradcheck: inputs[${i}] must be float64 for a meaningful check, received ${x.dtype}`);
    if (!x.isContiguous()) throw new ArgumentError(`gradcheck: inputs[${i}] must be contiguous`);
  });
  const evalOut = (): Float64Array => noGrad(() => {
    const o = fn(...inputs);
    const d = Float64Array.from(o.data() as ArrayLike<number>);
    o.dispose();
    return d;
  });
  // Analytic Jacobian rows: one backward per output element.
  const out = fn(...inputs);
  const nOut = out.size;
  const analytic: Float64Array[][] = inputs.map((x) => Array.from({ length: nOut }, () => new Float64Array(x.size)));
  for (let k = 0; k < nOut; k++) {
    for (const x of inputs) { x.grad = null; }
    const onehot = new Float64Array(nOut);
    onehot[k] = 1;
    const g = tensor(onehot, { shape: out.shape.slice(), dtype: out.dtype === 'float64' ? 'float64' : 'float32' });
    out.backward(g, { retainGraph: k < nOut - 1 });
    g.dispose();
    inputs.forEach((x, i) => {
      if (x.grad) analytic[i][k].set(x.grad.data() as Float64Array);
    });
  }
  for (const x of inputs) { x.grad = null; }
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
