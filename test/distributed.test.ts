// distributed.test.ts — data-parallel training on MPI: the collectives under mpirun on 2 and 4
// ranks (oversubscribed on this 2-core machine) for every op and dtype and sizes 0, 1, odd and
// 30 M; DistributedDataParallel + DistributedSampler against one process on the concatenated
// batches (SGD in float64 to 1e-12, Adam in float32 to 1e-6); the sampler's semantics; the two
// fault cases (a rank that throws, a rank that never reaches a collective) ending the job in the
// stated time with the stated message; and the world of one outside a launcher (no MPI needed).
// The mpirun suites skip, saying so, where OpenMPI is not installed (apt-get install openmpi-bin).
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDist, root } from './helpers/dist.js';
import { data, distributed, nn, tensor, zeros, manualSeed, randn } from '../lib/ts/index.js';

// OpenMPI's mpirun (the engine speaks OpenMPI's ABI; another MPI's mpirun would not start our ranks).
const mpirunVersion = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
const hasMpirun = mpirunVersion.status === 0 && /Open MPI|OpenRTE/i.test(mpirunVersion.stdout + mpirunVersion.stderr);
const skipNote = hasMpirun ? '' : " (skipped: OpenMPI's mpirun not found — apt-get install openmpi-bin)";
const script = (name: string): string => join(root, 'test', 'distributed', name);

interface Run { code: number | null; stdout: string; stderr: string; seconds: number; lines: Record<string, unknown>[] }

/** mpirun -np `np` node script args…, with the flags a root user on a small machine needs. */
function mpirun(np: number, args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): Run {
  const t0 = performance.now();
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '--bind-to', 'none', '-np', String(np), process.execPath, ...args], {
    encoding: 'utf8', timeout: timeoutMs, cwd: root, env: { ...process.env, ENTRENA_NUM_THREADS: '1', ...env },
  });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000, lines };
}

describe('distributed: a world of one outside a launcher', () => {
  // (The first case initialises; the later ones also run alone under -t.)
  const ensureInit = (): void => { if (!distributed.isInitialized()) distributed.init({ timeoutMs: 5_000 }); };
  it('init gives rank 0 of 1 and the collectives are identities (allGather adds the rank dimension)', () => {
    // Bad options are refused before anything starts.
    expect(() => distributed.init({ backend: 'gloo' as never })).toThrow(/'mpi' or 'nccl'/);
    expect(() => distributed.init({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => distributed.init({ verifyCollectives: 1 as never })).toThrow(/verifyCollectives to be a boolean/);
    expect(() => distributed.init({ worldSize: 2 } as never)).toThrow(/unknown option 'worldSize'/);
    expect(() => distributed.allReduce(tensor([1]))).toThrow(/distributed\.init\(\) has not been called/);
    expect(distributed.isInitialized()).toBe(false);
    expect(distributed.worldSize()).toBe(1);
    // This process has no launcher environment (vitest's fork): no MPI is loaded.
    const world = distributed.init({ timeoutMs: 5_000 });
    expect(world).toEqual({ rank: 0, worldSize: 1, localRank: 0 });
    expect(distributed.isInitialized()).toBe(true);
    expect(() => distributed.init()).toThrow(/already initialised/);
    const t = tensor([1, 2, 3]);
    expect(distributed.allReduce(t, { op: 'avg' })).toBe(t);
    expect(t.toArray()).toEqual([1, 2, 3]);
    expect(distributed.allGather(tensor([[1, 2]], { dtype: 'int32' })).toArray()).toEqual([[[1, 2]]]);
    distributed.broadcast(t, 0);
    distributed.barrier();
    expect(() => distributed.broadcast(t, 1)).toThrow(/root/);
    expect(() => distributed.allReduce(t, { op: 'mean' as never })).toThrow(/'sum', 'avg', 'max', 'min'/);
    expect(() => distributed.allReduce(t, { async: true } as never)).toThrow(/unknown option 'async'/);
    expect(() => distributed.allReduce(tensor([[1, 2], [3, 4]]).T)).toThrow(/contiguous/);
  });

  it('an asyncOp collective resolves through the event loop, and a disposed tensor is refused', async () => {
    ensureInit();
    const t = tensor([4, 5]);
    const work = distributed.allReduce(t, { op: 'max', asyncOp: true });
    expect(await work).toBe(t);
    expect(work.isCompleted()).toBe(true);
    const d = tensor([1]);
    d.dispose();
    expect(() => distributed.allReduce(d)).toThrow(/disposed/);
  });

  it('DistributedDataParallel on one rank trains as the plain model, with its state-dict keys', () => {
    ensureInit();
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 1));
    const plain = model.clone();
    const ddp = new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 1 });
    expect(ddp.module).toBe(model);
    expect(Object.keys(ddp.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const x = randn([5, 3]), y = randn([5, 1]);
    new nn.MSELoss().forward(ddp.forward(x), y).backward();
    new nn.MSELoss().forward(plain.forward(x), y).backward();
    const a = model.parameters().map((p) => Array.from(p.grad!.data()));
    const b = plain.parameters().map((p) => Array.from(p.grad!.data()));
    expect(a).toEqual(b);
    expect(ddp.stats.steps).toBe(1);
    expect(() => new nn.parallel.DistributedDataParallel(model, { findUnusedParameters: true } as never)).toThrow(/unknown option 'findUnusedParameters'/);
    expect(() => new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 0 })).toThrow(/bucketCapMb/);
    ddp.dispose();
  });

  it('a parameter left without a gradient is named at the next forward', () => {
    ensureInit();
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    const ddp = new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 1e-5 });
    // Only the first layer takes part: its gradients arrive, the second layer's never do.
    model.forward(randn([1, 2])); // (unused output)
    const first = (model as unknown as { _modules: Map<string, nn.Module> })._modules.get('0')!;
    first.forward(randn([3, 2])).sum().backward();
    expect(() => ddp.forward(randn([1, 2]))).toThrow(/no gradient to 2 parameter\(s\) \(1\.weight, 1\.bias\)/);
    ddp.dispose();
  });
});

describe('Tensor.registerPostAccumulateGradHook', () => {
  it('runs once per backward, after every contribution has been accumulated', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    const h = w.registerPostAccumulateGradHook((p) => seen.push(Array.from(p.grad!.data())));
    // w is used three times: the hook sees the full gradient (2w + 3 = [5, 7]) once.
    w.mul(w).add(w.mul(3)).sum().backward();
    expect(seen).toEqual([[5, 7]]);
    w.sum().backward();
    expect(seen).toEqual([[5, 7], [6, 8]]);
    h.remove();
    w.sum().backward();
    expect(seen.length).toBe(2);
    expect(() => w.mul(2).registerPostAccumulateGradHook(() => undefined)).toThrow(/leaf/);
    expect(() => tensor([1]).registerPostAccumulateGradHook(() => undefined)).toThrow(/require grad/);
  });
});

describe('distributed.launcherWorld', () => {
  it('reads OpenMPI, Hydra and Slurm environments, and gives a world of one without a launcher', () => {
    expect(distributed.launcherWorld({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '8', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }))
      .toEqual({ rank: 3, worldSize: 8, localRank: 1, localWorldSize: 2, launcher: 'openmpi' });
    expect(distributed.launcherWorld({ PMI_RANK: '1', PMI_SIZE: '4', MPI_LOCALRANKID: '1', MPI_LOCALNRANKS: '4' }))
      .toEqual({ rank: 1, worldSize: 4, localRank: 1, localWorldSize: 4, launcher: 'hydra' });
    expect(distributed.launcherWorld({ SLURM_PROCID: '5', SLURM_NTASKS: '6', SLURM_LOCALID: '2', SLURM_NTASKS_PER_NODE: '3(x2)' }))
      .toEqual({ rank: 5, worldSize: 6, localRank: 2, localWorldSize: 3, launcher: 'slurm' });
    expect(distributed.launcherWorld({})).toEqual({ rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, launcher: null });
  });
});

describe('data.DistributedSampler', () => {
  const ds = { length: 10 };
  it('pads by repeating the first indices so every rank has the same count (PyTorch semantics)', () => {
    const shares = [0, 1, 2].map((rank) => Array.from(new data.DistributedSampler(ds, { numReplicas: 3, rank, shuffle: false })));
    expect(shares).toEqual([[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]);
    const dropped = [0, 1, 2].map((rank) => Array.from(new data.DistributedSampler(ds, { numReplicas: 3, rank, shuffle: false, dropLast: true })));
    expect(dropped).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
    // A dataset smaller than the world: padding repeats it.
    expect(Array.from(new data.DistributedSampler({ length: 2 }, { numReplicas: 5, rank: 4, shuffle: false }))).toEqual([0]);
  });

  it('shuffled: the ranks partition one permutation per epoch, which changes with setEpoch and repeats with the seed', () => {
    const n = 101, world = 4;
    const make = (rank: number, seed = 7) => new data.DistributedSampler({ length: n }, { numReplicas: world, rank, seed });
    const epoch = (e: number, seed = 7) => [0, 1, 2, 3].map((r) => { const s = make(r, seed); s.setEpoch(e); return Array.from(s); });
    const e0 = epoch(0);
    expect(e0.every((s) => s.length === 26)).toBe(true);
    const all = e0.flat();
    expect(new Set(all).size).toBe(n); // every row, 3 of them twice (padding)
    expect(all.length - n).toBe(3);
    expect(epoch(0)).toEqual(e0);
    expect(epoch(1)).not.toEqual(e0);
    expect(epoch(0, 8)).not.toEqual(e0);
  });

  it('drives a DataLoader (its epoch too), and bad options are refused', () => {
    const x = zeros([10, 1]), y = zeros([10]);
    const dsx = new data.TensorDataset(x.add(tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).reshape([10, 1])), y);
    const sampler = new data.DistributedSampler(dsx, { numReplicas: 2, rank: 1, seed: 1 });
    const loader = new data.DataLoader(dsx, { batchSize: 2, sampler });
    expect(loader.length).toBe(3);
    const rows = (): number[] => { const out: number[] = []; for (const [xb] of loader) out.push(...xb.data()); return out; };
    const first = rows(), second = rows();
    sampler.setEpoch(0);
    expect(first).toEqual(Array.from(sampler));
    sampler.setEpoch(1);
    expect(second).toEqual(Array.from(sampler));
    expect(() => new data.DataLoader(dsx, { sampler, shuffle: true })).toThrow(/exclude each other/);
    expect(() => new data.DistributedSampler(dsx, { numReplicas: 2, rank: 2 })).toThrow(/rank in \[0, 1\]/);
    expect(() => new data.DistributedSampler(dsx, { num_replicas: 2 } as never)).toThrow(/did you mean 'numReplicas'/);
    loader.dispose();
  });
});

describe('entrena train --nproc', () => {
  it('without mpirun on PATH says how to install OpenMPI and exits 2', () => {
    requireDist();
    const bin = mkdtempSync(join(tmpdir(), 'entrena-nompi-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = spawnSync(join(bin, 'node'), [join(root, 'dist', 'cli', 'main.js'), 'train', '--nproc', '2', '--epochs', '1'], { encoding: 'utf8', env: { PATH: bin }, cwd: tmpdir() });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--nproc needs OpenMPI's mpirun.*apt-get install openmpi-bin/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasMpirun)(`starts mpirun itself: 2 ranks train the built-in run, rank 0 prints and writes it${skipNote}`, () => {
    requireDist();
    const out = mkdtempSync(join(tmpdir(), 'entrena-nproc-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'train', '--nproc', '2', '--epochs', '1', '--out', out], { encoding: 'utf8', timeout: 120_000, cwd: tmpdir() });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.match(/entrena: training 'spirals' on cpu × 2 processes: .* batch 64 \(2 × 32\)/g)?.length).toBe(1);
      expect(r.stdout.match(/^test: loss/gm)?.length).toBe(1);
      for (const f of ['model.safetensors', 'history.json', 'report.html', 'config.json']) expect(existsSync(join(out, f))).toBe(true);
      expect(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs.length).toBe(1);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe(`distributed under mpirun${skipNote}`, () => {
  beforeAll(() => { if (hasMpirun) requireDist(); });

  it.skipIf(!hasMpirun)('collectives on 2 ranks: every op and dtype, sizes 0, 1, 256, 1001 and 30 M', () => {
    const r = mpirun(2, [script('collectives.mjs'), '--large']);
    expect(r.code, r.stderr).toBe(0);
    const done = r.lines.filter((l) => 'checks' in l);
    expect(done.map((l) => l.rank).sort()).toEqual([0, 1]);
    for (const l of done) expect(l.checks).toBe(202);
    expect(r.lines.filter((l) => l.large === 30_000_000).length).toBe(2);
  });

  it.skipIf(!hasMpirun)('collectives on 4 ranks (oversubscribed), 30 M included', () => {
    const r = mpirun(4, [script('collectives.mjs'), '--large']);
    expect(r.code, r.stderr).toBe(0);
    const done = r.lines.filter((l) => 'checks' in l);
    expect(done.map((l) => l.rank).sort()).toEqual([0, 1, 2, 3]);
    for (const l of done) expect(l.checks).toBe(202);
  });

  it.skipIf(!hasMpirun)('collectives on 3 ranks straight through MPI (verifyCollectives: false): every op and dtype, sizes 0, 1, 256, 1001', () => {
    const r = mpirun(3, [script('collectives.mjs'), '--no-verify']);
    expect(r.code, r.stderr).toBe(0);
    const done = r.lines.filter((l) => 'checks' in l);
    expect(done.map((l) => l.rank).sort()).toEqual([0, 1, 2]);
    for (const l of done) expect(l.checks).toBe(201);
  });

  for (const [np, opt, tol] of [[2, 'sgd', 1e-12], [3, 'sgd', 1e-12], [2, 'adam', 1e-6]] as const) {
    it.skipIf(!hasMpirun)(`DDP + DistributedSampler on ${np} ranks equals one process on the concatenated batches (${opt === 'sgd' ? 'SGD with momentum, float64, 1e-12' : 'Adam, float32, 1e-6'})`, () => {
      const r = mpirun(np, [script('ddp.mjs'), 'equivalence', opt]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.lines.length).toBe(np);
      for (const l of r.lines) {
        expect(l.maxDiff as number).toBeLessThanOrEqual(tol);
        expect(l.moved as number).toBeGreaterThan(1e-2);
        expect(l.steps).toBe(np === 2 ? 10 : 8);
        expect(l.buckets as number).toBeGreaterThan(1);
        expect(l.keys).toBe('0.weight,0.bias,2.weight,2.bias,4.weight,4.bias');
      }
    });
  }

  it.skipIf(!hasMpirun)('DDP names the first parameter that differs between ranks, and the rank, on every rank', () => {
    const r = mpirun(3, [script('ddp.mjs'), 'mismatch']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.length).toBe(3);
    for (const l of r.lines) {
      expect(l.code).toBe('ERR_SHAPE');
      expect(l.error).toMatch(/parameter 0 is '0\.weight \[16, 5\] float64' on rank 0 but '0\.weight \[17, 5\] float64' on rank 1/);
    }
  });

  it.skipIf(!hasMpirun)('DDP broadcasts rank 0\'s buffers (BatchNorm running statistics, int32 counters too) before each training forward', () => {
    const r = mpirun(3, [script('ddp.mjs'), 'buffers']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.length).toBe(3);
    for (const l of r.lines) {
      expect(l.mean).toEqual(r.lines[0].mean);
      expect(l.count).toBe(1); // rank 0's 0, plus this forward
      for (const v of l.mean as number[]) expect(Math.abs(v - 9)).toBeLessThan(0.2); // 0.9 · 10 + 0.1 · (batch mean)
    }
  });

  it.skipIf(!hasMpirun)('fit under DDP: the same history on every rank (all-rank losses and metrics), progress and file-writing callbacks on rank 0 only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-ddp-fit-'));
    try {
      const r = mpirun(2, [script('fit.mjs'), 'train', dir]);
      expect(r.code, r.stderr).toBe(0);
      const [a, b] = [0, 1].map((k) => r.lines.find((l) => l.rank === k)!);
      expect(a.epochs).toEqual(b.epochs);
      expect(a.w).toEqual(b.w);
      expect((a.epochs as unknown[]).length).toBeGreaterThanOrEqual(3);
      expect(r.stderr.match(/^epoch 1\/4 /gm)?.length).toBe(1);
      expect(existsSync(join(dir, 'log-rank0.csv'))).toBe(true);
      expect(existsSync(join(dir, 'best-rank0.safetensors'))).toBe(true);
      expect(existsSync(join(dir, 'log-rank1.csv'))).toBe(false);
      expect(existsSync(join(dir, 'best-rank1.safetensors'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasMpirun)('fit under DDP: TerminateOnNaN stops every rank at the same batch when one rank\'s loss becomes NaN', () => {
    const r = mpirun(2, [script('fit.mjs'), 'nan']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.length).toBe(2);
    for (const l of r.lines) {
      expect(l.stopReason).toBe('nan');
      expect(l.nanAt).toEqual({ epoch: 0, batch: 2, loss: null });
      expect((l.epochs as unknown[]).length).toBe(1);
    }
  });

  it.skipIf(!hasMpirun)('a rank that throws ends the whole job within seconds, non-zero, naming the rank and the error', () => {
    const r = mpirun(2, [script('faults.mjs'), 'throw'], 60_000);
    expect(r.code).not.toBe(0);
    expect(r.seconds).toBeLessThan(15);
    expect(r.stderr).toMatch(/entrena\.distributed: rank 1 of 2 failed .*Error: rank 1 fails on purpose/);
    expect(r.stdout).not.toMatch(/finished/);
  });

  it.skipIf(!hasMpirun)('a rank that never reaches a collective: the watchdog ends the job after timeoutMs, naming rank, collective, sequence number and shape', () => {
    const r = mpirun(2, [script('faults.mjs'), 'hang'], 60_000);
    expect(r.code).not.toBe(0);
    // timeoutMs is 2 s; start-up and the abort take a few more.
    expect(r.seconds).toBeGreaterThan(2);
    expect(r.seconds).toBeLessThan(20);
    expect(r.stderr).toMatch(/entrena\.distributed: rank 0 of 2: allReduce #2 \(float32 \[3, 4\], sum\) did not complete within 2000 ms/);
  });

  it.skipIf(!hasMpirun)('ranks that pass different sizes fail at once, naming both sides, instead of corrupting memory', () => {
    const r = mpirun(2, [script('faults.mjs'), 'sizes'], 60_000);
    expect(r.code).not.toBe(0);
    expect(r.seconds).toBeLessThan(15);
    expect(r.stderr).toMatch(/the ranks called different collectives: rank 0 is at collective #1, allReduce of 1000 float32 elements \(sum\), but rank 1 is at collective #1, allReduce of 5 float32 elements \(sum\)/);
  });

  it.skipIf(!hasMpirun)('a job that ends cleanly finalizes MPI by itself (mpirun exits 0)', () => {
    const r = mpirun(2, [script('faults.mjs'), 'clean'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/finished/g)?.length).toBe(2);
  });
});
