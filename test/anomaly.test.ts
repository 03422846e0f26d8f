// anomaly.test.ts — the opt-in anomaly mode names the op that produced the first NaN, in the
// forward pass or in a gradient rule; it is off by default.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

function anomaly(fn: () => unknown): E.EntrenaError {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(E.EntrenaError); return e as E.EntrenaError; }
  throw new Error('expected ERR_ANOMALY');
}

describe('anomaly detection', () => {
  it('is off by default: NaN flows through silently', () => {
    expect(E.isAnomalyEnabled()).toBe(false);
    const x = E.tensor([-1, 2], { requiresGrad: true });
    expect(Number.isNaN(E.log(x).sum().item())).toBe(true);
  });

  it('names the forward op that produced NaN from finite inputs', () => {
    const x = E.tensor([-1, 2], { requiresGrad: true });
    const e = anomaly(() => E.detectAnomaly(() => x.mul(2).log().sum()));
    expect(e.code).toBe('ERR_ANOMALY');
    expect(e.message).toMatch(/'log' produced NaN in the forward pass/);
    expect(E.isAnomalyEnabled()).toBe(false);
  });

  it('does not blame an op whose input already held NaN', () => {
    const x = E.tensor([NaN, 2], { requiresGrad: true });
    expect(() => E.detectAnomaly(() => x.mul(2).add(1).sum())).not.toThrow();
  });

  it('names the gradient rule that produced NaN in backward', () => {
    const x = E.tensor([0, 4], { requiresGrad: true });
    E.setDetectAnomaly(true);
    try {
      const y = x.sqrt().mul(E.tensor([0, 1])).sum(); // forward is finite
      const e = anomaly(() => y.backward());
      expect(e.code).toBe('ERR_ANOMALY');
      expect(e.message).toMatch(/backward of 'sqrt' produced NaN/);
    } finally {
      E.setDetectAnomaly(false);
    }
  });
});
