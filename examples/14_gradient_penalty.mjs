// 14_gradient_penalty.mjs — a WGAN-GP (Gulrajani et al. 2017) on a toy 2-D distribution: eight
// Gaussians on a ring. The critic's loss carries the gradient penalty λ·(‖∇ₓD(x̂)‖ − 1)² at points x̂
// between real and generated samples; ∇ₓD comes from autograd.grad with createGraph, so the
// penalty's own gradient reaches the critic's weights (double backward). test/second_order.test.ts
// checks this very loss and its gradients against PyTorch.
// Prints the Wasserstein estimate, the mean ‖∇ₓD(x̂)‖ (the penalty holds it near 1) and the share of
// generated points within 3σ of a mode; plots the critic loss, the gradient norm and the samples.
import { writeFileSync } from 'node:fs';
import { nn, optim, autograd, tidy, tensor, randn, rand, randint, indexSelect, manualSeed } from '../dist/index.js';
import { flags, pick, outPath, chart, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const steps = pick(f, { smoke: 15, default: 1500, full: 5000 });
const nCritic = 5, lambda = 10, batch = 128, sigma = 0.1;
manualSeed(0);

const centers = Array.from({ length: 8 }, (_, k) => [Math.cos((k * Math.PI) / 4) * 2, Math.sin((k * Math.PI) / 4) * 2]);
const ring = tensor(centers);
function real(n) {
  return tidy(() => indexSelect(ring, 0, randint(0, 8, [n])).add(randn([n, 2]).mul(sigma)));
}
const G = new nn.Sequential(new nn.Linear(2, 64), new nn.ReLU(), new nn.Linear(64, 64), new nn.ReLU(), new nn.Linear(64, 2));
const D = new nn.Sequential(new nn.Linear(2, 64), new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.Linear(64, 64),
  new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.Linear(64, 1));
const optG = new optim.Adam(G.parameters(), { lr: 2e-4, betas: [0.5, 0.9] });
const optD = new optim.Adam(D.parameters(), { lr: 2e-4, betas: [0.5, 0.9] });

/** The critic loss D(fake) − D(real) + λ (‖∇ₓD(x̂)‖ − 1)², and the mean gradient norm at x̂. */
function criticLoss(xr, xf) {
  const eps = rand([batch, 1]);
  const xhat = eps.mul(xr).add(eps.neg().add(1).mul(xf)).detach();
  xhat.requiresGrad = true;
  const [gx] = autograd.grad(D.forward(xhat).sum(), xhat, { createGraph: true });
  const norm = gx.square().sum(1).sqrt();
  const gp = norm.sub(1).square().mean().mul(lambda);
  return { loss: D.forward(xf).mean().sub(D.forward(xr).mean()).add(gp), norm: norm.mean().item() };
}

const wCurve = [], normCurve = [];
for (let s = 0; s < steps; s++) {
  for (let k = 0; k < nCritic; k++) {
    tidy(() => {
      const xr = real(batch), xf = G.forward(randn([batch, 2])).detach();
      optD.zeroGrad();
      const { loss, norm } = criticLoss(xr, xf);
      loss.backward();
      optD.step();
      if (k === nCritic - 1) { wCurve.push(-loss.item()); normCurve.push(norm); }
    });
  }
  tidy(() => {
    optG.zeroGrad();
    const l = D.forward(G.forward(randn([batch, 2]))).mean().neg();
    l.backward();
    optG.step();
  });
}

const samples = tidy(() => Array.from(G.forward(randn([512, 2])).data()));
let near = 0;
for (let i = 0; i < samples.length; i += 2)
  if (centers.some(([cx, cy]) => Math.hypot(samples[i] - cx, samples[i + 1] - cy) < 3 * sigma * Math.SQRT2 + 0.1)) near++;
const tail = (a) => a.slice(-Math.max(1, Math.floor(a.length / 10)));
const avg = (a) => a.reduce((p, q) => p + q, 0) / a.length;
console.log(`steps ${steps} (× ${nCritic} critic steps), λ ${lambda}`);
console.log(`Wasserstein estimate (last 10 %): ${avg(tail(wCurve)).toFixed(3)}; mean ‖∇ₓD(x̂)‖: ${avg(tail(normCurve)).toFixed(3)} (the penalty's target 1)`);
console.log(`generated points near a mode: ${((100 * near) / (samples.length / 2)).toFixed(1)} %`);

// The samples as a scatter plot beside the two curves.
const W = 560, H = 320, sx = (v) => W / 2 + v * 60, sy = (v) => H / 2 - v * 60;
const dots = [];
for (let i = 0; i < samples.length; i += 2) dots.push(`<circle cx="${sx(samples[i]).toFixed(1)}" cy="${sy(samples[i + 1]).toFixed(1)}" r="1.6" fill="#1f77b4" fill-opacity="0.6"/>`);
for (const [cx, cy] of centers) dots.push(`<circle cx="${sx(cx)}" cy="${sy(cy)}" r="6" fill="none" stroke="#d62728"/>`);
const scatter = `<g transform="translate(0 ${2 * H})"><text x="12" y="22" font-size="14" font-family="sans-serif">generated samples (blue) and the eight modes (red)</text>${dots.join('')}</g>`;
const curves = [chart([{ name: 'Wasserstein estimate', values: wCurve }], { title: 'critic: −loss per generator step', xLabel: 'generator step', yLabel: 'estimate' }),
  chart([{ name: 'mean ‖∇ₓD(x̂)‖', values: normCurve }], { title: 'gradient norm at interpolates', xLabel: 'generator step', yLabel: 'norm' })];
const body = curves.map((c, i) => `<g transform="translate(0 ${i * H})">${c.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '')}</g>`).join('\n');
const file = outPath('14_gradient_penalty.svg');
writeFileSync(file, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${3 * H}" width="${W}" height="${3 * H}">\n${body}\n${scatter}\n</svg>\n`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
