#!/usr/bin/env node
// pack_check.mjs — do the packages install like real ones? Packs entrena the way a release does
// ("prepack" clears dist/, "prepare" compiles the TypeScript), generates and packs the platform
// package of this machine (scripts/platform-packages.mjs: @entrena/linux-x64 here) and, with
// --cuda, the CUDA package (@entrena/cuda13-linux-x64), installs all the tarballs into a fresh
// project with a PATH that holds only node, npm and sh (no g++, cc, make or python: the install
// must not compile anything, so the local build cannot be the one used), then imports 'entrena'
// from that project, trains one step and reads `info()`: the addon must come from the platform
// package, and with --cuda, `cudaPackage` must say why the CUDA package was (not) used.
//
// It never touches the working tree: the package's sources are copied into a temporary staging
// folder (node_modules linked, not copied) and packed there, and the packages are generated into
// the temporary folder from the checkout's built binaries (build/Release or prebuilds/<platform>/;
// build-cuda/Release for --cuda), which it only reads.
//
// Offline: no network, ever (DESIGN.md). The tarball's own dependencies (node-addon-api,
// node-gyp-build, …) cannot come from the registry, and the npm cache (a fresh temporary one) does
// not hold them; so they are packed from this project's node_modules (the versions its lockfile
// installed) and given to `npm install` beside entrena's tarball: npm resolves entrena's semver
// ranges against them and needs no registry (`--offline` makes sure). The platform packages of
// other machines, optional dependencies that cannot be fetched offline, are skipped by npm.
//
// --target=linux-arm64 proves the linux-arm64 package on this x64 machine, under emulation: the addon
// is cross-built into prebuilds/linux-arm64/ and Debian's arm64 node fetched into a sysroot by
// `scripts/test_linux_arm64.mjs --build-only` (its SKIP, when qemu-aarch64, the cross compiler or the
// Debian mirror is missing, becomes this script's), @entrena/linux-arm64 is generated and packed,
// and the tarballs are installed by the host's npm told the target (`--os=linux --cpu=arm64
// --libc=glibc`) with --ignore-scripts: run by the host, entrena's install script would see x64,
// find no @entrena/linux-x64 and fall back to node-gyp-build, i.e. compile, which this PATH cannot.
// Instead that script is run afterwards by the arm64 node under `qemu-aarch64 -L <sysroot>`, where
// it must find @entrena/linux-arm64 and do nothing, as on an arm64 machine; then the arm64 node
// imports 'entrena' from the project and trains a few steps (process.arch arm64, the platform
// package's addon, the NEON GEMM kernel, the loss going down).
//
// Usage: node scripts/pack_check.mjs [--cuda | --target=linux-arm64] [--keep] [--work DIR]
//   --cuda      also pack and install the CUDA package (needs build-cuda/Release/entrena.node built
//               for the package: `npm run packages -- --build-cuda`)
//   --target    linux-arm64: install and run the linux-arm64 package under qemu-aarch64 (above)
//   --keep      leave the temporary folders (printed) for inspection
//   --work DIR  use DIR as the temporary folder (created; emptied first)
// Output: progress on stderr; the last stdout line is one JSON object
//   { ok, tarball, files, packedBytes, unpackedBytes, packages: [{ name, packedBytes, unpackedBytes }],
//     packSeconds, installSeconds, addon, addonSource, cudaPackage, loss, after, losses, arch, gemmKernel,
//     installScriptRan, compiledOnInstall, platformPackagesInstalled }; with --target also target, buildSeconds, runSeconds, installScript
// Exit codes: 0 ok; 1 a check failed (the reason printed); 3 skipped (the reason printed on the
// line starting with "SKIP:"), when something this check needs is missing from the machine.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const withCuda = args.includes('--cuda');
const workArg = args.includes('--work') ? args[args.indexOf('--work') + 1] : null;
const host = `${process.platform}-${process.arch}`;
const target = args.find((a) => a.startsWith('--target='))?.slice('--target='.length) ?? host;
const cross = target !== host;
const log = (...m) => console.error('pack_check:', ...m);
const skip = (reason) => { console.log(`SKIP: ${reason}`); process.exit(3); };
const fail = (reason) => { console.error(`pack_check: FAILED: ${reason}`); console.log(JSON.stringify({ ok: false, reason })); process.exit(1); };

/** Absolute path of `cmd` on the current PATH, or null. */
function which(cmd, path = process.env.PATH ?? '') {
  for (const d of path.split(delimiter)) {
    const p = join(d, cmd);
    if (d && existsSync(p)) return p;
  }
  return null;
}

/** The environment for child npm/node runs: npm's lifecycle variables of an outer `npm test` removed. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|command|execpath|node_execpath)/i.test(k) || k === 'INIT_CWD') continue;
    // The checkout's own addon overrides must not leak into the installed package.
    if (/^ENTRENA_(ADDON|CPU_ONLY)$/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd, argv, opts) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) fail(`${cmd} ${argv.join(' ')}: ${r.error.message}`);
  return r;
}

const work = workArg ? resolve(workArg) : mkdtempSync(join(tmpdir(), 'entrena-pack-'));
if (workArg) { rmSync(work, { recursive: true, force: true }); mkdirSync(work, { recursive: true }); }
const stage = join(work, 'stage'), out = join(work, 'out'), bin = join(work, 'bin'), app = join(work, 'app');
for (const d of [stage, out, bin, app]) mkdirSync(d, { recursive: true });
const cleanup = () => { if (!keep) rmSync(work, { recursive: true, force: true }); else log(`kept ${work}`); };
process.on('exit', cleanup);

// --- what this check needs from the machine --------------------------------------------------
const nodeBin = process.execPath;
const npmCli = which('npm');
const shBin = which('sh') ?? (existsSync('/bin/sh') ? '/bin/sh' : null);
if (!npmCli) skip('npm is not on PATH');
if (!shBin) skip('no sh to run npm scripts with');
const cudaTarget = `cuda13-${host}`;
if (cross && !(target === 'linux-arm64' && host === 'linux-x64')) fail(`--target=${target}: only linux-arm64, from a linux-x64 machine (under qemu-aarch64)`);
if (cross && withCuda) fail('--cuda and --target do not go together');
// --target=linux-arm64: the cross-built addon and the arm64 node's sysroot (reused from
// test_linux_arm64.mjs, which rebuilds only what changed and keeps the sysroot in .cache/).
const sysroot = join(root, '.cache', 'linux-arm64', 'root');
let qemu = null, buildSeconds = null;
if (cross) {
  qemu = which('qemu-aarch64');
  if (!qemu) skip('qemu-aarch64 is not installed (Debian: apt-get install qemu-user)');
  log('cross-building the linux-arm64 addon and fetching the arm64 sysroot (scripts/test_linux_arm64.mjs --build-only)');
  const t = performance.now();
  const b = run(process.execPath, [join(root, 'scripts', 'test_linux_arm64.mjs'), '--build-only'], { cwd: root, env: cleanEnv(), timeout: 900_000 });
  buildSeconds = (performance.now() - t) / 1000;
  const said = (b.stdout ?? '') + (b.stderr ?? '');
  const skipped = /^test:linux-arm64: SKIP — (.*)$/m.exec(said);
  if (skipped) skip(`linux-arm64: ${skipped[1]}`);
  if (b.status !== 0) fail(`scripts/test_linux_arm64.mjs --build-only exited with ${b.status}:\n${said.slice(-3000)}`);
  for (const l of said.split('\n').filter((x) => /^PASS /.test(x))) log(l);
}
const hasBinary = existsSync(join(root, 'build', 'Release', 'entrena.node')) || existsSync(join(root, 'prebuilds', target));
if (!cross && !hasBinary) skip(`no built addon for ${host} to package (build/Release/entrena.node or prebuilds/${host}/: run npm run build)`);
if (withCuda && !existsSync(join(root, 'build-cuda', 'Release', 'entrena.node'))) skip('no CUDA build to package (build-cuda/Release/entrena.node: npm run packages -- --build-cuda)');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/**
 * The folders of entrena's runtime dependencies and theirs (the closure), as npm installed them in
 * this project: a package's own nested node_modules first, then the hoisted top level.
 */
function dependencyClosure() {
  const found = new Map(); // folder -> name
  const visit = (name, from) => {
    const candidates = [join(from, 'node_modules', name), join(root, 'node_modules', name)];
    const dir = candidates.find((c) => existsSync(join(c, 'package.json')));
    if (!dir) skip(`the runtime dependency ${name} is not in node_modules (run npm install in the project first)`);
    if (found.has(dir)) return;
    found.set(dir, name);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const d of Object.keys(p.dependencies ?? {})) visit(d, dir);
  };
  for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, root);
  return [...found.keys()];
}
const depDirs = dependencyClosure();

// --- 1. stage the sources and pack (prepack: clears dist/; prepare: tsc) -----------------------
for (const f of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'tsconfig.json', 'README.md', 'LICENSE']) if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f));
for (const d of ['native', 'lib/ts', 'scripts', 'docs']) if (existsSync(join(root, d))) cpSync(join(root, d), join(stage, d), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
log(`packing in ${stage}`);
let t0 = performance.now();
const pack = run(npmCli, ['pack', '--json', '--pack-destination', out], { cwd: stage, env: cleanEnv() });
if (pack.status !== 0) fail(`npm pack exited with ${pack.status}:\n${pack.stderr.slice(-4000)}`);
let packed;
try { packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0]; } catch { fail(`cannot read npm pack --json output:\n${pack.stdout.slice(-2000)}`); }
const tarball = join(out, packed.filename);
const files = packed.files.map((f) => f.path);
log(`packed ${packed.filename} (${(packed.size / 1024).toFixed(0)} KiB, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${files.length} files)`);
const want = ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/loader.js', 'binding.gyp', 'native/bindings.cc', 'scripts/install.mjs'];
const missing = want.filter((f) => !files.includes(f));
if (missing.length) fail(`the tarball lacks ${missing.join(', ')}`);
// Binaries travel in the platform packages; tests, local builds and the native test programs stay home.
const stray = files.filter((f) => /^(build|build-cuda|build-packages|prebuilds|node_modules|test|runs|native\/test)\//.test(f) || /^lib\/ts\//.test(f) || /\.node$/.test(f));
if (stray.length) fail(`the tarball ships files it should not: ${stray.slice(0, 10).join(', ')}`);

// --- 1b. the platform packages, generated from the checkout's binaries and packed ------------------
const only = withCuda ? `${host},${cudaTarget}` : target;
const gen = run(nodeBin, [join(root, 'scripts', 'platform-packages.mjs'), `--only=${only}`, `--out=${join(work, 'packages')}`, '--pack'], { cwd: root, env: cleanEnv() });
if (gen.status !== 0) fail(`scripts/platform-packages.mjs --only=${only} failed:\n${gen.stderr.slice(-3000)}`);
const platformPackages = JSON.parse(gen.stdout.trim().split('\n').at(-1));
for (const p of platformPackages) log(`platform package ${p.name}: ${(p.packedBytes / 2 ** 20).toFixed(2)} MiB packed, ${(p.unpackedBytes / 2 ** 20).toFixed(2)} MiB unpacked, from ${p.source}`);
const packSeconds = (performance.now() - t0) / 1000;

// --- 2. the dependencies, packed from this project's node_modules (offline) -------------------
const depOut = join(out, 'deps');
mkdirSync(depOut);
const depTarballs = [];
if (depDirs.length) {
  const r = run(npmCli, ['pack', '--json', '--ignore-scripts', '--pack-destination', depOut, ...depDirs], { cwd: out, env: cleanEnv() });
  if (r.status !== 0) fail(`npm pack of the dependencies failed:\n${r.stderr.slice(-2000)}`);
  for (const d of JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))) depTarballs.push(join(depOut, d.filename));
  log(`dependencies packed from node_modules: ${JSON.parse(r.stdout.slice(r.stdout.indexOf('['))).map((d) => d.id).join(', ')}`);
}

// --- 3. a PATH with node, npm and sh only: nothing that could compile -------------------------
symlinkSync(nodeBin, join(bin, 'node'));
symlinkSync(realpathSync(npmCli), join(bin, 'npm'));
symlinkSync(shBin, join(bin, 'sh'));
const PATH = bin;
for (const c of ['g++', 'gcc', 'cc', 'c++', 'make', 'clang', 'cmake', 'python3', 'python']) if (which(c, PATH)) fail(`the compiler-free PATH still has ${c}`);

// --- 4. install the tarball into a fresh project, offline, running install scripts -------------
// For another platform the platform package is an optional dependency of the project, as it is of
// entrena on the registry: npm checks the os/cpu/libc of an optional package against --os/--cpu/--libc,
// but that of a package named on the command line against this machine (EBADPLATFORM).
const optionalTarballs = cross ? Object.fromEntries(platformPackages.map((p) => [p.name, `file:${p.tarball}`])) : undefined;
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'entrena-pack-check-app', version: '1.0.0', private: true, type: 'module', optionalDependencies: optionalTarballs }, null, 2));
log(`installing ${packed.filename} into ${app} (PATH=${PATH}: node, npm, sh only; --offline)`);
t0 = performance.now();
const npmCache = join(work, 'npm-cache');
// For another platform: npm picks the optional dependencies for that os/cpu/libc, and runs no
// scripts (the host's node would run them for the host; entrena's runs under qemu below).
const [targetOs, targetCpu] = target.split('-');
const scriptArgs = cross ? [`--os=${targetOs}`, `--cpu=${targetCpu}`, '--libc=glibc', '--ignore-scripts'] : ['--ignore-scripts=false', '--foreground-scripts'];
const inst = run(join(bin, 'npm'), ['install', ...depTarballs, tarball, ...(cross ? [] : platformPackages.map((p) => p.tarball)), '--offline', `--cache=${npmCache}`,
  '--no-audit', '--no-fund', ...scriptArgs, '--loglevel=info'],
  { cwd: app, env: cleanEnv({ PATH }) });
const installSeconds = (performance.now() - t0) / 1000;
if (inst.status !== 0) {
  const text = inst.stdout + inst.stderr;
  if (/ENOTCACHED/.test(text)) skip(`npm install --offline needs a registry answer it cannot get: ${(/npm error .*/.exec(text) ?? [''])[0]}`);
  fail(`npm install of the tarball exited with ${inst.status} (a compile attempt fails here by design: no compiler on PATH):\n${text.slice(-4000)}`);
}
const installed = join(app, 'node_modules', 'entrena');
if (!existsSync(join(installed, 'package.json'))) fail('node_modules/entrena is missing after the install');
const compiledOnInstall = existsSync(join(installed, 'build'));
if (compiledOnInstall) fail(`the install compiled the addon (node_modules/entrena/build exists: ${readdirSync(join(installed, 'build')).join(', ')})`);
// --foreground-scripts makes npm echo each lifecycle script it runs: entrena's "install" must have
// run and found the platform package (so it compiled nothing), else the check would prove nothing.
const installLog = inst.stdout + inst.stderr;
writeFileSync(join(work, 'install.log'), installLog);
/** A command line that runs node: the host's, or the arm64 one under qemu for --target=linux-arm64. */
const nodeCmd = (argv) => (cross ? [qemu, ['-L', sysroot, join(sysroot, 'usr', 'bin', 'node'), ...argv]] : [join(bin, 'node'), argv]);
let installScript = null;
if (cross) {
  // entrena's install script, as npm would run it on a linux-arm64 machine (cwd: the package).
  const [cmd, argv] = nodeCmd([join('scripts', 'install.mjs')]);
  const s = run(cmd, argv, { cwd: installed, env: cleanEnv({ PATH }), timeout: 300_000 });
  installScript = (s.stdout + s.stderr).trim();
  if (s.status !== 0 || !/^entrena: using the prebuilt addon @entrena\/linux-arm64@/m.test(installScript)) {
    fail(`entrena's install script under qemu-aarch64 (exit ${s.status}) did not take @entrena/linux-arm64:\n${installScript.slice(-3000)}`);
  }
  log(`install script under qemu-aarch64: ${installScript}`);
}
const installScriptRan = cross ? Boolean(installScript)
  : /^> entrena@[^\n]* install\n> node scripts\/install\.mjs\s*$/m.test(installLog) && /entrena: using the prebuilt addon @entrena\//.test(installLog);
if (!installScriptRan) fail(`npm did not run entrena's install script, or it did not find the platform package; see ${join(work, 'install.log')}:\n${installLog.slice(-3000)}`);
for (const p of platformPackages) if (!existsSync(join(app, 'node_modules', p.name, 'entrena.node'))) fail(`${p.name} was not installed into node_modules`);

// --- 5. import it and train (one SGD step; five under --target) ---------------------------------
const steps = cross ? 5 : 1;
const program = `
import('entrena').then((E) => {
  E.manualSeed(0);
  const model = new E.nn.Sequential(new E.nn.Linear(4, 8), new E.nn.ReLU(), new E.nn.Linear(8, 1));
  const opt = new E.optim.SGD(model.parameters(), { lr: 0.1 });
  const x = E.randn([16, 4]), y = E.randn([16, 1]);
  const lossFn = new E.nn.MSELoss();
  const losses = [];
  for (let s = 0; s < ${steps}; s++) {
    const loss = lossFn.forward(model.forward(x), y);
    losses.push(loss.item());
    loss.backward(); opt.step(); opt.zeroGrad();
  }
  const after = E.noGrad(() => lossFn.forward(model.forward(x), y)).item();
  const i = E.info();
  console.log(JSON.stringify({ loss: losses[0], after, losses, arch: process.arch, gemmKernel: i.cpu.gemmKernel, neon: i.cpu.neon,
    addon: i.addon, addonSource: i.addonSource, cudaPackage: i.cudaPackage, candidates: i.addonCandidates }));
});`;
/** Runs the training in the installed project; returns what it printed. */
function trainStep(extraEnv = {}) {
  const [cmd, argv] = nodeCmd(['-e', program]);
  const use = run(cmd, argv, { cwd: app, env: cleanEnv({ PATH, ...extraEnv }), timeout: 300_000 });
  if (use.status !== 0) fail(`importing the installed package failed (${use.status}):\n${(use.stdout + use.stderr).slice(-4000)}`);
  let r;
  try { r = JSON.parse(use.stdout.trim().split('\n').at(-1)); } catch { fail(`unexpected output of the training step: ${use.stdout}`); }
  if (!(Number.isFinite(r.loss) && Number.isFinite(r.after))) fail(`the training step gave no finite loss: ${use.stdout}`);
  return r;
}
const platformDir = realpathSync(join(app, 'node_modules', '@entrena', target));
/** The CPU platform package must be the addon in use (unless the CUDA package found a GPU). */
function expectPlatformPackage(r, what) {
  if (r.cudaPackage.status === 'loaded' && r.addonSource === 'cuda-package') return;
  if (r.addonSource !== 'platform-package' || !realpathSync(r.addon).startsWith(platformDir)) {
    fail(`${what}: the installed package loaded ${r.addon} (${r.addonSource}), not @entrena/${target}:\n${JSON.stringify(r.candidates, null, 2)}`);
  }
}
t0 = performance.now();
const result = trainStep();
const runSeconds = (performance.now() - t0) / 1000;
expectPlatformPackage(result, cross ? `${target} under qemu-aarch64` : 'this machine');
if (cross) {
  if (result.arch !== 'arm64') fail(`the program ran with process.arch ${result.arch}, not arm64`);
  if (!result.neon || result.gemmKernel !== 'neon') fail(`the arm64 addon reports neon ${result.neon}, GEMM kernel ${result.gemmKernel}; expected the NEON kernel`);
  if (!result.losses.every((l, i) => i === 0 || l < result.losses[i - 1]) || !(result.after < result.losses.at(-1))) fail(`the loss did not go down step by step: ${[...result.losses, result.after].join(', ')}`);
  log(`${steps} SGD steps under qemu-aarch64 in ${runSeconds.toFixed(1)} s: loss ${[...result.losses, result.after].map((l) => l.toFixed(4)).join(' -> ')}; ` +
    `arch ${result.arch}, GEMM ${result.gemmKernel}; addon ${result.addon} (${result.addonSource})`);
}
if (withCuda && result.cudaPackage.name !== `@entrena/${cudaTarget}`) fail(`info().cudaPackage does not name the installed CUDA package: ${JSON.stringify(result.cudaPackage)}`);
if (withCuda && result.cudaPackage.status === 'not-installed') fail(`info().cudaPackage says not installed: ${result.cudaPackage.reason}`);
if (!cross) log(`one SGD step: loss ${result.loss.toFixed(4)} -> ${result.after.toFixed(4)}; addon ${result.addon} (${result.addonSource})`);
log(`cudaPackage: ${JSON.stringify(result.cudaPackage)}`);

// --- 6. with --cuda: a stand-in NVIDIA driver, for the reasons this machine cannot show ------------
// A libcuda.so.1 of four functions (cuInit, cuDriverGetVersion, cuDeviceGetCount, cuGetErrorName)
// whose answers come from the environment, found through LD_LIBRARY_PATH: the driver probe of the
// installed CUDA package then meets "a driver, but no GPU" and "a driver too old for CUDA 13".
const fakeDriverCases = [];
const cc = which('cc') ?? which('gcc');
if (withCuda && process.platform === 'linux' && cc && result.cudaPackage.status !== 'loaded') {
  const dir = join(work, 'fake-driver');
  mkdirSync(dir);
  writeFileSync(join(dir, 'fake_cuda.c'), `#include <stdlib.h>
static int env(const char* n, int d) { const char* v = getenv(n); return v ? atoi(v) : d; }
int cuInit(unsigned int flags) { (void)flags; return env("FAKE_CUINIT", 100); }
int cuDriverGetVersion(int* v) { *v = env("FAKE_CUDA_VERSION", 13000); return 0; }
int cuDeviceGetCount(int* n) { *n = 0; return 0; }
int cuGetErrorName(int e, const char** s) { *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
`);
  const c = run(cc, ['-shared', '-fPIC', '-o', join(dir, 'libcuda.so.1'), join(dir, 'fake_cuda.c')]);
  if (c.status !== 0) fail(`cannot compile the stand-in driver:\n${c.stderr}`);
  for (const [what, env, status, reason] of [
    ['a driver without a GPU', { FAKE_CUINIT: '100', FAKE_CUDA_VERSION: '13000' }, 'no-gpu', /^no GPU: the driver \(CUDA 13\.0\) sees no CUDA device$/],
    ['a driver for CUDA 12.4', { FAKE_CUINIT: '0', FAKE_CUDA_VERSION: '12040' }, 'driver-too-old', /^driver too old: it supports CUDA 12\.4, the package needs CUDA 13\.\d+ \(NVIDIA driver 580\.65\.06 or newer\)$/],
  ]) {
    const r = trainStep({ LD_LIBRARY_PATH: dir, ...env });
    expectPlatformPackage(r, what);
    if (r.cudaPackage.status !== status || !reason.test(r.cudaPackage.reason)) fail(`${what}: info().cudaPackage is ${JSON.stringify(r.cudaPackage)}, expected status ${status}`);
    log(`${what}: cudaPackage ${JSON.stringify(r.cudaPackage)}; addon ${r.addonSource}`);
    fakeDriverCases.push({ what, cudaPackage: r.cudaPackage, addonSource: r.addonSource });
  }
}
console.log(JSON.stringify({
  ok: true, tarball: packed.filename, files: files.length, packedBytes: packed.size, unpackedBytes: packed.unpackedSize,
  packages: platformPackages.map((p) => ({ name: p.name, packedBytes: p.packedBytes, unpackedBytes: p.unpackedBytes, source: p.source, config: p.config })),
  packSeconds, installSeconds, addon: result.addon, addonSource: result.addonSource, cudaPackage: result.cudaPackage, fakeDriverCases,
  loss: result.loss, after: result.after, losses: result.losses, arch: result.arch, gemmKernel: result.gemmKernel, installScriptRan, compiledOnInstall,
  // The platform packages npm put into the project (for --target, only the target's).
  platformPackagesInstalled: readdirSync(join(app, 'node_modules', '@entrena')),
  ...(cross ? { target, buildSeconds, runSeconds, installScript } : {}),
}));
