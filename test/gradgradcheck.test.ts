// gradgradcheck.test.ts — second derivatives of every differentiable op, checked against central
// differences in float64 (torch.autograd.gradgradcheck): the gradients, taken with createGraph for
// a fixed output gradient v, are differentiated again with respect to the inputs and v. Same cases
// as the first-order suite (test/helpers/grad_cases.ts).
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import { registeredOps } from '../lib/ts/ops/index.js';
import { cases } from './helpers/grad_cases.js';

describe('gradgradcheck (float64, central differences of the gradients)', () => {
  it('has a case for every op with a gradient rule, adjoints included through their ops', () => {
    const names = new Set(cases.map((c) => c[0].split(' ')[0]));
    // The adjoint ops (an activation's gradient, indexAdd, narrowBackward, dropoutMask) are the
    // gradients of the ops named here: their own rule is what a second derivative of that op runs.
    const adjointOf: Record<string, string> = {
      reluBackward: 'relu', leakyReluBackward: 'leakyRelu', hardtanhBackward: 'hardtanh', clampBackward: 'clamp',
      signMul: 'abs', eluBackward: 'elu', seluBackward: 'selu', geluBackward: 'gelu', geluTanhBackward: 'geluTanh',
      siluBackward: 'silu', mishBackward: 'mish', softplusBackward: 'softplus', logSigmoidBackward: 'logSigmoid',
      sigmoidBackward: 'sigmoid', tanhBackward: 'tanh', indexAdd: 'indexSelect', narrowBackward: 'narrow',
      dropoutMask: 'dropout',
    };
    const exempt = new Set(['cast', 'to']); // conversions: the second derivative of a float32 round trip is noise
    const missing = registeredOps().filter((o) => o.differentiable && !exempt.has(o.name))
      .map((o) => adjointOf[o.name] ?? o.name).filter((n) => !names.has(n));
    expect(missing).toEqual([]);
  });

  it.each(cases.map(([name, fn, inputs]) => [name, fn, inputs] as const))('%s', (_name, fn, inputs) => {
    const xs = inputs();
    expect(E.gradgradcheck(fn, xs)).toBe(true);
    for (const t of xs) t.dispose();
  });
});
