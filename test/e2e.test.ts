// e2e.test.ts — the end-to-end check (as llm.c's debug state): Linear → BatchNorm1d → ReLU →
// Linear with CrossEntropyLoss, loaded with PyTorch's initial weights, gives PyTorch's loss and
// every gradient, and the same loss and parameters after each of 10 Adam steps.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';

const fx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'e2e_mlp.json'), 'utf8')) as {
  x: number[]; y: number[]; shapes: Record<string, number[]>; state: Record<string, number[]>; loss: number;
  grads: Record<string, number[]>; steps: { loss: number; params: Record<string, number[]> }[];
};

// ENTRENA_TEST_DEVICE=cuda runs the model on the GPU (or the emulated CUDA backend of
// test/stress/cuda_emu.test.ts) against the same PyTorch numbers.
const DEVICE = (process.env.ENTRENA_TEST_DEVICE ?? 'cpu') as 'cpu' | 'cuda';

function build() {
  const model = new E.nn.Sequential(new E.nn.Linear(20, 16), new E.nn.BatchNorm1d(16), new E.nn.ReLU(), new E.nn.Linear(16, 5));
  const sd: Record<string, E.Tensor> = {};
  for (const [k, v] of Object.entries(fx.state)) sd[k] = E.tensor(v, { shape: fx.shapes[k], dtype: k.endsWith('num_batches_tracked') ? 'int32' : 'float32' });
  model.loadStateDict(sd);
  return model.to(DEVICE);
}
const x = E.tensor(fx.x, { shape: [32, 20], device: DEVICE });
const y = E.tensor(fx.y, { dtype: 'int32', device: DEVICE });
const close = (got: ArrayLike<number>, want: number[], rtol: number, atol: number, what: string) => {
  for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) expect.fail(`${what}[${i}]: ${got[i]} vs PyTorch ${want[i]}`);
};

describe('end to end: MLP with BatchNorm and cross-entropy', () => {
  it('loss and every gradient match PyTorch', () => {
    const model = build();
    const loss = new E.nn.CrossEntropyLoss().forward(model.forward(x), y);
    expect(loss.device).toBe(DEVICE);
    expect(Math.abs(loss.item() - fx.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(fx.loss) + 1e-6);
    loss.backward();
    for (const [name, p] of model.namedParameters()) close(p.grad!.data(), fx.grads[name], 1e-4, 1e-6, `grad ${name}`);
    // BatchNorm cancels the first bias: its gradient is zero up to rounding, here as in PyTorch.
    const firstBias = model.namedParameters().find(([n]) => n === '0.bias')![1];
    for (const v of firstBias.grad!.data()) expect(Math.abs(v)).toBeLessThan(1e-6);
  });
  it('10 Adam steps give PyTorch\'s losses and parameters (running statistics included)', () => {
    const model = build();
    const opt = new E.optim.Adam(model.parameters(), { lr: 1e-2 });
    const lossFn = new E.nn.CrossEntropyLoss();
    fx.steps.forEach((want, i) => {
      const l = E.tidy(() => {
        opt.zeroGrad();
        const loss = lossFn.forward(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
      expect(Math.abs(l - want.loss), `loss at step ${i + 1}`).toBeLessThanOrEqual(1e-3 * Math.abs(want.loss));
      const sd = model.stateDict();
      for (const [k, v] of Object.entries(want.params)) {
        // The first Linear's bias feeds BatchNorm, which subtracts the batch mean: its gradient is
        // zero up to rounding (checked above), and Adam's g/(|g|+eps) turns that rounding noise into
        // steps of up to lr in either direction, in PyTorch as here. Its value (and the running mean
        // it shifts) is therefore only bounded by lr per step; everything downstream is invariant to it.
        const noiseOnly = k === '0.bias' || k === '1.running_mean';
        close(sd[k].data(), v, noiseOnly ? 0 : 1e-3, noiseOnly ? 2 * 1e-2 * (i + 1) : 1e-5, `step ${i + 1} ${k}`);
      }
    });
  });
});
