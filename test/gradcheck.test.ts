// gradcheck.test.ts — every differentiable op checked against central finite differences in
// float64 (DESIGN principle 11), on the cases of test/helpers/grad_cases.ts.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import { registeredOps } from '../lib/ts/ops/index.js';
import { cases } from './helpers/grad_cases.js';

/**
 * Differentiable ops without a first-order case of their own, and why: a conversion (its gradient
 * is a conversion back: door.test.ts checks the dtype), a device transfer (the cuda suites), and
 * the adjoint ops that exist to make a gradient differentiable again — they are checked, through
 * the op whose gradient they compute, by the second-order suite (gradgradcheck.test.ts).
 */
const FIRST_ORDER_EXEMPT = (name: string): boolean =>
  ['cast', 'to', 'indexAdd', 'dropoutMask', 'narrowBackward'].includes(name) || (name.endsWith('Backward') && name !== 'narrowBackward') || name === 'signMul';

describe('gradcheck (float64, central differences)', () => {
  it('has a case for every differentiable op the door knows', () => {
    const names = new Set(cases.map((c) => c[0].split(' ')[0]));
    const differentiable = registeredOps().filter((o) => o.differentiable).map((o) => o.name);
    expect(differentiable.length).toBeGreaterThan(50);
    expect(differentiable.filter((o) => !names.has(o) && !FIRST_ORDER_EXEMPT(o))).toEqual([]);
    // Composite ops (made of other ops) have no definition of their own but are checked too.
    expect(['std', 'stack', 'flatten', 'transpose', 'squeeze', 'unsqueeze', 'T'].filter((o) => !names.has(o))).toEqual([]);
  });

  it.each(cases.map(([name, fn, inputs]) => [name, fn, inputs] as const))('%s', (_name, fn, inputs) => {
    const xs = inputs();
    expect(E.gradcheck(fn, xs)).toBe(true);
    for (const t of xs) t.dispose();
  });
});
