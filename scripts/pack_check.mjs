#!/usr/bin/env node
// pack_check.mjs — does `npm pack` give a package that installs like a real one? Packs entrena the
// way a release does (the "prepack" script runs prebuildify, "prepare" compiles the TypeScript),
// installs the tarball into a fresh project with a PATH that holds only node, npm and sh (no g++,
// cc or make: the install must not compile anything — node-gyp-build finds the prebuild), then
// imports 'entrena' from that project and trains one step.
//
// It never touches the working tree: the package's sources are copied into a temporary staging
// folder (node_modules linked, not copied) and packed there, so `build/` and `prebuilds/` of the
// checkout stay as they are while other tests use them.
//
// Offline: no network, ever (DESIGN.md). The tarball's own dependencies (node-addon-api,
// node-gyp-build) cannot come from the registry, and the npm cache of a machine set up from a
// copied node_modules need not hold them; so they are packed from this project's node_modules (the
// versions its lockfile installed) and given to `npm install` beside entrena's tarball: npm
// resolves entrena's semver ranges against them and needs no registry (`--offline` makes sure).
//
// Usage: node scripts/pack_check.mjs [--keep] [--work DIR]
//   --keep      leave the temporary folders (printed) for inspection
//   --work DIR  use DIR as the temporary folder (created; emptied first)
// Output: progress on stderr; the last stdout line is one JSON object
//   { ok, tarball, files, packSeconds, installSeconds, addon, loss, after, installScriptRan, compiledOnInstall }
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
const workArg = args.includes('--work') ? args[args.indexOf('--work') + 1] : null;
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
if (!existsSync(join(root, 'node_modules', 'prebuildify'))) skip('prebuildify is not installed (run npm install in the project first)');
if (!which('g++') && !which('c++')) skip('no C++ compiler to build the prebuild with (g++/c++ not on PATH)');
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

// --- 1. stage the sources and pack (prepack: prebuildify; prepare: tsc) -----------------------
for (const f of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'tsconfig.json', 'README.md', 'LICENSE']) if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f));
for (const d of ['native', 'lib/ts', 'scripts', 'docs']) if (existsSync(join(root, d))) cpSync(join(root, d), join(stage, d), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
log(`packing in ${stage} (prepack runs prebuildify: compiles the CPU addon)`);
let t0 = performance.now();
const pack = run(npmCli, ['pack', '--json', '--pack-destination', out], { cwd: stage, env: cleanEnv() });
const packSeconds = (performance.now() - t0) / 1000;
if (pack.status !== 0) fail(`npm pack exited with ${pack.status}:\n${pack.stderr.slice(-4000)}`);
let packed;
try { packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0]; } catch { fail(`cannot read npm pack --json output:\n${pack.stdout.slice(-2000)}`); }
const tarball = join(out, packed.filename);
const files = packed.files.map((f) => f.path);
log(`packed ${packed.filename} (${(packed.size / 1024).toFixed(0)} KiB, ${files.length} files) in ${packSeconds.toFixed(1)} s`);
const want = ['package.json', 'dist/index.js', 'dist/index.d.ts', 'binding.gyp', 'native/bindings.cc', `prebuilds/${process.platform}-${process.arch}/entrena.node`];
const missing = want.filter((f) => !files.includes(f));
if (missing.length) fail(`the tarball lacks ${missing.join(', ')}`);
const stray = files.filter((f) => /^(build|build-cuda|node_modules|test|runs)\//.test(f) || /^lib\/ts\//.test(f));
if (stray.length) fail(`the tarball ships files it should not: ${stray.slice(0, 10).join(', ')}`);

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
for (const c of ['g++', 'gcc', 'cc', 'c++', 'make', 'clang', 'cmake']) if (which(c, PATH)) fail(`the compiler-free PATH still has ${c}`);

// --- 4. install the tarball into a fresh project, offline, running install scripts -------------
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'entrena-pack-check-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
log(`installing ${packed.filename} into ${app} (PATH=${PATH}: node, npm, sh only; --offline)`);
t0 = performance.now();
const inst = run(join(bin, 'npm'), ['install', ...depTarballs, tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts=false', '--foreground-scripts', '--loglevel=info'],
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
// run (node-gyp-build, which found the prebuild), else the check would prove nothing.
const installLog = inst.stdout + inst.stderr;
writeFileSync(join(work, 'install.log'), installLog);
const installScriptRan = /^> entrena@[^\n]* install\n> node-gyp-build\s*$/m.test(installLog);
if (!installScriptRan) fail(`npm did not run entrena's install script (node-gyp-build); see ${join(work, 'install.log')}:\n${installLog.slice(-3000)}`);

// --- 5. import it and train one step ------------------------------------------------------------
const program = `
import('entrena').then((E) => {
  E.manualSeed(0);
  const model = new E.nn.Sequential(new E.nn.Linear(4, 8), new E.nn.ReLU(), new E.nn.Linear(8, 1));
  const opt = new E.optim.SGD(model.parameters(), { lr: 0.1 });
  const x = E.randn([16, 4]), y = E.randn([16, 1]);
  const lossFn = new E.nn.MSELoss();
  const before = lossFn.forward(model.forward(x), y);
  before.backward(); opt.step(); opt.zeroGrad();
  const after = E.noGrad(() => lossFn.forward(model.forward(x), y)).item();
  console.log(JSON.stringify({ loss: before.item(), after, addon: E.info().addon }));
});`;
const use = run(join(bin, 'node'), ['-e', program], { cwd: app, env: cleanEnv({ PATH }) });
if (use.status !== 0) fail(`importing the installed package failed (${use.status}):\n${(use.stdout + use.stderr).slice(-4000)}`);
let result;
try { result = JSON.parse(use.stdout.trim().split('\n').at(-1)); } catch { fail(`unexpected output of the training step: ${use.stdout}`); }
if (!(Number.isFinite(result.loss) && Number.isFinite(result.after))) fail(`the training step gave no finite loss: ${use.stdout}`);
if (!realpathSync(result.addon).startsWith(realpathSync(join(installed, 'prebuilds')))) fail(`the installed package loaded ${result.addon}, not its prebuild`);
log(`one SGD step: loss ${result.loss.toFixed(4)} -> ${result.after.toFixed(4)}; addon ${result.addon}`);
console.log(JSON.stringify({ ok: true, tarball: packed.filename, files: files.length, packSeconds, installSeconds, addon: result.addon, loss: result.loss, after: result.after, installScriptRan, compiledOnInstall }));
