// gpu_check.test.ts (stress) — keeps `npm run gpu:check` working before a GPU ever runs it: the dry
// run on the emulated device (scripts/cuda-emu) goes through every step — the device probe, a GPU
// suite, a parity suite on "cuda", the sanitizer step's skip lines, every benchmark workload's check
// against its reference with the PyTorch peer's protocol — and writes its table; without a GPU the
// real check stops at once with one clear line; `npm run gpu:pack` packs what a GPU machine without
// Node needs, under the 64 MiB a transfer may carry.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'gpu_check.mjs');
const gxx = spawnSync('g++', ['--version']).status === 0;
const hasGpu = spawnSync('nvidia-smi', ['-L']).status === 0;

type Row = { step: string; check: string; status: string; result: string };

describe('npm run gpu:check', () => {
  it.skipIf(!gxx)('the dry run on the emulated device runs every step and writes the summary table', () => {
    const out = mkdtempSync(join(tmpdir(), 'gpu-check-'));
    try {
      const r = spawnSync(process.execPath, [script, '--emulated', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 1_500_000 });
      expect(r.status, r.stdout.slice(-4000) + r.stderr.slice(-2000)).toBe(0);
      expect(r.stdout).toContain('==== gpu:check summary');
      const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as { emulated: boolean; steps: Row[]; bench: { rows: { name: string; error: string | null; check: string }[] } };
      expect(report.emulated).toBe(true);
      const by = (step: string) => report.steps.filter((s) => s.step === step);
      expect(by('gpu').map((s) => s.status)).toEqual(['PASS']);
      // Two GPU suites (the training kernels; the collectives through the stand-in NCCL) and one
      // parity suite in the quick dry run, all passing with tests counted.
      const suites = by('suites').filter((s) => s.check.startsWith('test/gpu/'));
      expect(suites.map((s) => s.check)).toEqual(['test/gpu/train_kernels.test.mjs', 'test/gpu/distributed.test.mjs']);
      for (const s of suites) {
        expect(s.status, s.check).toBe('PASS');
        expect(s.result, s.check).toMatch(/^[1-9]\d* passed, 0 failed, 0 skipped/);
      }
      expect(by('suites').find((s) => s.check === 'NCCL library')?.result).toContain('the stand-in of scripts/cuda-emu');
      expect(by('parity')).toHaveLength(1);
      expect(by('parity')[0].status).toBe('PASS');
      expect(by('parity')[0].result).toMatch(/^[1-9]\d* passed, 0 failed/);
      // No GPU, no compute-sanitizer: both tools are reported as skipped, with the reason.
      expect(by('sanitize').map((s) => [s.check, s.status])).toEqual([['compute-sanitizer memcheck', 'SKIP'], ['compute-sanitizer racecheck', 'SKIP']]);
      // Every workload was checked against its reference; none failed.
      const names = report.bench.rows.map((x) => x.name.split(/[ :]/)[0]);
      expect(new Set(names)).toEqual(new Set(['SGEMM', 'BF16', 'TF32', 'device', 'fused', 'MLP', 'BatchNorm1d', 'allocator']));
      for (const x of report.bench.rows) {
        expect(x.error, x.name).toBeNull();
        expect(x.check, x.name).not.toBe('');
      }
      expect(by('bench').filter((s) => s.status === 'FAIL')).toEqual([]);
      const md = readFileSync(join(out, 'gpu-check.md'), 'utf8');
      expect(md).toContain('| step | check | status | result | target |');
      expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(report.steps.length + 2);  // the header, its rule, one line a row
      expect(readFileSync(join(out, 'gpu-check.log'), 'utf8')).toContain('$ ');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 1_500_000);

  it.skipIf(hasGpu)('without a GPU the real check stops at once with one clear line and exit status 1', () => {
    const out = mkdtempSync(join(tmpdir(), 'gpu-check-'));
    try {
      const r = spawnSync(process.execPath, [script, '--out', out], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/gpu:check: no NVIDIA GPU here \(nvidia-smi .*\)\. Run it on a machine with an NVIDIA GPU, or `npm run gpu:check -- --emulated`/);
      const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8')) as { steps: Row[] };
      expect(report.steps).toEqual([expect.objectContaining({ check: 'nvidia-smi', status: 'FAIL' })]);
      const bad = spawnSync(process.execPath, [script, '--only', 'benchmarks', '--out', out], { cwd: root, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("--only expects some of gpu,suites,parity,sanitize,bench, got 'benchmarks'");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  const built = existsSync(join(root, 'build-cuda', 'Release', 'entrena.node')) && existsSync(join(root, 'dist', 'index.js'));
  const tools = spawnSync('sh', ['-c', 'command -v xz && command -v tar']).status === 0;
  it.skipIf(!built || !tools)('gpu:pack puts node, the packages the check needs and the builds in .device/, under 64 MiB with the tracked files', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'gpu_pack.mjs')], { cwd: root, encoding: 'utf8', timeout: 900_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const dev = join(root, '.device');
    let total = 0;
    for (const f of ['node.xz', 'node_modules.tar.xz', 'node-include.tar.xz', 'build.tar.xz']) {
      expect(existsSync(join(dev, f)), f).toBe(true);
      total += statSync(join(dev, f)).size;
    }
    const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).stdout.split('\0').filter(Boolean)
      .reduce((a, f) => a + (existsSync(join(root, f)) ? statSync(join(root, f)).size : 0), 0);
    expect(total + tracked).toBeLessThan(64 * 2 ** 20);
    const list = (f: string) => spawnSync('tar', ['-tJf', join(dev, f)], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n');
    const mods = list('node_modules.tar.xz');
    for (const need of ['node_modules/vitest/vitest.mjs', 'node_modules/node-gyp-build/package.json', 'node_modules/protobufjs/package.json', 'node_modules/node-addon-api/napi.h']) {
      expect(mods, need).toContain(need);
    }
    expect(mods.some((m) => m.startsWith('node_modules/onnxruntime-node/'))).toBe(false);
    expect(mods.some((m) => m.startsWith('node_modules/typescript/'))).toBe(false);
    expect(list('build.tar.xz')).toEqual(expect.arrayContaining(['build-cuda/Release/entrena.node', 'dist/index.js']));
    expect(list('node-include.tar.xz')).toContain('include/node/node_api.h');
  }, 900_000);
});
