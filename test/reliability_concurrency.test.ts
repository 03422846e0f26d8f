// reliability_concurrency.test.ts — two models trained at once in one process (interleaved async
// fits) give the same numbers as one after the other. (worker_threads: reliability_workers.test.ts.)
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

/** A model, its data and optimizer, made deterministically from `seed` (consumes the global RNG). */
function setup(seed: number, width: number) {
  E.manualSeed(seed);
  const x = E.randn([120, 5]), y = E.randint(0, 3, [120]);
  const model = new E.nn.Sequential(new E.nn.Linear(5, width), new E.nn.Tanh(), new E.nn.BatchNorm1d(width), new E.nn.Linear(width, 3));
  // No Dropout and a seeded loader: nothing in the run draws from the global RNG after setup,
  // so interleaving cannot change the numbers — if the library keeps no hidden shared state.
  const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 8, shuffle: true, seed });
  const optimizer = new E.optim.Adam(model.parameters(), { lr: 0.01 });
  const scheduler = new E.optim.lrScheduler.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
  return {
    train: (callbacks: Parameters<typeof E.fit>[1]['callbacks'] = []) => E.fit(model, { train: loader, loss: new E.nn.CrossEntropyLoss(), optimizer, scheduler, epochs: 5, metrics: ['accuracy'], callbacks, progress: false }),
    weights: () => model.parameters().map((p) => Array.from(p.data())),
    dispose: () => { loader.dispose(); x.dispose(); y.dispose(); },
  };
}

describe('concurrency in one process', () => {
  it('two fits interleaved with Promise.all give the same weights and losses as sequential fits', async () => {
    const a1 = setup(11, 16), b1 = setup(22, 24);
    const ha1 = await a1.train();
    const hb1 = await b1.train();
    const a2 = setup(11, 16), b2 = setup(22, 24);
    // fit yields to the event loop between steps, so these two interleave (checked below).
    const order: string[] = [];
    const tag = (name: string) => ({ onBatchEnd: async () => { order.push(name); await new Promise((r) => setImmediate(r)); } });
    const [ha2, hb2] = await Promise.all([a2.train([tag('a')]), b2.train([tag('b')])]);
    const firstB = order.indexOf('b'), lastA = order.lastIndexOf('a');
    expect(firstB, 'the fits did not interleave').toBeLessThan(lastA);
    expect(ha2.epochs.map((e) => e.loss)).toEqual(ha1.epochs.map((e) => e.loss));
    expect(hb2.epochs.map((e) => e.loss)).toEqual(hb1.epochs.map((e) => e.loss));
    expect(a2.weights()).toEqual(a1.weights());
    expect(b2.weights()).toEqual(b1.weights());
    for (const s of [a1, b1, a2, b2]) s.dispose();
  });
});
