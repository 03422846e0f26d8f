// 08_gradient_clipping.mjs — gradient clipping tames an exploding set-up. A 12-layer tanh MLP with
// a large initialisation (orthogonal weights with gain 2.5: the "chaotic" regime, where gradient
// norms grow towards the input) fitted by SGD at a high learning rate on a small regression task:
//   without clipping → the loss explodes to inf/NaN; callbacks.TerminateOnNaN stops the run;
//   fit({ clipGradNorm: 1 }) → every step is bounded, and the loss goes down.
// A tiny callback records the global gradient norm before clipping at each batch. Prints where the
// unclipped run died and the clipped run's final loss; plots loss and gradient norm per batch.
import { nn, optim, data, fit, callbacks, randn, sin, cos, manualSeed, tidy } from '../dist/index.js';
import { flags, pick, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const n = pick(f, { smoke: 256, default: 2048, full: 8192 });
const epochs = pick(f, { smoke: 2, default: 20, full: 60 });
const depth = 12, width = 64, gain = 2.5, lr = 0.05;

// y = sin(x·a) + 0.5·cos(x·b) + noise, x ∈ R^8.
manualSeed(123);
const { x, y } = tidy(() => {
  const x = randn([n, 8]);
  const a = randn([8, 1]).mul(0.5), b = randn([8, 1]).mul(0.5);
  const y = sin(x.matmul(a)).add(cos(x.matmul(b)).mul(0.5)).add(randn([n, 1]).mul(0.05));
  return { x, y };
});
const ds = new data.TensorDataset(x, y);

function deepTanh() {
  const layers = [];
  for (let i = 0; i < depth; i++) {
    const lin = new nn.Linear(i === 0 ? 8 : width, i === depth - 1 ? 1 : width);
    nn.init.orthogonal(lin.weight, { gain });
    nn.init.zeros(lin.bias);
    layers.push(lin);
    if (i < depth - 1) layers.push(new nn.Tanh());
  }
  return new nn.Sequential(...layers);
}

/** The global L2 norm of all gradients after backward (before fit clips them) and the batch loss. */
class NormRecorder {
  norms = []; losses = [];
  onAfterBackward(_b, ctx) {
    let sq = 0;
    for (const p of ctx.model.parameters()) if (p.grad) sq += tidy(() => p.grad.square().sum().item());
    this.norms.push(Math.sqrt(sq));
  }
  onBatchEnd(logs) { this.losses.push(logs.loss); }
}

const results = {};
for (const clip of [undefined, 1]) {
  seed(0);
  const model = deepTanh();
  const rec = new NormRecorder();
  const nan = new callbacks.TerminateOnNaN();
  const h = await fit(model, {
    train: new data.DataLoader(ds, { batchSize: 32, shuffle: true, seed: 0 }),
    loss: new nn.MSELoss(), optimizer: new optim.SGD(model.parameters(), { lr, momentum: 0.9 }),
    epochs, clipGradNorm: clip, callbacks: [rec, nan], progress: false,
  });
  results[clip ? `clipGradNorm ${clip}` : 'no clipping'] = { h, rec, nan };
}

const rows = Object.entries(results).map(([name, { h, rec, nan }]) => ({
  setup: name, stopped: h.stopReason, epochs: h.epochs.length,
  'first NaN at': nan.at ? `epoch ${nan.at.epoch + 1}, batch ${nan.at.batch + 1}` : '-',
  'max grad norm': Math.max(...rec.norms.filter(Number.isFinite)),
  'final loss': h.last.loss,
}));
printTable(rows);
const names = Object.keys(results);
const file = writeCharts(outPath('08_gradient_clipping.svg'), [
  chart(names.map((k) => ({ name: k, values: results[k].rec.losses })), { title: `${depth}-layer tanh MLP, gain ${gain}, SGD lr ${lr}: batch loss`, xLabel: 'batch', yLabel: 'MSE', logY: true }),
  chart(names.map((k) => ({ name: k, values: results[k].rec.norms })), { title: 'Global gradient norm before clipping', xLabel: 'batch', yLabel: '‖g‖', logY: true }),
]);
const un = results['no clipping'], cl = results['clipGradNorm 1'];
console.log(`without clipping: ${un.nan.at ? `loss became ${un.nan.at.loss} at epoch ${un.nan.at.epoch + 1}, batch ${un.nan.at.batch + 1} (TerminateOnNaN)` : `final loss ${un.h.last.loss.toExponential(3)}`}; with clipGradNorm 1: final loss ${cl.h.last.loss.toFixed(4)} after ${cl.h.epochs.length} epochs`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
