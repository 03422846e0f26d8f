// distributed.mjs — data-parallel training costs on MPI, measured beside plain MPI in the same run.
//
//   node bench/distributed.mjs [--np 2] [--rounds 3] [--quick]
//
// 1. All-reduce bus bandwidth (float32, in place, op sum) of distributed.allReduce against a plain
//    C loop of MPI_Allreduce (a small helper this script compiles with mpicc), on the bucket sizes
//    DistributedDataParallel uses (1–25 MB), alternating the two in rounds so the drift of a shared
//    machine lands on both; bus bandwidth = bytes / time · 2(n − 1)/n (NCCL-tests' definition).
//    Target: ≥ 0.9× of the C loop. Measured with and without the per-collective agreement check
//    (verifyCollectives), whose small allgather is most of the fixed cost at 1 MB.
// 2. A DistributedDataParallel step of the reference MLP (784-512-256-10, SGD) on `np` ranks
//    against one process at the same total batch: time per step and the fraction of it spent
//    waiting for the gradient all-reduces after backward.
// Every figure is a median. Results are checked before they are timed (the all-reduce sums, and
// the DDP gradients against the one-process gradients of the same total batch).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };
const quick = argv.includes('--quick');
const SIZES_MB = quick ? [1, 25] : [1, 2, 4, 8, 16, 25];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

// ---- worker modes (run under mpirun) ----------------------------------------------------------------
if (argv[0] === '--worker') {
  const { distributed, nn, optim, full, randn, randint, manualSeed, tidy } = await import('../dist/index.js');
  const { rank, worldSize } = distributed.init({ timeoutMs: 120_000, verifyCollectives: !argv.includes('--no-verify') });
  const mode = argv[1];
  if (mode === 'allreduce') {
    const iters = Number(opt('--iters', 20));
    const out = {};
    for (const mb of SIZES_MB) {
      const n = (mb * 1024 * 1024) / 4;
      const t = full([n], rank + 1);
      distributed.allReduce(t); // check first: every element is 1 + 2 + … + worldSize
      const want = (worldSize * (worldSize + 1)) / 2;
      if (t.min().item() !== want || t.max().item() !== want) throw new Error(`allReduce of ${mb} MB gave wrong sums`);
      for (let i = 0; i < 3; i++) distributed.allReduce(t);
      distributed.barrier();
      const times = [];
      for (let i = 0; i < iters; i++) {
        const t0 = performance.now();
        distributed.allReduce(t);
        times.push(performance.now() - t0);
      }
      out[mb] = median(times);
      t.dispose();
    }
    if (rank === 0) console.log(JSON.stringify({ allreduce: out }));
  } else if (mode === 'ddp') {
    const totalBatch = Number(opt('--batch', 256));
    const steps = Number(opt('--steps', 30));
    const per = totalBatch / worldSize;
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const ddp = worldSize > 1 ? new nn.parallel.DistributedDataParallel(model) : null;
    const net = ddp ?? model;
    const opt_ = new optim.SGD(model.parameters(), { lr: 0.01 });
    const lossFn = new nn.CrossEntropyLoss();
    manualSeed(1);
    const x = randn([totalBatch, 784]), y = randint(0, 10, [totalBatch]);
    const xb = x.narrow(0, rank * per, per).contiguous(), yb = y.narrow(0, rank * per, per).contiguous();
    // Check: the averaged DDP gradient equals the one-process gradient of the whole batch.
    if (ddp) {
      const ref = model.clone();
      tidy(() => lossFn.forward(ref.forward(x), y).backward());
      tidy(() => lossFn.forward(net.forward(xb), yb).backward());
      let worst = 0;
      model.parameters().forEach((p, i) => {
        const a = p.grad.data(), b = ref.parameters()[i].grad.data();
        for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]) / (1e-6 + Math.abs(b[k])));
      });
      if (worst > 1e-3) throw new Error(`DDP gradients differ from the one-process gradients by ${worst} (relative)`);
      opt_.zeroGrad();
    }
    const stepTimes = [], waits = [];
    for (let s = 0; s < steps + 5; s++) {
      if (ddp) distributed.barrier();
      const t0 = performance.now();
      tidy(() => {
        opt_.zeroGrad();
        lossFn.forward(net.forward(xb), yb).backward();
        opt_.step();
      });
      const dt = performance.now() - t0;
      if (s >= 5) { stepTimes.push(dt); waits.push(ddp ? ddp.stats.lastWaitMs : 0); }
    }
    const step = median(stepTimes);
    if (rank === 0) console.log(JSON.stringify({ ddp: { worldSize, perRank: per, stepMs: step, waitMs: median(waits), waitFraction: median(waits) / step, buckets: ddp ? ddp.bucketSizes().length : 0 } }));
  }
  process.exit(0);
}

// ---- driver ------------------------------------------------------------------------------------------
const np = Number(opt('--np', 2));
const rounds = Number(opt('--rounds', quick ? 1 : 3));
if (spawnSync('mpirun', ['--version']).status !== 0 || spawnSync('mpicc', ['--version']).status !== 0) {
  console.error('bench/distributed.mjs needs OpenMPI with its compiler wrapper: apt-get install openmpi-bin libopenmpi-dev');
  process.exit(2);
}
const mpiFlags = ['--bind-to', 'none', '-np', String(np)];
if (process.getuid?.() === 0) mpiFlags.unshift('--allow-run-as-root');
if (np > cpus().length) mpiFlags.unshift('--oversubscribe');
const threads = String(Math.max(1, Math.floor(cpus().length / np)));
const env = { ...process.env, ENTRENA_NUM_THREADS: threads };

const work = mkdtempSync(join(tmpdir(), 'entrena-bench-mpi-'));
const csrc = join(work, 'allreduce.c'), cbin = join(work, 'allreduce');
writeFileSync(csrc, `
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return (x > y) - (x < y); }
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &size);
  int iters = atoi(argv[1]);
  if (rank == 0) printf("{\\"allreduce\\": {");
  for (int a = 2; a < argc; ++a) {
    int mb = atoi(argv[a]); long n = (long)mb * 1024 * 1024 / 4;
    float* buf = malloc(n * sizeof(float)); for (long i = 0; i < n; ++i) buf[i] = rank + 1;
    double* t = malloc(iters * sizeof(double));
    for (int i = 0; i < 4; ++i) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < iters; ++i) { double t0 = MPI_Wtime(); MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); t[i] = (MPI_Wtime() - t0) * 1e3; }
    qsort(t, iters, sizeof(double), cmp);
    double med = iters % 2 ? t[iters / 2] : (t[iters / 2 - 1] + t[iters / 2]) / 2;
    if (rank == 0) printf("%s\\"%d\\": %.6f", a > 2 ? ", " : "", mb, med);
    free(buf); free(t);
  }
  if (rank == 0) printf("}}\\n");
  MPI_Finalize();
  return 0;
}
`);
if (spawnSync('mpicc', ['-O2', '-o', cbin, csrc], { stdio: 'inherit' }).status !== 0) { console.error('mpicc failed'); process.exit(1); }

function run(args) {
  const r = spawnSync('mpirun', [...mpiFlags, ...args], { encoding: 'utf8', env, timeout: 600_000 });
  if (r.status !== 0) { console.error(r.stdout, r.stderr); throw new Error(`mpirun ${args.join(' ')} failed (${r.status})`); }
  return JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop());
}
const iters = quick ? '10' : '20';
const perSize = () => Object.fromEntries(SIZES_MB.map((mb) => [mb, []]));
const ours = perSize(), unchecked = perSize(), theirs = perSize();
const worker = (extra) => run([process.execPath, fileURLToPath(import.meta.url), '--worker', 'allreduce', '--iters', iters, ...(quick ? ['--quick'] : []), ...extra]).allreduce;
for (let r = 0; r < rounds; r++) {
  // The C loop runs with the MPI setting distributed.init() gives its ranks (yield while waiting).
  const c = run(['--mca', 'mpi_yield_when_idle', '1', cbin, iters, ...SIZES_MB.map(String)]).allreduce;
  const o = worker([]);
  const u = worker(['--no-verify']);
  for (const mb of SIZES_MB) { theirs[mb].push(c[mb]); ours[mb].push(o[mb]); unchecked[mb].push(u[mb]); }
}
rmSync(work, { recursive: true, force: true });
const busBw = (mb, ms) => ((mb * 1024 * 1024) / (ms / 1000)) * ((2 * (np - 1)) / np) / 1e9;
console.log(`all-reduce, float32 sum in place, ${np} ranks, medians of ${rounds} round(s) × ${iters} calls (bus bandwidth, GB/s)`);
console.log('  size    entrena ms  GB/s  ratio   unverified ms  GB/s  ratio   MPI_Allreduce ms  GB/s');
for (const mb of SIZES_MB) {
  const a = median(ours[mb]), u = median(unchecked[mb]), b = median(theirs[mb]);
  const col = (ms) => `${ms.toFixed(3).padStart(9)}  ${busBw(mb, ms).toFixed(2).padStart(5)}  ${(b / ms).toFixed(2)}×`;
  console.log(`  ${String(mb).padStart(2)} MB   ${col(a)}   ${col(u).padStart(22)}   ${b.toFixed(3).padStart(15)}  ${busBw(mb, b).toFixed(2).padStart(5)}`);
}
console.log('  (ratio: MPI_Allreduce time / ours, target ≥ 0.9; "unverified": distributed.init({ verifyCollectives: false }))');

const batch = opt('--batch', '256'), steps = quick ? '10' : '30';
const one = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', 'ddp', '--batch', batch, '--steps', steps], { encoding: 'utf8', env: { ...process.env, ENTRENA_NUM_THREADS: String(cpus().length) } });
if (one.status !== 0) throw new Error(one.stderr);
const single = JSON.parse(one.stdout.trim().split('\n').pop()).ddp;
const multi = run([process.execPath, fileURLToPath(import.meta.url), '--worker', 'ddp', '--batch', batch, '--steps', steps]).ddp;
console.log(`\nDDP step, MLP 784-512-256-10, SGD, total batch ${batch} (medians of ${steps} steps)`);
console.log(`  1 process (${cpus().length} threads):          ${single.stepMs.toFixed(2)} ms/step`);
console.log(`  ${np} ranks × ${multi.perRank} (${threads} thread(s) each): ${multi.stepMs.toFixed(2)} ms/step, waiting on all-reduce ${multi.waitMs.toFixed(2)} ms (${(100 * multi.waitFraction).toFixed(1)} % of the step), ${multi.buckets} bucket(s)`);
console.log(`  speed-up ${(single.stepMs / multi.stepMs).toFixed(2)}× (on ${cpus().length} cores shared by the ranks)`);
