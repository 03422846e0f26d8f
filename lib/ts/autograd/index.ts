/**
 * autograd/index.ts — the `autograd` namespace: gradients as values (`grad`), the functional forms
 * (`functional.vjp`, `jvp`, `hvp`, `hessian`) and the numerical checks (`gradcheck`, `gradgradcheck`).
 * @example
 * import { autograd, tensor } from 'entrena';
 * const x = tensor([1, 2], { requiresGrad: true });
 * const [g] = autograd.grad(x.pow(3).sum(), x, { createGraph: true });
 */
export { grad, functional, vjp, jvp, hvp, hessian, type GradOptions } from './grad.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './gradcheck.js';
export { noGrad, withGrad, isGradEnabled, setDetectAnomaly, detectAnomaly, isAnomalyEnabled } from './graph.js';
