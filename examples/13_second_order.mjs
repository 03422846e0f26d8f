// 13_second_order.mjs — first- and second-order optimisation on one problem (Goodfellow et al.,
// Deep Learning, §8.6): a 2-16-16-1 tanh MLP fitting two interleaved spirals (full batch, float64,
// binary cross-entropy), from the same initial weights, with
//   - SGD and Adam (first order),
//   - L-BFGS and nonlinear conjugate gradient (Polak–Ribière+), both with a strong-Wolfe line search,
//   - Newton-CG (Hessian-free, truncated Newton; Martens 2010): each iteration solves
//     (H + λI) p = −g approximately by linear CG, where every product H·v is one double backward
//     (autograd.grad of g·v with the gradient's graph), then backtracks along p (Armijo); λ adapts
//     as Levenberg–Marquardt's damping.
// Prints, per method, the iterations (parameter updates) and seconds to reach a target loss, the
// gradient evaluations, and the final loss; plots loss per iteration and per second.
import { nn, optim, data, autograd, noGrad, tidy, keep, manualSeed } from '../dist/index.js';
import { flags, pick, outPath, writeCharts, chart, printTable, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const samples = pick(f, { smoke: 120, default: 300, full: 1000 });
const iterations = pick(f, { smoke: 30, default: 400, full: 2000 });
const target = pick(f, { smoke: 0.5, default: 0.01, full: 0.005 });
const ds = data.datasets.spirals({ samples, classes: 2, noise: 0.1, seed: 0 });
const x = ds.x.cast('float64');
const y = ds.y.cast('float64').reshape([-1, 1]);
const bce = new nn.BCEWithLogitsLoss();

function net() {
  manualSeed(0); // the same initial weights for every method
  return new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 16), new nn.Tanh(), new nn.Linear(16, 1)).to('float64');
}
const lossOf = (model) => bce.forward(model.forward(x), y);

/** Runs `update` (one parameter update; returns the gradient evaluations it used) and records the loss. */
function run(name, model, update) {
  const losses = [], times = [];
  let evals = 0, hit = null;
  const start = performance.now();
  for (let it = 1; it <= iterations; it++) {
    evals += update();
    const l = noGrad(() => tidy(() => lossOf(model).item()));
    const s = (performance.now() - start) / 1000;
    losses.push(l);
    times.push(s);
    if (hit === null && l <= target) hit = { it, s };
    if (!Number.isFinite(l)) break;
  }
  return { name, losses, times, evals, hit };
}

function firstOrder(name, make) {
  const model = net();
  const opt = make(model.parameters());
  return run(name, model, () => {
    tidy(() => { opt.zeroGrad(); lossOf(model).backward(); opt.step(); });
    return 1;
  });
}

function closureBased(name, make) {
  const model = net();
  const opt = make(model.parameters());
  let evals = 0;
  const closure = () => { opt.zeroGrad(); const l = lossOf(model); l.backward(); evals++; return l; };
  return run(name, model, () => { const e0 = evals; tidy(() => opt.step(closure)); return evals - e0; });
}

/** Newton-CG with Levenberg–Marquardt damping; Hessian-vector products by double backward. */
function newtonCG(name, { cgIters = 10, lambda0 = 1 } = {}) {
  const model = net();
  const params = model.parameters();
  let lambda = lambda0;
  const dotAll = (a, b) => a.reduce((s, t, i) => s + t.mul(b[i]).sum().item(), 0);
  return run(name, model, () => tidy(() => {
    const loss = lossOf(model);
    const g = autograd.grad(loss, params, { createGraph: true });
    let evals = 1;
    const hv = (v) => {
      evals++;
      const gv = g.reduce((s, gi, i) => s.add(gi.mul(v[i]).sum()), g[0].mul(0).sum());
      return autograd.grad(gv, params, { retainGraph: true }).map((h, i) => h.add(v[i].mul(lambda)));
    };
    // Linear CG on (H + λI) p = −g, from p = 0, stopped early (truncated Newton).
    const gd = g.map((t) => t.detach());
    let p = gd.map((t) => t.mul(0));
    let r = gd.map((t) => t.neg());
    let d = r;
    let rr = dotAll(r, r);
    for (let k = 0; k < cgIters && rr > 1e-20; k++) {
      const Hd = hv(d);
      const dHd = dotAll(d, Hd);
      if (dHd <= 0) break; // negative curvature along d: stop with what we have
      const a = rr / dHd;
      p = p.map((t, i) => t.add(d[i].mul(a)));
      r = r.map((t, i) => t.sub(Hd[i].mul(a)));
      const rrNew = dotAll(r, r);
      d = r.map((t, i) => t.add(d[i].mul(rrNew / rr)));
      rr = rrNew;
    }
    if (dotAll(p, gd) >= 0) p = gd.map((t) => t.neg());
    // Backtracking (Armijo) along p; the damping shrinks after a full step, grows after a short one.
    const f0 = loss.item(), slope = dotAll(p, gd);
    const saved = params.map((w) => keep(w.detach().clone()));
    let step = 1;
    for (let k = 0; k < 20; k++) {
      noGrad(() => params.forEach((w, i) => w.copy_(saved[i].add(p[i].mul(step)))));
      evals++;
      if (noGrad(() => lossOf(model).item()) <= f0 + 1e-4 * step * slope) break;
      step /= 2;
    }
    lambda = step === 1 ? Math.max(lambda / 3, 1e-6) : Math.min(lambda * 2, 1e6);
    for (const s of saved) s.dispose();
    return evals;
  }));
}

const results = [
  firstOrder('SGD (lr 0.5)', (p) => new optim.SGD(p, { lr: 0.5 })),
  firstOrder('Adam (lr 0.02)', (p) => new optim.Adam(p, { lr: 0.02 })),
  closureBased('L-BFGS (strong Wolfe)', (p) => new optim.LBFGS(p, { maxIter: 1, historySize: 20, lineSearchFn: 'strongWolfe' })),
  closureBased('Nonlinear CG (PR+)', (p) => new optim.ConjugateGradient(p, { maxIter: 1, method: 'polak-ribiere' })),
  newtonCG('Newton-CG (Hessian-free)'),
];

printTable(results.map((r) => ({
  method: r.name,
  [`iterations to ${target}`]: r.hit ? r.hit.it : `> ${r.losses.length}`,
  [`seconds to ${target}`]: r.hit ? r.hit.s : NaN,
  'gradient evaluations': r.evals,
  'final loss': r.losses.at(-1),
})));
// Loss against time on a common grid of 80 instants (the loss reached by then).
const tMax = Math.max(...results.map((r) => r.times.at(-1)));
const grid = Array.from({ length: 80 }, (_, i) => (tMax * (i + 1)) / 80);
const lossAt = (r, t) => { let v = r.losses[0]; for (let i = 0; i < r.times.length && r.times[i] <= t; i++) v = r.losses[i]; return v; };
const file = writeCharts(outPath('13_second_order.svg'), [
  chart(results.map((r) => ({ name: r.name, values: r.losses })), { title: `Spirals (${samples} points, full batch): loss per iteration`, xLabel: 'iteration', yLabel: 'loss', logY: true }),
  chart(results.map((r) => ({ name: r.name, values: grid.map((t) => lossAt(r, t)) })), { title: 'loss against wall time', xLabel: 'seconds', yLabel: 'loss', logY: true, x: grid }),
]);
const best = results.filter((r) => r.hit).sort((a, b) => a.hit.s - b.hit.s)[0];
console.log(best ? `first to loss ${target}: ${best.name} (${best.hit.it} iterations, ${best.hit.s.toFixed(2)} s)` : `no method reached loss ${target}`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
