#!/usr/bin/env node
// gpu_check.mjs — `npm run gpu:check`: everything a GPU machine must show about the CUDA backend,
// in one command, ending in one summary table (also written to DIR/gpu-check.md and
// DIR/gpu-check.json, with every step's full output in DIR/gpu-check.log).
//
//   npm run gpu:check -- --out DIR                on a machine with an NVIDIA GPU
//   npm run gpu:check -- --emulated --out DIR     dry run on the emulated device (scripts/cuda-emu): every
//                                                 step and check runs, no speed figures
//   bash scripts/gpu_run.sh --out DIR             the same on a GPU machine without Node or npm
//                                                 (after `npm run gpu:pack` here; see docs/gpu-check.md)
// Options: --only gpu,suites,parity,sanitize,bench   run some steps (a rerun after a fix)
//          --budget SECONDS                           stop starting steps after this (default 450)
//          --quick                                    fewer suites (for the dry run's own test)
//
// Steps, in order:
//   1. gpu       nvidia-smi (name, driver, compute capability); the addon must load and see the GPU;
//                if it does not load (built against another system) and nvcc + cmake are there, it is
//                rebuilt for this GPU's architecture first. No GPU: one clear line, exit status 1.
//   2. suites    every test/gpu suite (node --test) against the CUDA build;
//      parity    the op, layer/loss, optimizer, end-to-end, data, tensor and fit suites with
//                ENTRENA_TEST_DEVICE=cuda, against PyTorch's numbers in the committed fixtures;
//   3. sanitize  compute-sanitizer memcheck and racecheck over the raw-kernel GPU suites (skipped,
//                with the reason, where the tool is missing or refuses the device);
//   4. bench     bench/gpu.mjs: SGEMM, copy rate, fused Adam, the MLP step, BatchNorm, the allocator,
//                each against PyTorch on the same GPU in the same run.
// Exit status: 0 when nothing failed (a speed target missed is reported, not a failure), else 1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let args;
try {
  ({ values: args } = parseArgs({
    options: {
      emulated: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(root, 'gpu-check-out') }, budget: { type: 'string' }, only: { type: 'string', default: '' },
    },
  }));
} catch (e) {
  console.error(`gpu:check: ${e.message} (options: --out DIR, --emulated, --quick, --only STEPS, --budget SECONDS)`);
  process.exit(2);
}
const emulated = args.emulated;
const quick = args.quick;
const outDir = path.resolve(args.out);
const budgetS = Number(args.budget ?? (emulated ? 3600 : 450));
const STEPS = ['gpu', 'suites', 'parity', 'sanitize', 'bench'];
const only = args.only.split(',').filter(Boolean);
for (const s of only) if (!STEPS.includes(s)) { console.error(`gpu:check: --only expects some of ${STEPS.join(',')}, got '${s}'`); process.exit(2); }
const wants = (s) => only.length === 0 || only.includes(s) || s === 'gpu';

fs.mkdirSync(outDir, { recursive: true });
const logPath = path.join(outDir, 'gpu-check.log');
fs.writeFileSync(logPath, `gpu:check ${new Date().toISOString()} ${emulated ? '(emulated device)' : ''}\n`);
const log = (text) => fs.appendFileSync(logPath, text.endsWith('\n') ? text : text + '\n');
const say = (line) => { console.log(line); log(line); };
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;

const addon = emulated ? path.join(root, 'build-cuda-emu', 'entrena.node') : path.join(root, 'build-cuda', 'Release', 'entrena.node');
const env = { ...process.env, ENTRENA_ADDON: addon, ENTRENA_TEST_CUDA_ADDON: addon };

/** Runs a command with a time limit; resolves to { code, out, timedOut, seconds }. All output goes to the log. */
function run(cmd, args, { timeoutS, extraEnv = {}, cwd = root } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    log(`\n$ ${[cmd, ...args].join(' ')}`);
    let out = '';
    let child;
    try {
      child = spawn(cmd, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      resolve({ code: -1, out: String(e), timedOut: false, seconds: 0 });
      return;
    }
    const take = (d) => { const s = d.toString(); out += s; log(s); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    // The whole process group: node --test and vitest start children of their own.
    const timer = setTimeout(() => { timedOut = true; try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutS * 1000);
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, timedOut, seconds: (Date.now() - t0) / 1000 });
    });
  });
}
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
function findTool(name) {
  if (has(name)) return name;
  for (const dir of ['/usr/local/cuda/bin', '/opt/cuda/bin', ...(process.env.CUDA_HOME ? [path.join(process.env.CUDA_HOME, 'bin')] : [])]) {
    if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/**
 * The NCCL library for test/gpu/distributed.test.mjs: ENTRENA_NCCL_LIB, else one the loader finds,
 * else the one PyTorch's nvidia-nccl wheel carries (GPU images ship NCCL that way); on the emulated
 * device, the stand-in of scripts/cuda-emu (a world of one on host memory: the wiring, not NCCL).
 */
function findNccl() {
  if (process.env.ENTRENA_NCCL_LIB) return { lib: process.env.ENTRENA_NCCL_LIB, how: 'ENTRENA_NCCL_LIB' };
  if (emulated) {
    const lib = path.join(root, 'build-cuda-emu', 'libnccl.so.2');
    const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O1', '-o', lib, path.join(root, 'scripts', 'cuda-emu', 'nccl_standin.c')], { encoding: 'utf8' });
    return cc.status === 0 ? { lib, how: 'the stand-in of scripts/cuda-emu (a world of one)' } : { lib: null, how: `the stand-in did not compile: ${cc.stderr || cc.error}` };
  }
  const ld = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  if (/libnccl\.so\.2\b/.test(ld.stdout ?? '')) return { lib: null, found: true, how: 'the system loader (ldconfig)' };
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', "import nvidia.nccl as m, os; print(os.path.join(list(m.__path__)[0], 'lib', 'libnccl.so.2'))"], { encoding: 'utf8' });
    const lib = r.status === 0 ? r.stdout.trim() : '';
    if (lib && fs.existsSync(lib)) return { lib, how: `PyTorch's nvidia-nccl wheel (${py})` };
  }
  return { lib: null, how: 'not found (no libnccl.so.2 for the loader, no nvidia-nccl wheel)' };
}

// ---- the summary --------------------------------------------------------------------------------

/** Rows of the table: { step, check, result, target, status: PASS | FAIL | SKIP | MISS | INFO, seconds }. */
const rows = [];
const report = { started: new Date().toISOString(), emulated, host: { cpus: os.cpus().length, node: process.version }, gpu: null, steps: rows, bench: null };
function row(step, check, status, result, { target = '', seconds = null } = {}) {
  const r = { step, check, status, result, target, seconds };
  rows.push(r);
  say(`[${status}] ${check}: ${result}${target ? ` (target: ${target})` : ''}`);
  return r;
}
/** True (and a SKIP row) when `step` may not start: the budget, less what later steps keep, is spent. */
function overBudget(step, reserveS = 0) {
  if (elapsed() < budgetS - reserveS) return false;
  row(step, step, 'SKIP', `not started: the time budget of ${budgetS} s is spent${reserveS ? ` (${reserveS} s kept for the benchmarks)` : ''} (rerun with --only ${step})`);
  return true;
}
/** A step's time limit, cut so that it ends by the budget's end (plus a minute's grace) on a GPU. */
const limit = (seconds) => (emulated ? seconds : Math.max(30, Math.min(seconds, budgetS + 60 - elapsed())));

function writeReport() {
  report.seconds = elapsed();
  fs.writeFileSync(path.join(outDir, 'gpu-check.json'), JSON.stringify(report, null, 2));
  const esc = (s) => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ');
  const md = [
    `# gpu:check — ${emulated ? 'dry run on the emulated device (no speed figures)' : report.gpu?.name ?? 'no GPU'}`,
    '',
    report.gpu ? `GPU: ${report.gpu.name}, driver ${report.gpu.driver}, compute capability ${report.gpu.cc}, ${report.gpu.memory}; ` +
      `${report.host.cpus} CPUs, node ${report.host.node}; ${report.seconds.toFixed(0)} s in all.` : '',
    '',
    '| step | check | status | result | target |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.step} | ${esc(r.check)} | ${r.status} | ${esc(r.result)} | ${esc(r.target)} |`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'gpu-check.md'), md);
  return md;
}
function printTable() {
  const w = { check: 0, status: 6, result: 0 };
  for (const r of rows) { w.check = Math.max(w.check, r.check.length); w.result = Math.min(110, Math.max(w.result, r.result.length)); }
  const line = (c, s, res, t) => `${c.padEnd(w.check)}  ${s.padEnd(w.status)}  ${res}${t ? `   [${t}]` : ''}`;
  say('');
  say(`==== gpu:check summary — ${emulated ? 'emulated device, no speed figures' : report.gpu?.name ?? 'no GPU'}; ${elapsed().toFixed(0)} s ====`);
  say(line('check', 'status', 'result', ''));
  say('-'.repeat(w.check + w.status + 20));
  for (const r of rows) say(line(r.check, r.status, r.result, r.target));
  say(`(full output: ${path.join(outDir, 'gpu-check.log')}; table: gpu-check.md, gpu-check.json)`);
}

// ---- 1. the GPU and the addon -------------------------------------------------------------------

/** Loads the addon in a child (a failed load must not take this script down); returns what it saw. */
function probeAddon() {
  const code = `const a = require(${JSON.stringify(addon)}); a.init(new Float64Array(128), (c, m) => new Error(m));
    console.log(JSON.stringify({ compiled: a.cudaCompiled(), available: a.cudaAvailable(), count: a.cudaCompiled() ? a.cudaDeviceCount() : 0 }));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) {
    // Node prints the source line and a caret first; the reason is on the line naming the error.
    const lines = (r.stderr || r.stdout || String(r.error)).trim().split('\n').map((l) => l.trim()).filter(Boolean);
    return { error: lines.find((l) => /^\w*Error\b|error:/i.test(l)) ?? lines.pop() };
  }
  try { return JSON.parse(r.stdout.trim().split('\n').pop()); } catch { return { error: r.stdout.trim() }; }
}

async function stepGpu() {
  if (emulated) {
    report.gpu = { name: 'emulated device (scripts/cuda-emu)', driver: '-', cc: '-', memory: '4 GiB of host memory' };
    const b = await run(process.execPath, [path.join(root, 'scripts', 'cuda-emu', 'build.mjs')], { timeoutS: 1200 });
    if (b.code !== 0) { row('gpu', 'emulated CUDA build', 'FAIL', `scripts/cuda-emu/build.mjs failed (exit ${b.code}${b.timedOut ? ', timed out' : ''})`); return false; }
    const p = probeAddon();
    const ok = !p.error && p.compiled && p.available;
    row('gpu', 'device', ok ? 'PASS' : 'FAIL', ok ? 'emulated CUDA device: no GPU, every CUDA thread a fiber on the host' : `the emulated addon does not see its device: ${p.error ?? JSON.stringify(p)}`, { seconds: b.seconds });
    return ok;
  }
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,compute_cap,memory.total', '--format=csv,noheader'], { encoding: 'utf8' });
  if (smi.error || smi.status !== 0 || !smi.stdout.trim()) {
    say(`gpu:check: no NVIDIA GPU here (nvidia-smi ${smi.error ? 'is not installed' : `failed: ${(smi.stderr || smi.stdout).trim()}`}). ` +
      'Run it on a machine with an NVIDIA GPU, or `npm run gpu:check -- --emulated` for the dry run.');
    row('gpu', 'nvidia-smi', 'FAIL', 'no NVIDIA GPU');
    return false;
  }
  const [name, driver, cc, memory] = smi.stdout.trim().split('\n')[0].split(',').map((s) => s.trim());
  report.gpu = { name, driver, cc, memory };
  row('gpu', 'nvidia-smi', 'INFO', `${name}, driver ${driver}, compute capability ${cc}, ${memory}`);
  let p = fs.existsSync(addon) ? probeAddon() : { error: `${path.relative(root, addon)} is missing` };
  if (p.error || !p.compiled) {
    // Built on another system (glibc, CUDA runtime) or not at all: rebuild here for this GPU.
    const why = p.error ?? 'the addon was built without CUDA';
    if (!findTool('nvcc') || !has('cmake')) {
      row('gpu', 'addon loads', 'FAIL', `${why}; no nvcc/cmake here to rebuild it (npm run build:cuda on a machine like this one)`);
      return false;
    }
    say(`the CUDA addon does not load here (${why}); rebuilding it for compute capability ${cc}`);
    const includeDir = [process.env.NODE_INCLUDE_DIR, path.join(root, '.device', 'include', 'node'), path.join(path.dirname(process.execPath), '..', 'include', 'node')]
      .find((d) => d && fs.existsSync(path.join(d, 'node_api.h')));
    const nvcc = findTool('nvcc');
    const b = await run(process.execPath, [path.join(root, 'scripts', 'build-cuda.mjs')], {
      timeoutS: 600,
      extraEnv: { ENTRENA_CUDA: 'ON', CMAKE_CUDA_ARCHITECTURES: cc.replace('.', ''), ...(includeDir ? { NODE_INCLUDE_DIR: includeDir } : {}),
        PATH: `${path.dirname(nvcc)}:${process.env.PATH}`, CUDACXX: nvcc === 'nvcc' ? (spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).stdout.trim()) : nvcc },
    });
    if (b.code !== 0) { row('gpu', 'addon rebuild', 'FAIL', `npm run build:cuda failed here (exit ${b.code}); see the log`, { seconds: b.seconds }); return false; }
    row('gpu', 'addon rebuild', 'INFO', `rebuilt for sm_${cc.replace('.', '')} in ${b.seconds.toFixed(0)} s (the carried build did not load: ${why})`, { seconds: b.seconds });
    p = probeAddon();
  }
  const ok = !p.error && p.compiled && p.available;
  row('gpu', 'addon sees the GPU', ok ? 'PASS' : 'FAIL', ok ? `cudaAvailable() = true, ${p.count} device(s)` : `cudaAvailable() is false: ${p.error ?? JSON.stringify(p)}`);
  return ok;
}

// ---- 2. the suites ------------------------------------------------------------------------------

/** node:test TAP counts. */
function tapCounts(out) {
  const count = (what) => Number(out.match(new RegExp(`^# ${what} (\\d+)$`, 'm'))?.[1] ?? NaN);
  return { pass: count('pass'), fail: count('fail'), skipped: count('skipped'), notOk: out.split('\n').filter((l) => /^\s*not ok/.test(l)) };
}

async function stepSuites() {
  const nccl = findNccl();
  if (nccl.lib) env.ENTRENA_NCCL_LIB = nccl.lib;
  const ncclOk = Boolean(nccl.lib || nccl.found);
  row('suites', 'NCCL library', ncclOk ? 'INFO' : 'SKIP', `${nccl.lib ?? ''}${nccl.lib ? ' — ' : ''}${nccl.how}` +
    (ncclOk ? '' : ': test/gpu/distributed.test.mjs skips its NCCL tests'));
  // The out-of-memory suite fills the device in 1 GiB blocks: minutes per GiB on the emulation, and
  // its subject (the driver's refusal) is the real device's.
  const suites = (quick ? ['train_kernels.test.mjs', 'distributed.test.mjs'] : fs.readdirSync(path.join(root, 'test', 'gpu')).filter((f) => f.endsWith('.test.mjs')).sort())
    .filter((f) => !(emulated && f === 'reliability.test.mjs'));
  for (const suite of suites) {
    if (overBudget('suites')) return;
    const r = await run(process.execPath, ['--test', '--test-reporter=tap', path.join('test', 'gpu', suite)], { timeoutS: emulated ? 1200 : limit(300) });
    const c = tapCounts(r.out);
    // No test may skip on a GPU, except the NCCL suite's where no NCCL library is found (said above).
    const skipsAllowed = suite === 'distributed.test.mjs' && !ncclOk;
    const ok = r.code === 0 && !r.timedOut && c.fail === 0 && (c.skipped === 0 || skipsAllowed) && (c.pass > 0 || skipsAllowed);
    row('suites', `test/gpu/${suite}`, ok ? 'PASS' : 'FAIL',
      r.timedOut ? `timed out after ${r.seconds.toFixed(0)} s` : `${c.pass} passed, ${c.fail} failed, ${c.skipped} skipped in ${r.seconds.toFixed(0)} s` +
        (c.notOk.length ? `; ${c.notOk.slice(0, 3).join('; ')}` : ''), { seconds: r.seconds });
  }
  if (emulated && !quick) row('suites', 'test/gpu/reliability.test.mjs', 'SKIP', 'fills the device memory in 1 GiB blocks: runs on a real GPU only');
}

const PARITY = ['test/parity_ops.test.ts', 'test/nn.test.ts', 'test/optim.test.ts', 'test/e2e.test.ts', 'test/data.test.ts', 'test/tensor.test.ts', 'test/train.test.ts', 'test/half.test.ts'];

async function stepParity() {
  if (overBudget('parity')) return;
  const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
  if (!fs.existsSync(vitest)) { row('parity', 'parity suites on cuda', 'FAIL', 'node_modules/vitest is missing (npm install, or unpack .device/node_modules.tar.xz: scripts/gpu_run.sh does)'); return; }
  const files = quick ? ['test/tensor.test.ts'] : PARITY;
  const json = path.join(outDir, 'parity.json');
  fs.rmSync(json, { force: true });
  const workers = Math.max(1, Math.min(8, os.cpus().length - 1));
  // ENTRENA_TEST_SKIP_BUILD: these suites run lib/ts directly; dist/ is the carried build.
  const r = await run(process.execPath, [vitest, 'run', ...files, '--reporter=json', `--outputFile=${json}`, `--maxWorkers=${workers}`],
    { timeoutS: emulated ? 2400 : limit(420), extraEnv: { ENTRENA_TEST_DEVICE: 'cuda', ENTRENA_TEST_SKIP_BUILD: '1', CI: '1' } });
  if (!fs.existsSync(json)) { row('parity', `${files.length} suites on cuda`, 'FAIL', r.timedOut ? `timed out after ${r.seconds.toFixed(0)} s` : `vitest wrote no report (exit ${r.code}); see the log`, { seconds: r.seconds }); return; }
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  const failures = j.testResults.flatMap((f) => f.assertionResults).filter((a) => a.status === 'failed').map((a) => a.fullName);
  for (const f of failures.slice(0, 40)) log(`parity failure: ${f}`);
  const suiteErrors = j.numRuntimeErrorTestSuites ?? 0;
  // On cuda one test skips by design: "without a GPU, to('cuda') throws".
  const ok = j.numFailedTests === 0 && suiteErrors === 0 && r.code === 0 && j.numPassedTests > 0 && j.numPendingTests <= 1;
  row('parity', `${files.map((f) => path.basename(f, '.test.ts')).join(', ')} on cuda vs PyTorch fixtures`, ok ? 'PASS' : 'FAIL',
    `${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests} skipped${suiteErrors ? `, ${suiteErrors} suites did not load` : ''} in ${r.seconds.toFixed(0)} s` +
      (failures.length ? `; first: ${failures.slice(0, 2).join('; ')}` : ''), { seconds: r.seconds });
}

// ---- 3. compute-sanitizer -----------------------------------------------------------------------

async function stepSanitize() {
  const tools = ['memcheck', 'racecheck'];
  if (emulated) {
    for (const t of tools) row('sanitize', `compute-sanitizer ${t}`, 'SKIP', 'no GPU under the emulation (its AddressSanitizer run, test/stress/cuda_emu.test.ts, stands in for memcheck)');
    return;
  }
  const cs = findTool('compute-sanitizer');
  if (!cs) { for (const t of tools) row('sanitize', `compute-sanitizer ${t}`, 'SKIP', 'compute-sanitizer is not installed here'); return; }
  // The raw-kernel suites: every kernel family, small shapes (the sanitizer slows kernels ~10-100×).
  const suites = quick ? ['train_kernels.test.mjs'] : ['cuda.test.mjs', 'train_kernels.test.mjs'];
  for (const t of tools) {
    let errors = 0, ran = 0, refused = null, seconds = 0;
    const details = [];
    for (const suite of suites) {
      if (overBudget('sanitize', 120)) return;
      const args = ['--tool', t, '--error-exitcode', '86', '--print-limit', '20', ...(t === 'racecheck' ? ['--racecheck-report', 'hazard'] : []),
        process.execPath, '--test-reporter=tap', path.join('test', 'gpu', suite)];
      const r = await run(cs, args, { timeoutS: limit(Math.max(30, budgetS - 120 - elapsed())) });
      seconds += r.seconds;
      const refusal = r.out.match(/Device not supported|not supported on this|Unable to|Target application terminated before first instrumented API call|unrecognized option[^\n]*/i);
      const summary = r.out.match(/ERROR SUMMARY: (\d+) error/);
      const race = r.out.match(/RACECHECK SUMMARY: (\d+) hazards? displayed \((\d+) errors?, (\d+) warnings?\)/);
      const c = tapCounts(r.out);
      if (r.timedOut) { details.push(`${suite}: timed out after ${r.seconds.toFixed(0)} s`); continue; }
      if (!summary && !race) { refused = refusal ? refusal[0] : `no summary from the tool (exit ${r.code})`; continue; }
      ran++;
      const n = summary ? Number(summary[1]) : Number(race[2]);
      errors += n;
      // The suites' own pass/fail counts are the suites step's; here only the tool's findings count.
      details.push(`${suite}: ${n} errors${race ? `, ${race[3]} warnings` : ''} (tests: ${c.pass} passed, ${c.fail} failed)`);
    }
    if (ran === 0) row('sanitize', `compute-sanitizer ${t}`, 'SKIP', `the tool did not run here: ${refused ?? details.join('; ')}`, { seconds });
    else {
      const ok = errors === 0 && !details.some((d) => d.includes('timed out')) && !refused;
      row('sanitize', `compute-sanitizer ${t}`, ok ? 'PASS' : 'FAIL', details.join('; ') + (refused ? `; another suite: ${refused}` : ''), { target: '0 errors', seconds });
    }
  }
}

// ---- 4. the benchmarks --------------------------------------------------------------------------

async function stepBench() {
  if (overBudget('bench')) return;
  const json = path.join(outDir, 'bench.json');
  fs.rmSync(json, { force: true });
  const r = await run(process.execPath, [path.join(root, 'bench', 'gpu.mjs'), '--json', json, ...(emulated ? ['--emulated'] : [])], { timeoutS: emulated ? 900 : 360 });
  if (!fs.existsSync(json)) { row('bench', 'bench/gpu.mjs', 'FAIL', r.timedOut ? `timed out after ${r.seconds.toFixed(0)} s` : `no results (exit ${r.code}); see the log`, { seconds: r.seconds }); return; }
  const b = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  report.bench = b;
  if (b.peer?.note) row('bench', 'PyTorch peer', 'SKIP', b.peer.note);
  else row('bench', 'PyTorch peer', 'INFO', `torch ${b.peer.torch} on ${b.peer.device} (${b.peer.name})${emulated ? ' (protocol check: the CPU stands in)' : ''}`);
  const f = (v) => (v === null || v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
  for (const x of b.rows) {
    if (x.error) { row('bench', x.name, 'FAIL', x.error); continue; }
    if (emulated) { row('bench', x.name, 'PASS', `checked: ${x.check} (no timing on the emulated device)`); continue; }
    const target = x.unit === 'µs' ? '< 2 µs' : x.ofCopy !== undefined ? '≥ 80% of copy, ≥ 1.0× PyTorch' : x.target !== null ? `≥ ${x.target}× PyTorch` : '';
    const result = `ours ${f(x.ours)} ${x.unit}, PyTorch ${f(x.torch)} ${x.unit}` + (x.ratio !== null ? `, ${x.ratio.toFixed(2)}×` : '') +
      (x.ofCopy !== undefined ? `, ${(100 * x.ofCopy).toFixed(0)}% of our copy rate` : '');
    row('bench', x.name, x.met === null ? 'INFO' : x.met ? 'PASS' : 'MISS', result, { target });
  }
}

// ---- main ---------------------------------------------------------------------------------------

say(`gpu:check: ${emulated ? 'dry run on the emulated device' : 'GPU check'}; output in ${outDir}`);
const gpuOk = await stepGpu();
if (gpuOk) {
  if (wants('suites')) await stepSuites();
  if (wants('parity')) await stepParity();
  if (wants('sanitize')) await stepSanitize();
  if (wants('bench')) await stepBench();
}
writeReport();
printTable();
const failed = rows.filter((r) => r.status === 'FAIL').length;
say(`gpu:check: ${failed ? `${failed} check(s) FAILED` : 'no check failed'}; ${rows.filter((r) => r.status === 'MISS').length} speed target(s) missed; ${elapsed().toFixed(0)} s`);
process.exit(failed ? 1 : 0);
