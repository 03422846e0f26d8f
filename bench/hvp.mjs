// bench/hvp.mjs — Hessian-vector products by double backward on the reference MLP
// (784-512-256-10 with BatchNorm in training mode and ReLU, ≈ 0.54 M parameters, cross-entropy,
// batch 128): the cost of one H·v against one gradient in the same run, and against PyTorch on the
// same machine and the same weights.
//
// Run: node bench/hvp.mjs [--quick]      (needs dist/ and the built addon)
// 1. Check: the weights, batch and vector are written to a temporary file that PyTorch (Debian's
//    /usr/bin/python3 with python3-torch) loads; its H·v (torch.autograd.grad of g·v, g taken with
//    create_graph) must match ours (float32: max |Δ| ≤ 1e-3 · max |Hv| + 1e-5).
// 2. Time: gradients (autograd.grad of the loss) and H·v (the same with createGraph, then grad of
//    g·v), medians of several runs; PyTorch times the same two things and also
//    torch.autograd.functional.hvp (its double-backward implementation), and the ratio is taken
//    against PyTorch's faster H·v. PyTorch runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (its
//    BLAS picks its best kernels) and glibc's MALLOC_MMAP_THRESHOLD_=268435456 (no fresh-page faults).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const E = await import(path.join(root, 'dist/index.js'));
const quick = process.argv.includes('--quick');
const RUNS = quick ? 5 : 11, REPS = quick ? 3 : 10, BATCH = 128;
const threads = E.info().threads ?? 0;

E.manualSeed(0);
const model = new E.nn.Sequential(new E.nn.Linear(784, 512), new E.nn.BatchNorm1d(512), new E.nn.ReLU(),
  new E.nn.Linear(512, 256), new E.nn.BatchNorm1d(256), new E.nn.ReLU(), new E.nn.Linear(256, 10));
const params = model.parameters();
const nParams = params.reduce((s, p) => s + p.size, 0);
const x = E.rand([BATCH, 784]);
const y = E.randint(0, 10, [BATCH]);
const v = params.map((p) => E.randn(p.shape));
const ce = new E.nn.CrossEntropyLoss();

const gradient = () => E.tidy(() => { E.autograd.grad(ce.forward(model.forward(x), y), params); });
function hvp() {
  const g = E.autograd.grad(ce.forward(model.forward(x), y), params, { createGraph: true });
  const gv = g.reduce((s, gi, i) => s.add(E.sum(E.mul(gi, v[i]))), E.zeros([]));
  return E.autograd.grad(gv, params);
}

// ---- 1. check against PyTorch on the same weights ------------------------------------------------
const dir = mkdtempSync(path.join(tmpdir(), 'entrena-hvp-'));
const ours = E.tidy(() => hvp().map((h) => Float32Array.from(h.data())));
const sd = model.stateDict();
const blobs = [];
const index = {};
let offset = 0;
const add = (name, t) => {
  const a = Float32Array.from(t.data());
  index[name] = { offset, shape: t.shape };
  blobs.push(Buffer.from(a.buffer));
  offset += a.byteLength;
};
for (const [k, t] of Object.entries(sd)) if (!k.endsWith('num_batches_tracked')) add(`state.${k}`, t);
add('x', x);
add('y', y);
v.forEach((t, i) => add(`v.${i}`, t));
writeFileSync(path.join(dir, 'data.bin'), Buffer.concat(blobs));
writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));

const py = `
import json, sys, time, numpy as np, torch
torch.set_num_threads(${threads || 1})
idx = json.load(open(sys.argv[1] + '/index.json')); raw = open(sys.argv[1] + '/data.bin', 'rb').read()
get = lambda k: torch.tensor(np.frombuffer(raw, dtype=np.float32, count=int(np.prod(idx[k]['shape'])), offset=idx[k]['offset']).reshape(idx[k]['shape']).copy())
m = torch.nn.Sequential(torch.nn.Linear(784,512), torch.nn.BatchNorm1d(512), torch.nn.ReLU(), torch.nn.Linear(512,256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(), torch.nn.Linear(256,10))
m.load_state_dict({k[6:]: get(k) for k in idx if k.startswith('state.')}, strict=False)
x = get('x'); y = get('y').long(); ps = list(m.parameters()); v = [get('v.%d' % i) for i in range(len(ps))]
f = torch.nn.CrossEntropyLoss()
def grad():
    return torch.autograd.grad(f(m(x), y), ps)
def hvp():
    g = torch.autograd.grad(f(m(x), y), ps, create_graph=True)
    return torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), ps)
names = [n for n, _ in m.named_parameters()]
def loss_of(*flat):
    fc = torch.func.functional_call if hasattr(torch, 'func') else torch.nn.utils.stateless.functional_call
    out = fc(m, dict(zip(names, flat)), (x,))
    return f(out, y)
def fhvp():
    return torch.autograd.functional.hvp(loss_of, tuple(p.detach() for p in ps), tuple(v))[1]
np.concatenate([h.detach().numpy().ravel() for h in hvp()]).astype(np.float32).tofile(sys.argv[1] + '/torch_hvp.bin')
def timed(fn):
    fn(); out = []
    for _ in range(${RUNS}):
        t = time.perf_counter()
        for _ in range(${REPS}): fn()
        out.append((time.perf_counter() - t) / ${REPS} * 1000)
    return sorted(out)[len(out) // 2]
res = {'grad_ms': timed(grad), 'hvp_ms': timed(hvp)}
try:
    res['functional_hvp_ms'] = timed(fhvp)
except Exception as e:
    res['functional_hvp_error'] = str(e)[:120]
print(json.dumps(res))
`;
const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '268435456' };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;
const r = spawnSync('/usr/bin/python3', ['-c', py, dir], { encoding: 'utf8', env });
let torch = null;
if (r.status === 0) {
  const { readFileSync } = await import('node:fs');
  const th = new Float32Array(readFileSync(path.join(dir, 'torch_hvp.bin')).buffer.slice(0));
  const flat = Float32Array.from(ours.flatMap((a) => Array.from(a)));
  let maxAbs = 0, maxDiff = 0;
  for (let i = 0; i < th.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(th[i])); maxDiff = Math.max(maxDiff, Math.abs(th[i] - flat[i])); }
  console.log(`check: H·v over ${nParams} parameters, max |ours − PyTorch| = ${maxDiff.toExponential(2)} (max |Hv| ${maxAbs.toExponential(2)})`);
  if (!(th.length === flat.length && maxDiff <= 1e-3 * maxAbs + 1e-5)) { console.error('check FAILED'); process.exit(1); }
  torch = JSON.parse(r.stdout.trim().split('\n').at(-1));
} else {
  console.log(`PyTorch: not measured (/usr/bin/python3 with torch did not run: ${(r.stderr || '').trim().split('\n').at(-1)})`);
}
rmSync(dir, { recursive: true, force: true });

// ---- 2. time ours ----------------------------------------------------------------------------------
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
function timed(fn) {
  fn();
  const out = [];
  for (let k = 0; k < RUNS; k++) {
    const t = performance.now();
    for (let i = 0; i < REPS; i++) fn();
    out.push((performance.now() - t) / REPS);
  }
  return median(out);
}
const gMs = timed(gradient);
const hMs = timed(() => E.tidy(() => { hvp(); }));

console.log(`\nHessian-vector product, reference MLP (${nParams} parameters, BatchNorm training, batch ${BATCH}), ${threads} threads, medians of ${RUNS} runs`);
console.log(`  entrena   gradient ${gMs.toFixed(2)} ms   H·v ${hMs.toFixed(2)} ms   H·v / gradient ${(hMs / gMs).toFixed(2)}×`);
if (torch) {
  const best = Math.min(torch.hvp_ms, torch.functional_hvp_ms ?? Infinity);
  console.log(`  PyTorch   gradient ${torch.grad_ms.toFixed(2)} ms   H·v ${torch.hvp_ms.toFixed(2)} ms` +
    (torch.functional_hvp_ms ? `   functional.hvp ${torch.functional_hvp_ms.toFixed(2)} ms` : `   (functional.hvp: ${torch.functional_hvp_error})`));
  console.log(`  speed     H·v ${(best / hMs).toFixed(2)}× PyTorch's faster H·v; gradient ${(torch.grad_ms / gMs).toFixed(2)}× PyTorch's`);
}
