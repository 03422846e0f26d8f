// schedulers.test.ts — every scheduler's learning rates (and OneCycle's momentum) step by step
// against torch.optim.lr_scheduler (fixture from scripts/gen_scheduler_fixtures.py).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as S from '../lib/ts/optim/lr_scheduler.js';

interface Case { name: string; options: Record<string, unknown>; steps: number; optimizer: 'sgd' | 'adam'; metrics: number[] | null; lrs: number[][]; momenta: number[][] }
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'schedulers.json'), 'utf8')) as { cases: Case[] };

function fakeOptimizer(kind: 'sgd' | 'adam'): S.OptimizerWithGroups {
  return kind === 'adam'
    ? { paramGroups: [{ lr: 0.1, betas: [0.9, 0.999] }, { lr: 0.01, betas: [0.9, 0.999] }] }
    : { paramGroups: [{ lr: 0.1, momentum: 0.9 }, { lr: 0.01, momentum: 0.9 }] };
}

function make(c: Case, o: S.OptimizerWithGroups): { step(m?: number): void } {
  const kind = c.name.split('-')[0];
  const opts = c.options as never;
  switch (kind) {
    case 'StepLR': return new S.StepLR(o, opts);
    case 'MultiStepLR': return new S.MultiStepLR(o, opts);
    case 'ExponentialLR': return new S.ExponentialLR(o, opts);
    case 'CosineAnnealingLR': return new S.CosineAnnealingLR(o, opts);
    case 'LinearLR': return new S.LinearLR(o, opts);
    case 'LambdaLR': return new S.LambdaLR(o, { lrLambda: (e) => 0.95 ** e });
    case 'OneCycleLR': return new S.OneCycleLR(o, opts);
    case 'SequentialLR':
      return new S.SequentialLR(o, { schedulers: [new S.LinearLR(o, { startFactor: 0.1, totalIters: 3 }), new S.ExponentialLR(o, { gamma: 0.9 })], milestones: [3] });
    case 'ReduceLROnPlateau': return new S.ReduceLROnPlateau(o, opts);
  }
  throw new Error(`unknown case ${c.name}`);
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-10 + 1e-6 * Math.abs(b);

describe.each(fixture.cases)('$name matches PyTorch', (c) => {
  it(`learning rates over ${c.steps} steps`, () => {
    const o = fakeOptimizer(c.optimizer);
    const s = make(c, o);
    const got: number[][] = [o.paramGroups.map((g) => g.lr)];
    const mom: number[][] = [o.paramGroups.map((g) => (g.betas ? g.betas[0] : (g.momentum as number)))];
    for (let i = 0; i < c.steps; i++) {
      s.step(c.metrics ? c.metrics[i] : undefined);
      got.push(o.paramGroups.map((g) => g.lr));
      mom.push(o.paramGroups.map((g) => (g.betas ? g.betas[0] : (g.momentum as number))));
    }
    // Every step and group compared: the fixture holds the initial rates and one row per step.
    expect(got.map((row) => row.length)).toEqual(c.lrs.map((row: number[]) => row.length));
    got.forEach((row, i) => row.forEach((v, j) => { if (!close(v, c.lrs[i][j])) expect.fail(`step ${i}, group ${j}: lr ${v}, PyTorch ${c.lrs[i][j]}`); }));
    if (c.name.startsWith('OneCycleLR')) {
      expect(mom.map((row) => row.length)).toEqual(c.momenta.map((row: number[]) => row.length));
      mom.forEach((row, i) => row.forEach((v, j) => { if (!close(v, c.momenta[i][j])) expect.fail(`step ${i}, group ${j}: momentum ${v}, PyTorch ${c.momenta[i][j]}`); }));
    }
  });
});

describe('scheduler validation', () => {
  const o = () => fakeOptimizer('sgd');
  it('rejects bad options with ERR_INVALID_ARGUMENT', () => {
    const bad = [
      () => new S.StepLR(o(), { stepSize: 0 }),
      () => new S.StepLR({} as never, { stepSize: 1 }),
      () => new S.MultiStepLR(o(), { milestones: [1.5] }),
      () => new S.ExponentialLR(o(), { gamma: -1 }),
      () => new S.CosineAnnealingLR(o(), { tMax: 0 }),
      () => new S.CosineAnnealingLR(o(), { tMax: 10, etaMin: Number.NaN }),
      () => new S.CosineAnnealingLR(o(), { tMax: 10, etaMin: '0' as never }),
      () => new S.LinearLR(o(), { startFactor: 0 }),
      () => new S.LambdaLR(o(), { lrLambda: 3 as never }),
      () => new S.OneCycleLR(o(), { maxLr: 0.1 }),
      () => new S.OneCycleLR(o(), { maxLr: -1, totalSteps: 10 }),
      () => new S.ReduceLROnPlateau(o(), { factor: 1 }),
      () => new S.ReduceLROnPlateau(o()).step(undefined),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
  it('OneCycleLR refuses to step past totalSteps', () => {
    const s = new S.OneCycleLR(o(), { maxLr: 0.1, totalSteps: 3 });
    s.step(); s.step(); s.step();
    expect(() => s.step()).toThrow(/more than totalSteps/);
    expect(s.interval).toBe('batch');
  });
  it('state dict round-trips', () => {
    const opt = o();
    const s = new S.StepLR(opt, { stepSize: 2 });
    s.step(); s.step(); s.step();
    const sd = s.stateDict();
    const s2 = new S.StepLR(fakeOptimizer('sgd'), { stepSize: 2 });
    s2.loadStateDict(sd);
    s2.step();
    s.step();
    expect(s2.getLastLr()).toEqual(s.getLastLr());
  });
});
