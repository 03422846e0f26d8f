#!/usr/bin/env node
// scripts/test_linux_arm64.mjs — `npm run test:linux-arm64`: the N-API addon cross-built for
// linux-arm64 and a real part of the test suite run on it, under emulation, by an arm64 Node.
// (scripts/test_arm64.mjs checks the bare kernels on aarch64; this checks the addon a user on an
// ARM machine loads: bindings, thread pool, kernels, TypeScript on top, through vitest.)
//
// Steps (each prints one PASS / FAIL line; the whole run prints one SKIP line, then for a failed
// download the tool's last lines, and exits 0 when a tool is missing or the Debian mirror or the npm
// registry cannot be reached):
//   sysroot  Debian's arm64 `nodejs` and the libraries it needs, resolved by apt-cache and fetched
//            by `apt-get download` with an apt configuration of its own (the host's apt sources,
//            architectures and package state are not touched; no root needed), unpacked with
//            `dpkg-deb -x` into .cache/linux-arm64/root. Debian 13 (trixie) by default: its nodejs
//            is 20.19, which vitest 4 and vite 8 need (bookworm's 18.20 cannot start them);
//            ENTRENA_ARM64_SUITE and ENTRENA_DEBIAN_MIRROR change the suite and the mirror. Kept
//            until --refresh.
//   build    node-gyp configure/build --arch=arm64 with CC/CXX=aarch64-linux-gnu-gcc/g++ against the
//            host Node's headers (N-API is ABI-stable across Node versions), in a staging folder
//            (.cache/linux-arm64/gyp, links to binding.gyp, native/, node_modules/), so that build/
//            keeps the host's addon; make rebuilds only what changed. The result, stripped as
//            prebuildify --strip does, is prebuilds/linux-arm64/entrena.node: the file
//            node-gyp-build picks on linux-arm64 when the package has no build/.
//   rolldown (not with --build-only) rolldown's arm64 binding (vite's bundler is a native module)
//            by `npm pack @rolldown/binding-linux-arm64-gnu@<installed version>`, kept in .cache/.
//   vitest   qemu-aarch64 -L <sysroot> <sysroot>/usr/bin/node node_modules/vitest/vitest.mjs run
//            with test/linux_arm64/vitest.config.ts (worker threads: a forked worker would be an
//            arm64 executable the host cannot start), the addon given by ENTRENA_ADDON. Its setup
//            file fails every suite unless process.arch is arm64, the loaded addon is that prebuild,
//            node-gyp-build resolves the prebuilds/ layout to it, and the CPU reports NEON with the
//            NEON GEMM kernel. Suites: SUITES below (tensor, parity_ops, nn, optim, the e2e MLP,
//            linear, batchnorm_fused, native_train, half), or --suites=a.test.ts,b.test.ts.
// Ends with `test:linux-arm64: P passed, F failed, S skipped` (vitest's test counts); exit status 1
// when a step failed. Emulation checks results, not speed. Options: --refresh (download the sysroot
// again), --build-only (the sysroot and prebuilds/linux-arm64/entrena.node only: what
// scripts/pack_check.mjs --target=linux-arm64 uses before it packs and installs @entrena/linux-arm64). ENTRENA_LINUX_ARM64_TIMEOUT_S bounds the vitest run (default 600 s).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'linux-arm64');
const sysroot = path.join(cache, 'root');
const prebuild = path.join(root, 'prebuilds', 'linux-arm64', 'entrena.node');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name) => process.argv.includes(`--${name}`);
// The default suites: tensors, every op against PyTorch's numbers, layers, optimizers, the e2e MLP
// (PyTorch's loss, gradients and 10 Adam steps), and the native fused kernels (batch norm, the
// optimizer steps, 16-bit storage). Not here: suites that spawn process.execPath (an arm64 binary
// the host cannot exec without binfmt_misc), and train.test.ts, whose leak check reads the
// process-wide native byte counter that a suite in the other worker thread moves (it passes alone:
// --suites=train.test.ts).
const SUITES = ['tensor', 'parity_ops', 'nn', 'optim', 'e2e', 'linear', 'batchnorm_fused', 'native_train', 'half'].map((s) => `test/${s}.test.ts`);
const suites = arg('suites')?.split(',').map((s) => (s.startsWith('test/') ? s : `test/${s}`)) ?? SUITES;
const SUITE = process.env.ENTRENA_ARM64_SUITE || 'trixie';
const MIRROR = (process.env.ENTRENA_DEBIAN_MIRROR || 'http://deb.debian.org/debian').replace(/\/$/, '');
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const rel = (p) => path.relative(root, p);
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const require = createRequire(import.meta.url);

/** Prints the one SKIP line and exits 0. */
function skip(why) {
  console.log(`test:linux-arm64: SKIP — ${why}`);
  process.exit(0);
}
function fail(step, detail) {
  console.log(`FAIL ${step}: ${detail}`);
  console.log('test:linux-arm64: 0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

/** Runs a command; resolves to { code, out } (stdout and stderr together); `echo` streams it too. */
function run(cmd, args, { env = {}, cwd = root, echo = false, timeoutMs = 0 } = {}) {
  return new Promise((resolve) => {
    // An `env` value of undefined removes that variable.
    const merged = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined));
    const child = spawn(cmd, args, { cwd, env: merged });
    let text = '';
    const take = (d) => { text += d; if (echo) process.stdout.write(d); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = timeoutMs ? setTimeout(() => { text += `\n(killed after ${timeoutMs / 1000} s)`; child.kill('SIGKILL'); }, timeoutMs) : null;
    child.on('error', (e) => resolve({ code: -1, out: String(e) }));
    child.on('close', (code) => { if (timer) clearTimeout(timer); resolve({ code, out: text }); });
  });
}
const tail = (text, n = 30) => text.trim().split('\n').slice(-n).join('\n');

// ---- tools ---------------------------------------------------------------------------------------
const stamp = path.join(sysroot, '.entrena-sysroot.json');
const refresh = flag('refresh');
const stamped = (() => { try { return JSON.parse(readFileSync(stamp, 'utf8')); } catch { return null; } })();
const haveSysroot = !refresh && stamped?.suite === SUITE;
const tools = [['aarch64-linux-gnu-g++', 'g++-aarch64-linux-gnu'], ['qemu-aarch64', 'qemu-user']];
if (!haveSysroot) tools.push(['apt-get', 'apt'], ['apt-cache', 'apt'], ['dpkg-deb', 'dpkg']);
const lacking = tools.filter(([t]) => !has(t));
if (lacking.length) {
  skip(`${lacking.map(([t]) => t).join(', ')} not installed (Debian: apt-get install ${[...new Set(lacking.map(([, p]) => p))].join(' ')})`);
}
if (!haveSysroot && !existsSync(KEYRING)) skip(`${KEYRING} is missing (Debian: apt-get install debian-archive-keyring)`);

// node-gyp: the project's, else the one npm bundles beside this node.
const nodeGyp = [
  () => require.resolve('node-gyp/bin/node-gyp.js'),
  () => path.join(path.dirname(path.dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].map((f) => { try { return f(); } catch { return null; } }).find((p) => p && existsSync(p));
if (!nodeGyp) skip('node-gyp not found (neither in node_modules nor bundled with npm)');
// Node's own headers: those installed beside this node (Debian, nodesource, the official tarball).
const nodeDir = [path.dirname(path.dirname(process.execPath)), '/usr', '/usr/local']
  .find((d) => existsSync(path.join(d, 'include', 'node', 'node_api.h')));
if (!nodeDir) skip('the Node headers (include/node/node_api.h) are not installed beside this node');

console.log(`test:linux-arm64 — the addon cross-built for linux-arm64, ${suites.length} suites run by Debian ${SUITE}'s arm64 node under qemu-aarch64`);

// ---- sysroot: Debian's arm64 nodejs and its libraries ---------------------------------------------
const aptDir = path.join(cache, 'apt');
const aptOptions = [
  `Dir::Etc::SourceList=${path.join(aptDir, 'sources.list')}`, 'Dir::Etc::SourceParts=/dev/null',
  'Dir::Etc::Preferences=/dev/null', `Dir::Etc::PreferencesParts=${path.join(aptDir, 'preferences.d')}`,
  `Dir::State::Lists=${path.join(aptDir, 'lists')}`, `Dir::State::Status=${path.join(aptDir, 'status')}`,
  `Dir::Cache=${path.join(aptDir, 'cache')}`, 'APT::Architecture=arm64', 'APT::Architectures::=arm64',
  'Debug::NoLocking=1', 'APT::Sandbox::User=root', 'Acquire::Retries=2',
].flatMap((o) => ['-o', o]);

async function makeSysroot() {
  const t0 = Date.now();
  const debs = path.join(cache, 'debs');
  rmSync(debs, { recursive: true, force: true });
  for (const d of ['lists/partial', 'cache/archives/partial', 'preferences.d']) mkdirSync(path.join(aptDir, d), { recursive: true });
  writeFileSync(path.join(aptDir, 'status'), '');
  const repo = `[arch=arm64 signed-by=${KEYRING}]`;
  const security = MIRROR === 'http://deb.debian.org/debian' && !/^(sid|unstable)$/.test(SUITE)
    ? `deb ${repo} http://deb.debian.org/debian-security ${SUITE}-security main\n` : '';
  writeFileSync(path.join(aptDir, 'sources.list'), `deb ${repo} ${MIRROR} ${SUITE} main\n${security}`);
  const update = await run('apt-get', [...aptOptions, '-q', 'update'], { timeoutMs: 300_000 });
  if (update.code !== 0 || /^(E|Err):/m.test(update.out)) {
    skip(`could not read Debian ${SUITE} arm64 from ${MIRROR} (no network?):\n${tail(update.out, 6)}`);
  }
  // The closure of nodejs's Depends (Pre-Depends included), without recommends and suggests.
  const deps = await run('apt-cache', [...aptOptions, 'depends', '--recurse', '--no-recommends', '--no-suggests',
    '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', 'nodejs']);
  const pkgs = [...new Set(deps.out.split('\n').filter((l) => /^[a-z0-9]/.test(l)).map((l) => l.trim()))].sort();
  if (deps.code !== 0 || !pkgs.includes('nodejs')) fail('sysroot', `apt-cache depends nodejs:\n${tail(deps.out)}`);
  mkdirSync(debs, { recursive: true });
  const dl = await run('apt-get', [...aptOptions, '-q', 'download', ...pkgs], { cwd: debs, timeoutMs: 600_000 });
  if (dl.code !== 0) skip(`apt-get download from ${MIRROR} failed (no network?):\n${tail(dl.out, 6)}`);
  // Only now that every package is here is an older sysroot (--refresh) replaced.
  rmSync(sysroot, { recursive: true, force: true });
  mkdirSync(sysroot, { recursive: true });
  for (const f of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    const x = await run('dpkg-deb', ['-x', path.join(debs, f), sysroot]);
    if (x.code !== 0) fail('sysroot', `dpkg-deb -x ${f}:\n${tail(x.out)}`);
  }
  // Merged /usr (Debian ≥ 12 ships the loader in /usr/lib; /lib is base-files' link, not unpacked).
  for (const d of ['lib', 'bin', 'sbin']) {
    if (!existsSync(path.join(sysroot, d)) && existsSync(path.join(sysroot, 'usr', d))) symlinkSync(`usr/${d}`, path.join(sysroot, d));
  }
  const versions = Object.fromEntries(readdirSync(debs).filter((f) => f.endsWith('.deb')).map((f) => {
    const [name, version] = f.split('_');
    return [name, decodeURIComponent(version)];
  }));
  writeFileSync(stamp, JSON.stringify({ suite: SUITE, mirror: MIRROR, packages: versions }, null, 2) + '\n');
  rmSync(debs, { recursive: true, force: true });
  return `downloaded in ${secs(t0)}`;
}

const how = haveSysroot ? 'cached' : await makeSysroot();
const sys = JSON.parse(readFileSync(stamp, 'utf8'));
const qemu = ['qemu-aarch64', '-L', sysroot, path.join(sysroot, 'usr', 'bin', 'node')];
const probe = await run(qemu[0], [...qemu.slice(1), '-p', 'process.version + " " + process.arch'], { timeoutMs: 120_000 });
if (probe.code !== 0 || !/ arm64$/.test(probe.out.trim())) fail('sysroot', `the arm64 node does not start under qemu-aarch64:\n${tail(probe.out)}`);
const nodeVersion = probe.out.trim().split(' ')[0];

/** rolldown (vite's bundler, which vitest uses to transform the suites) is a native module: the
 * arm64 node needs its arm64 binding, of the version installed here. Not needed by --build-only. */
async function rolldownArm64() {
  const vite = createRequire(require.resolve('vitest/package.json')).resolve('vite/package.json');
  const rolldownPkg = createRequire(vite).resolve('rolldown/package.json');
  const rolldownVersion = JSON.parse(readFileSync(rolldownPkg, 'utf8')).version;
  const bindingDir = path.join(cache, 'npm', `rolldown-binding-linux-arm64-gnu-${rolldownVersion}`);
  const findNode = () => (existsSync(bindingDir) ? readdirSync(bindingDir, { recursive: true }).find((f) => String(f).endsWith('.node')) : undefined);
  if (!findNode()) {
    if (!has('npm')) skip('npm not found (it fetches @rolldown/binding-linux-arm64-gnu, vitest\'s bundler for arm64)');
    mkdirSync(bindingDir, { recursive: true });
    const pack = await run('npm', ['pack', `@rolldown/binding-linux-arm64-gnu@${rolldownVersion}`, '--silent', '--pack-destination', bindingDir], { timeoutMs: 300_000 });
    const tgz = readdirSync(bindingDir).find((f) => f.endsWith('.tgz'));
    if (pack.code !== 0 || !tgz) skip(`npm pack @rolldown/binding-linux-arm64-gnu@${rolldownVersion} failed (no registry?):\n${tail(pack.out, 6)}`);
    const x = await run('tar', ['xzf', tgz], { cwd: bindingDir });
    if (x.code !== 0) fail('sysroot', `tar xzf ${tgz}:\n${tail(x.out)}`);
    rmSync(path.join(bindingDir, tgz));
  }
  const rolldownBinding = path.join(bindingDir, String(findNode()));
  return { rolldownVersion, rolldownBinding };
}
console.log(`PASS sysroot: Debian ${sys.suite} arm64 nodejs ${sys.packages.nodejs} (node ${nodeVersion}, ${Object.keys(sys.packages).length} packages, ${how}) in ${rel(sysroot)}`);

// ---- build: node-gyp --arch=arm64 with the cross compiler -----------------------------------------
const t1 = Date.now();
const gypDir = path.join(cache, 'gyp');
mkdirSync(gypDir, { recursive: true });
for (const f of ['binding.gyp', 'native', 'node_modules', 'package.json']) {
  const link = path.join(gypDir, f);
  if (!existsSync(link)) symlinkSync(path.relative(gypDir, path.join(root, f)), link);
}
const crossEnv = { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar' };
const mtime = (f) => { try { return statSync(f).mtimeMs; } catch { return -1; } };
const makefile = path.join(gypDir, 'build', 'Makefile');
if (mtime(makefile) < Math.max(mtime(path.join(root, 'binding.gyp')), mtime(nodeGyp))) {
  const conf = await run(process.execPath, [nodeGyp, 'configure', '--arch=arm64', `--nodedir=${nodeDir}`], { cwd: gypDir, env: crossEnv });
  if (conf.code !== 0) fail('build', `node-gyp configure --arch=arm64:\n${tail(conf.out)}`);
}
const build = await run(process.execPath, [nodeGyp, 'build', '--arch=arm64', `--nodedir=${nodeDir}`, '--jobs', String(availableParallelism())], { cwd: gypDir, env: crossEnv });
if (build.code !== 0) fail('build', `node-gyp build --arch=arm64:\n${tail(build.out, 40)}`);
const built = path.join(gypDir, 'build', 'Release', 'entrena.node');
mkdirSync(path.dirname(prebuild), { recursive: true });
copyFileSync(built, prebuild);
if (has('aarch64-linux-gnu-strip')) {
  const s = await run('aarch64-linux-gnu-strip', ['--strip-all', prebuild]);
  if (s.code !== 0) fail('build', `aarch64-linux-gnu-strip:\n${tail(s.out)}`);
}
// e_machine (ELF header offset 18, little-endian) 183 is AArch64.
const elf = readFileSync(prebuild).subarray(0, 20);
if (elf.readUInt32BE(0) !== 0x7f454c46 || elf.readUInt16LE(18) !== 183) fail('build', `${rel(prebuild)} is not an AArch64 ELF file`);
const compiled = (build.out.match(/CXX\(target\)/g) ?? []).length;
console.log(`PASS build: ${rel(prebuild)} (AArch64, ${(statSync(prebuild).size / 1e6).toFixed(2)} MB stripped; ${compiled ? `${compiled} files compiled` : 'up to date'}) in ${secs(t1)}`);
if (flag('build-only')) {
  console.log('test:linux-arm64: 0 passed, 0 failed, 0 skipped (--build-only)');
  process.exit(0);
}

// ---- vitest on the arm64 node -----------------------------------------------------------------------
const { rolldownVersion, rolldownBinding } = await rolldownArm64();
console.log(`PASS rolldown: @rolldown/binding-linux-arm64-gnu ${rolldownVersion} for vitest on the arm64 node`);
const t2 = Date.now();
const results = path.join(cache, 'results.json');
const probeFile = path.join(cache, 'probe.json');
rmSync(results, { force: true });
rmSync(probeFile, { force: true });
const env = {
  ENTRENA_ADDON: prebuild,
  ENTRENA_LINUX_ARM64_ADDON: prebuild,
  ENTRENA_LINUX_ARM64_PROBE: probeFile,
  NAPI_RS_NATIVE_LIBRARY_PATH: rolldownBinding,
  NO_COLOR: '1',
};
const vitestBin = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const vitestRun = await run(qemu[0], [...qemu.slice(1), vitestBin, 'run', '--config', 'test/linux_arm64/vitest.config.ts',
  '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...suites], {
  // The setup check expects the default (NEON) GEMM kernel and no external BLAS.
  env: { ...env, ENTRENA_GEMM: undefined, ENTRENA_BLAS: undefined },
  echo: true, timeoutMs: Number(process.env.ENTRENA_LINUX_ARM64_TIMEOUT_S || 600) * 1000,
});
let counts = null;
try {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  // A suite that fails before its tests run (an import or setup error) has no failed test: count it.
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')).length;
  counts = { passed: r.numPassedTests, failed: r.numFailedTests + brokenFiles, skipped: r.numPendingTests + (r.numTodoTests || 0), files: r.testResults.length };
} catch { /* no results: reported below */ }
let info = null;
try { info = JSON.parse(readFileSync(probeFile, 'utf8')); } catch { /* the setup file did not run */ }
const what = info ? `node ${info.node} ${info.arch}, addon ${rel(info.addon)}, gemm ${info.gemmKernel}` : 'the arm64 setup check did not run';
if (!counts) fail('vitest', `no results (exit ${vitestRun.code}); ${what}:\n${tail(vitestRun.out, 40)}`);
const ok = vitestRun.code === 0 && counts.failed === 0 && counts.passed > 0 && info?.arch === 'arm64';
console.log(`${ok ? 'PASS' : 'FAIL'} vitest: ${counts.files} files, ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${secs(t2)} (${what})`);
console.log(`test:linux-arm64: ${counts.passed} passed, ${counts.failed || (ok ? 0 : 1)} failed, ${counts.skipped} skipped`);
process.exit(ok ? 0 : 1);
