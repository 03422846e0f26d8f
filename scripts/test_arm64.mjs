#!/usr/bin/env node
// scripts/test_arm64.mjs — `npm run test:arm64`: the CPU kernels on aarch64, under emulation, and a
// clang warning check of the native sources. No N-API addon is built: native/test/kernel_check.cc
// links the kernel sources (native/cpu, native/core) into a plain program that checks GEMM,
// elementwise ops and reductions against float64 references.
//
// Steps (each prints one PASS / FAIL / SKIP line; a step skips, saying which tool is missing, when
// its compiler or emulator is not installed — Debian: apt-get install g++-aarch64-linux-gnu
// qemu-user clang):
//   clang-warnings  clang++ -Wall -Wextra -Werror -fsyntax-only over native/**/*.cc, for x86-64 and
//                   for aarch64 (so the NEON code is compiled by clang too); node and
//                   node-addon-api headers are system includes, so only our files are judged
//   x86-64          g++ (the flags of binding.gyp), run with the default GEMM kernel (avx2 where
//                   the CPU has it) and with ENTRENA_GEMM=portable
//   aarch64         aarch64-linux-gnu-g++, run under qemu-aarch64 -L /usr/aarch64-linux-gnu with
//                   the NEON kernel and (--light: without the larger rotating GEMM shapes, which the
//                   x86-64 step runs on the same portable code) with ENTRENA_GEMM=portable
//   aarch64-clang   the GEMM (the NEON intrinsics) and the check compiled by clang++
//                   --target=aarch64-linux-gnu, linked with the g++ objects of the other kernels,
//                   NEON kernel under qemu-aarch64 (--light)
// Objects are kept in build-kernel-check/ and rebuilt when their source or a native header changes.
// The emulator checks results, not speed: timings under qemu say nothing about a real ARM core.
// Ends with `test:arm64: P passed, F failed, S skipped`; exit status 1 when any step failed.
// Options: --only=STEP[,STEP] runs the named steps.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-kernel-check');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const want = (step) => !only || only.includes(step);
const SYSROOT = '/usr/aarch64-linux-gnu';

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;

// The kernel sources: binding.gyp's native/cpu and native/core files (the addon's own CPU code).
// binding.gyp is a Python literal with # comments: drop them, then read it as JavaScript.
const gyp = readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '');
const kernelSources = eval(`(${gyp})`).targets[0].sources.filter((s) => /^native\/(cpu|core)\//.test(s));
const checkSource = 'native/test/kernel_check.cc';

// Every .cc file under native/ (the clang check).
function ccFiles(dir) {
  return readdirSync(path.join(root, dir)).flatMap((f) => {
    const rel = `${dir}/${f}`;
    if (statSync(path.join(root, rel)).isDirectory()) return ccFiles(rel);
    return f.endsWith('.cc') ? [rel] : [];
  });
}

function nodeIncludes() {
  const dirs = [path.join(path.dirname(path.dirname(process.execPath)), 'include/node'), '/usr/include/node'];
  const nodeInc = dirs.find((d) => { try { return statSync(path.join(d, 'node_api.h')).isFile(); } catch { return false; } });
  const napiInc = createRequire(import.meta.url)('node-addon-api').include_dir.replace(/^"|"$/g, '');
  return { nodeInc, napiInc: path.resolve(root, napiInc) };
}

/** Runs a command; resolves to { code, out } (stdout and stderr together). */
function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env } });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    child.on('error', (e) => resolve({ code: -1, out: String(e) }));
    child.on('close', (code) => resolve({ code, out: text }));
  });
}

/** Runs jobs (functions returning promises) with at most `n` at a time; resolves to their results. */
async function pool(jobs, n = Math.max(1, availableParallelism())) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) { const i = next++; results[i] = await jobs[i](); }
  }));
  return results;
}

// The flags of binding.gyp (C++17, -O3, no errno from math functions), plus warnings.
const CXXFLAGS = ['-std=c++17', '-O3', '-fno-math-errno', '-fno-trapping-math', '-pthread', '-Wall', '-Wextra'];

// An object is rebuilt when its source or any header under native/ is newer (the headers are few
// and shared, so any header change rebuilds everything).
const mtime = (f) => { try { return statSync(f).mtimeMs; } catch { return -1; } };
const headersTime = Math.max(...readdirSync(path.join(root, 'native'), { recursive: true })
  .filter((f) => /\.(h|cuh)$/.test(f)).map((f) => mtime(path.join(root, 'native', f))));
const objectOf = (dir, src) => path.join(dir, src.replace(/\//g, '_').replace(/\.cc$/, '.o'));

/**
 * Compiles the kernel sources and the check program into build-kernel-check/<name>/kernel_check.
 * `reuse`: { dir, except } takes the objects of another build (same target) for every source but
 * those in `except`.
 */
async function buildCheck(name, cxx, extra = [], reuse = null) {
  const dir = path.join(out, name);
  mkdirSync(dir, { recursive: true });
  const srcs = [...kernelSources, checkSource];
  const objs = srcs.map((s) => (reuse && !reuse.except.includes(s) ? objectOf(reuse.dir, s) : objectOf(dir, s)));
  const stale = srcs.map((s, i) => i).filter((i) => mtime(objs[i]) < Math.max(mtime(path.join(root, srcs[i])), headersTime));
  const compiled = await pool(stale.map((i) => () => run(cxx, [...extra, ...CXXFLAGS, '-c', srcs[i], '-o', objs[i]])));
  const bad = compiled.find((r) => r.code !== 0);
  if (bad) return { error: bad.out.trim() };
  const exe = path.join(dir, 'kernel_check');
  const link = await run(cxx, [...extra, '-pthread', ...objs, '-o', exe]);
  if (link.code !== 0) return { error: link.out.trim() };
  return { exe };
}

const results = [];
function report(status, step, detail) {
  results.push(status);
  console.log(`${status} ${step}: ${detail}`);
}

/** Runs a built check program once per kernel; returns a one-line summary or throws with the output. */
async function runCheck(step, prefix, exe, kernels) {
  const lines = [];
  for (const [kernel, env, light] of kernels) {
    const t0 = Date.now();
    const args = [...prefix.slice(1), ...(prefix.length ? [exe] : []), `--expect-kernel=${kernel}`, ...(light ? ['--light'] : [])];
    const r = await run(prefix[0] ?? exe, args, { ENTRENA_NUM_THREADS: '3', ...env });
    const last = r.out.trim().split('\n').pop();
    if (r.code !== 0) {
      report('FAIL', step, `${kernel} kernel:\n${r.out.trim().split('\n').slice(-25).join('\n')}`);
      return;
    }
    lines.push(`${last.replace(/^kernel_check: /, '')}${light ? ' --light' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  report('PASS', step, lines.join('; '));
}

console.log(`test:arm64 — kernel sources: ${kernelSources.join(' ')}`);

// ---- clang warnings ------------------------------------------------------------------------------
if (want('clang-warnings')) {
  if (!has('clang++')) {
    report('SKIP', 'clang-warnings', 'clang++ is not installed (apt-get install clang)');
  } else {
    const { nodeInc, napiInc } = nodeIncludes();
    const files = ccFiles('native').filter((f) => nodeInc || f !== 'native/bindings.cc');
    const targets = [['x86-64', []]];
    if (has('aarch64-linux-gnu-g++')) targets.push(['aarch64', ['--target=aarch64-linux-gnu']]);
    const flags = ['-std=c++17', '-fsyntax-only', '-Wall', '-Wextra', '-Werror', '-DNAPI_VERSION=8',
      '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-isystem', napiInc, ...(nodeInc ? ['-isystem', nodeInc] : [])];
    const jobs = targets.flatMap(([t, extra]) => files.map((f) => async () => ({ t, f, r: await run('clang++', [...extra, ...flags, f]) })));
    const done = await pool(jobs);
    const bad = done.filter((d) => d.r.code !== 0);
    if (bad.length) report('FAIL', 'clang-warnings', bad.map((d) => `[${d.t}] ${d.f}\n${d.r.out.trim()}`).join('\n'));
    else {
      report('PASS', 'clang-warnings', `${files.length} files × ${targets.map((t) => t[0]).join(', ')}, no warnings`
        + (nodeInc ? '' : ' (bindings.cc left out: node headers not found)')
        + (targets.length < 2 ? ' (aarch64 left out: aarch64-linux-gnu-g++ provides its C++ headers)' : ''));
    }
  }
}

// ---- x86-64 (the host) ---------------------------------------------------------------------------
if (want('x86-64')) {
  if (process.arch !== 'x64') report('SKIP', 'x86-64', `the host is ${process.arch}`);
  else if (!has('g++')) report('SKIP', 'x86-64', 'g++ is not installed');
  else {
    const b = await buildCheck('x86-64', 'g++');
    if (b.error) report('FAIL', 'x86-64', `build failed:\n${b.error}`);
    else {
      const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
      const simd = /\bavx2\b/.test(cpuinfo) && /\bfma\b/.test(cpuinfo) ? 'avx2' : 'portable';
      await runCheck('x86-64', [], b.exe, [[simd, {}], ['portable', { ENTRENA_GEMM: 'portable' }]]);
    }
  }
}

// ---- aarch64 under qemu --------------------------------------------------------------------------
const qemu = ['qemu-aarch64', '-L', SYSROOT];
const missing = (tools) => tools.filter((t) => !has(t));
if (want('aarch64')) {
  const lack = missing(['aarch64-linux-gnu-g++', 'qemu-aarch64']);
  if (lack.length) report('SKIP', 'aarch64', `${lack.join(' and ')} not installed (apt-get install g++-aarch64-linux-gnu qemu-user)`);
  else {
    const b = await buildCheck('aarch64-gcc', 'aarch64-linux-gnu-g++');
    if (b.error) report('FAIL', 'aarch64', `build failed:\n${b.error}`);
    else await runCheck('aarch64', qemu, b.exe, [['neon', {}], ['portable', { ENTRENA_GEMM: 'portable' }, true]]);
  }
}
if (want('aarch64-clang')) {
  const lack = missing(['clang++', 'aarch64-linux-gnu-g++', 'qemu-aarch64']);
  if (lack.length) report('SKIP', 'aarch64-clang', `${lack.join(', ')} not installed (apt-get install clang g++-aarch64-linux-gnu qemu-user)`);
  else {
    // clang compiles the files with NEON code paths (the GEMM) and the check; the other kernel
    // objects are the aarch64 g++ build's (clang-warnings compiles every file for aarch64 already).
    const gccDir = path.join(out, 'aarch64-gcc');
    const ready = await buildCheck('aarch64-gcc', 'aarch64-linux-gnu-g++');
    const b = ready.error ? ready : await buildCheck('aarch64-clang', 'clang++', ['--target=aarch64-linux-gnu'],
      { dir: gccDir, except: ['native/cpu/gemm.cc', checkSource] });
    if (b.error) report('FAIL', 'aarch64-clang', `build failed:\n${b.error}`);
    else await runCheck('aarch64-clang', qemu, b.exe, [['neon', {}, true]]);
  }
}

const count = (s) => results.filter((r) => r === s).length;
console.log(`test:arm64: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped`);
process.exit(count('FAIL') ? 1 : 0);
