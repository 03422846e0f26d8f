#!/usr/bin/env node
// platform-packages.mjs — `npm run packages`: the per-platform npm packages of entrena's addon,
// generated from built binaries into build-packages/<target>/ (git-ignored; no binary is committed).
//
// entrena lists the CPU packages as optionalDependencies pinned to its own version; npm installs
// only the one whose os/cpu/libc fields match the machine, and lib/ts/loader.ts loads it (the local
// build is the fallback). The CUDA package is opt-in: `npm install @entrena/cuda13-linux-x64`.
//
//   target            package                       binary taken from (the newest where two are listed)
//   linux-x64         @entrena/linux-x64            prebuilds/linux-x64/*.node, build/Release/entrena.node
//   linux-arm64       @entrena/linux-arm64          prebuilds/linux-arm64/*.node (the aarch64 cross-build)
//   darwin-arm64      @entrena/darwin-arm64         prebuilds/darwin-arm64/*.node (built on a Mac, below)
//   darwin-x64        @entrena/darwin-x64           prebuilds/darwin-x64/*.node
//   win32-x64         @entrena/win32-x64            prebuilds/win32-x64/*.node
//   cuda13-linux-x64  @entrena/cuda13-linux-x64     build-cuda/Release/entrena.node (`--build-cuda` makes it)
//
// Build recipes for the machines that have the toolchains (each ends with the binary in place, then
// `npm run packages -- --only=<target> --pack`):
//   macOS arm64 / x64 (Xcode command-line tools): npm ci && npx prebuildify --napi --strip [--arch x64]
//   Windows x64 (Visual Studio Build Tools, C++ workload): npm ci && npx prebuildify --napi
//   linux-x64 CUDA (CUDA 13 toolkit, cmake; no GPU needed): npm ci && npm run packages -- --build-cuda
//
// A binary of the host's platform is loaded before it is packed (a CUDA one reports CUDA compiled in);
// a Linux one is stripped (strip --strip-unneeded) when it is not already, and its glibc/libstdc++
// needs are written to the package's `config`. The CUDA binary must hold SASS for sm_75, sm_80 and
// sm_90 and PTX for newer GPUs (read from its embedded fat binaries), with the CUDA runtime linked
// statically (checked with readelf when it is installed).
//
// Usage: node scripts/platform-packages.mjs [--only=T1,T2] [--out=DIR] [--pack] [--build-cuda] [--sync]
//   --only        the targets to generate (each must have its binary); default: every target that has one
//   --out         output folder (default build-packages/)
//   --pack        also `npm pack` each package into <out>/tarballs/ and report the sizes
//   --build-cuda  first build build-cuda/ with the package's architectures (scripts/build-cuda.mjs)
//   --sync        write the CPU packages into package.json's (and the lockfile's) optionalDependencies
//                 at its version (the "version" script: `npm version` keeps them pinned)
// The last stdout line is a JSON array: one { target, name, dir, source, bytes, tarball?, packedBytes?,
// unpackedBytes? } per package.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name) => args.includes(`--${name}`);
const log = (...m) => console.error('packages:', ...m);
const fail = (m) => { console.error(`packages: ${m}`); process.exit(1); };

const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const version = rootPkg.version;
const host = `${process.platform}-${process.arch}`;

/** The CUDA architectures of a CUDA package: SASS for T4 (sm_75), A100 and 8.x cards (sm_80), H100/H200 (sm_90), PTX of sm_90 for newer GPUs. */
const CUDA_ARCHITECTURES = '75-real;80-real;90';
/** The oldest NVIDIA driver for each CUDA major (NVIDIA's CUDA toolkit release notes, table 3). */
const MIN_DRIVER = { 13: { linux: '580.65.06', win32: '580.88' }, 12: { linux: '525.60.13', win32: '527.41' } };

const cpu = (platform, arch, libc, what) => ({ platform, arch, libc, cuda: null, what });
const TARGETS = {
  'linux-x64': cpu('linux', 'x64', 'glibc', 'Linux x64 (glibc)'),
  'linux-arm64': cpu('linux', 'arm64', 'glibc', 'Linux arm64 (glibc)'),
  'darwin-arm64': cpu('darwin', 'arm64', null, 'macOS arm64 (Apple Silicon)'),
  'darwin-x64': cpu('darwin', 'x64', null, 'macOS x64'),
  'win32-x64': cpu('win32', 'x64', null, 'Windows x64'),
  'cuda13-linux-x64': { platform: 'linux', arch: 'x64', libc: 'glibc', cuda: 13, what: 'Linux x64 (glibc) with CUDA 13' },
};
const packageName = (target) => `@entrena/${target}`;

function run(cmd, argv, opts = {}) {
  return spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}
const has = (tool) => run('sh', ['-c', `command -v ${tool}`]).status === 0;

// --- --sync: optionalDependencies = the CPU packages at this version ------------------------------
if (flag('sync')) {
  const file = path.join(root, 'package.json');
  const text = readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  pkg.optionalDependencies = Object.fromEntries(Object.entries(TARGETS).filter(([, t]) => !t.cuda).map(([k]) => [packageName(k), version]));
  writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
  // The lockfile repeats them: in its root entry, and one entry per package with its os/cpu/libc.
  // `npm ci` refuses a lockfile out of step with package.json; with these entries it installs the
  // matching package and skips the others — and, before they are published, tolerates the failed
  // fetch of an optional dependency ("reify failed optional dependency").
  const lockFile = path.join(root, 'package-lock.json');
  if (existsSync(lockFile)) {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
    if (lock.packages?.['']) {
      lock.packages[''].optionalDependencies = pkg.optionalDependencies;
      for (const [target, t] of Object.entries(TARGETS)) {
        if (t.cuda) continue;
        const name = packageName(target);
        lock.packages[`node_modules/${name}`] = {
          version, resolved: `https://registry.npmjs.org/${name}/-/${target}-${version}.tgz`, optional: true,
          os: [t.platform], cpu: [t.arch], ...(t.libc ? { libc: [t.libc] } : {}),
        };
      }
      const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
      lock.packages = sorted;
      writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n');
    }
  }
  log(`package.json, package-lock.json: optionalDependencies = ${Object.keys(pkg.optionalDependencies).join(', ')} @ ${version}`);
  process.exit(0);
}

// --- --build-cuda ------------------------------------------------------------------------------------
if (flag('build-cuda')) {
  log(`building the CUDA addon for ${CUDA_ARCHITECTURES} (scripts/build-cuda.mjs)`);
  const r = run(process.execPath, [path.join(root, 'scripts', 'build-cuda.mjs')], {
    cwd: root, stdio: 'inherit', env: { ...process.env, ENTRENA_CUDA: 'ON', CMAKE_CUDA_ARCHITECTURES: CUDA_ARCHITECTURES },
  });
  if (r.status !== 0) fail('the CUDA build failed');
}

// --- the binaries --------------------------------------------------------------------------------------
/** The binary for a target: the newest of its candidate files, or null. */
function binaryFor(target, t) {
  const found = [];
  if (t.cuda) {
    found.push(path.join(root, 'build-cuda', 'Release', 'entrena.node'));
  } else {
    const dir = path.join(root, 'prebuilds', target);
    if (existsSync(dir)) {
      const nodes = readdirSync(dir).filter((f) => f.endsWith('.node'));
      // prebuildify names it entrena.node (or with tags: entrena.glibc.node); take entrena* first.
      nodes.sort((a, b) => Number(b.startsWith('entrena')) - Number(a.startsWith('entrena')));
      if (nodes.length) found.push(path.join(dir, nodes[0]));
    }
    if (target === host) found.push(path.join(root, 'build', 'Release', 'entrena.node'));
  }
  const present = found.filter((f) => existsSync(f));
  present.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return present[0] ?? null;
}

/** The highest VERSION in the binary's symbol-version strings PREFIX_VERSION (GLIBC_2.34, GLIBCXX_3.4.30). */
function highestVersion(bytes, prefix) {
  const newer = (a, b) => { for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0); return false; };
  let best = null;
  for (const m of bytes.toString('latin1').matchAll(new RegExp(`\\b${prefix}_(\\d+(?:\\.\\d+)+)`, 'g'))) {
    const v = m[1].split('.').map(Number);
    if (!best || newer(v, best)) best = v;
  }
  return best ? best.join('.') : null;
}

/** Loads a binary of the host's platform in a child process; returns what it says about itself. */
function selfReport(file) {
  const r = run(process.execPath, ['-e', `const a = require(${JSON.stringify(file)});
    console.log(JSON.stringify({ cudaCompiled: a.cudaCompiled(), driver: a.cudaDriver ? a.cudaDriver() : null, kernel: a.cpuFeatures().gemmKernel }));`]);
  if (r.status !== 0) fail(`${file} does not load on this machine:\n${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/**
 * The GPU code in a binary: the architectures of its SASS (ELF cubins) and PTX entries, read from the
 * CUDA fat binaries embedded in it (what `cuobjdump --list-elf --list-ptx` lists; that tool is not
 * part of a minimal toolkit). A fat binary: a 16-byte header (magic 0xBA55ED50, version, header
 * size, payload size), then entries, each with a header giving its kind (1 PTX, 2 ELF), its header
 * and payload sizes (offsets 4 and 8) and its architecture (offset 28: 75 = sm_75).
 */
function fatbinArchitectures(bytes) {
  const sass = new Set(), ptx = new Set();
  const magic = Buffer.from([0x50, 0xed, 0x55, 0xba]);
  for (let i = bytes.indexOf(magic); i >= 0; i = bytes.indexOf(magic, i + 4)) {
    if (i + 16 > bytes.length || bytes.readUInt16LE(i + 6) !== 16) continue;
    const end = i + 16 + Number(bytes.readBigUInt64LE(i + 8));
    if (end > bytes.length) continue;
    for (let p = i + 16; p + 32 <= end;) {
      const kind = bytes.readUInt16LE(p), headerSize = bytes.readUInt32LE(p + 4), size = Number(bytes.readBigUInt64LE(p + 8)), arch = bytes.readUInt32LE(p + 28);
      if (kind === 1) ptx.add(`compute_${arch}`);
      else if (kind === 2) sass.add(`sm_${arch}`);
      if (headerSize < 32 || size <= 0) break;
      p += headerSize + size;
    }
  }
  const byArch = (a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1]);
  return { sass: [...sass].sort(byArch), ptx: [...ptx].sort(byArch) };
}

/** What the CUDA binary holds: SASS and PTX architectures, whether cudart is dynamic (readelf), the toolkit version. */
function cudaContents(file) {
  const out = { ...fatbinArchitectures(readFileSync(file)), dynamicCudart: null, cudaVersion: null };
  if (has('readelf')) {
    const d = run('readelf', ['-d', file]);
    out.dynamicCudart = /NEEDED.*libcudart/.test(d.stdout ?? '');
  }
  // The toolkit that compiled it: CMake records it in the build tree.
  const cmakeFiles = path.join(root, 'build-cuda', 'CMakeFiles');
  if (existsSync(cmakeFiles)) {
    for (const d of readdirSync(cmakeFiles)) {
      const f = path.join(cmakeFiles, d, 'CMakeCUDACompiler.cmake');
      if (existsSync(f)) out.cudaVersion = /CMAKE_CUDA_COMPILER_VERSION "(\d+\.\d+)/.exec(readFileSync(f, 'utf8'))?.[1] ?? out.cudaVersion;
    }
  }
  return out;
}

const outDir = path.resolve(root, opt('out') ?? 'build-packages');
const only = opt('only')?.split(',').filter(Boolean);
for (const t of only ?? []) if (!TARGETS[t]) fail(`unknown target '${t}'; targets: ${Object.keys(TARGETS).join(', ')}`);
mkdirSync(outDir, { recursive: true });

const results = [];
for (const [target, t] of Object.entries(TARGETS)) {
  if (only && !only.includes(target)) continue;
  const source = binaryFor(target, t);
  if (!source) {
    const how = t.cuda ? 'npm run packages -- --build-cuda' : `put the ${target} build at prebuilds/${target}/entrena.node (recipes at the top of this script)`;
    if (only) fail(`${target}: no binary (${how})`);
    log(`${target}: skipped, no binary (${how})`);
    continue;
  }
  const dir = path.join(outDir, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const binary = path.join(dir, 'entrena.node');
  copyFileSync(source, binary);
  chmodSync(binary, 0o755);

  const config = { backend: t.cuda ? 'cuda' : 'cpu', napi: 8 };
  let stripped = false;
  if (t.platform === 'linux') {
    // Symbols are not needed to load or to run; a Linux build from node-gyp or CMake keeps them.
    const before = statSync(binary).size;
    const strip = t.arch === process.arch ? 'strip' : `${t.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu-strip`;
    if (has(strip) && run(strip, ['--strip-unneeded', binary]).status === 0) stripped = statSync(binary).size < before;
    const bytes = readFileSync(binary);
    const glibc = highestVersion(bytes, 'GLIBC');
    const glibcxx = highestVersion(bytes, 'GLIBCXX');
    if (glibc) config.glibc = `>=${glibc}`;
    if (glibcxx) config.glibcxx = `>=${glibcxx}`;
  }
  if (target === host || (t.cuda && `${t.platform}-${t.arch}` === host)) {
    const self = selfReport(binary);
    if (Boolean(t.cuda) !== self.cudaCompiled) fail(`${target}: ${source} is ${self.cudaCompiled ? 'a CUDA' : 'a CPU-only'} build`);
  }
  if (t.cuda) {
    const c = cudaContents(binary);
    if (c.cudaVersion && Number(c.cudaVersion.split('.')[0]) !== t.cuda) fail(`${target}: the binary was compiled by CUDA ${c.cudaVersion}, not CUDA ${t.cuda}`);
    if (c.dynamicCudart) fail(`${target}: the binary links libcudart dynamically; the CUDA build must link it statically`);
    const needSass = CUDA_ARCHITECTURES.split(';').map((a) => `sm_${a.replace(/-real$/, '')}`);
    const needPtx = CUDA_ARCHITECTURES.split(';').filter((a) => !a.endsWith('-real')).map((a) => `compute_${a}`);
    const missing = [...needSass.filter((x) => !c.sass.includes(x)), ...needPtx.filter((x) => !c.ptx.includes(x))];
    if (missing.length) {
      fail(`${target}: the binary holds SASS ${c.sass.join(', ') || 'none'} and PTX ${c.ptx.join(', ') || 'none'}; ` +
        `a package needs SASS ${needSass.join(', ')} and PTX ${needPtx.join(', ')} (npm run packages -- --build-cuda)`);
    }
    config.cuda = c.cudaVersion ?? `${t.cuda}.0`;
    config.minDriver = { [t.platform]: MIN_DRIVER[t.cuda][t.platform] };
    config.sass = c.sass;
    config.ptx = c.ptx;
    config.cudart = 'static';
  }

  const name = packageName(target);
  const pkg = {
    name,
    version,
    description: `entrena's native addon prebuilt for ${t.what}${t.cuda ? ': CUDA kernels (needs an NVIDIA driver) and the CPU kernels' : ''}`,
    license: rootPkg.license,
    repository: rootPkg.repository,
    homepage: rootPkg.homepage,
    os: [t.platform],
    cpu: [t.arch],
    ...(t.libc ? { libc: [t.libc] } : {}),
    files: ['entrena.node'],
    exports: { './entrena.node': './entrena.node', './package.json': './package.json' },
    engines: rootPkg.engines,
    config,
    preferUnplugged: true,
    publishConfig: { access: 'public' },
  };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  const use = t.cuda
    ? `Opt-in: \`npm install entrena ${name}\`. entrena loads it when the NVIDIA driver supports CUDA ${config.cuda} ` +
      `(driver ${config.minDriver[t.platform]} or newer) and sees a GPU; otherwise it uses the CPU addon, and \`entrena info\` ` +
      `says why (cudaPackage.reason). GPU code: SASS ${config.sass.join(', ')}, PTX ${config.ptx.join(', ')} (JIT-compiled ` +
      'by the driver on newer GPUs); the CUDA runtime is linked statically, no cuBLAS or cuDNN.'
    : `Installed by \`npm install entrena\` on ${t.what} (an optional dependency of entrena at the same version); ` +
      'nothing to do by hand.';
  writeFileSync(path.join(dir, 'README.md'), `# ${name}\n\nThe prebuilt native addon of [entrena](https://www.npmjs.com/package/entrena) ${version} for ${t.what}.\n\n${use}\n`);
  const bytes = statSync(binary).size;
  log(`${target}: ${name}@${version} from ${path.relative(root, source)}${stripped ? ' (stripped)' : ''}, ${(bytes / 2 ** 20).toFixed(2)} MiB`);
  results.push({ target, name, dir, source: path.relative(root, source), bytes, config });
}

if (flag('pack') && results.length) {
  const tarballs = path.join(outDir, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  const r = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, ...results.map((x) => x.dir)], { cwd: outDir });
  if (r.status !== 0) fail(`npm pack failed:\n${r.stderr.slice(-3000)}`);
  const packed = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  for (const p of packed) {
    const x = results.find((y) => y.name === p.name);
    Object.assign(x, { tarball: path.join(tarballs, p.filename), packedBytes: p.size, unpackedBytes: p.unpackedSize, files: p.files.map((f) => f.path) });
    // The registry documents no hard limit, but publishes of about 200 MB fail with E413: stay far below.
    if (p.size > 100 * 2 ** 20) fail(`${x.target}: ${p.filename} is ${(p.size / 2 ** 20).toFixed(0)} MiB packed, over the 100 MiB this project allows itself`);
    log(`${x.target}: ${p.filename} ${(p.size / 2 ** 20).toFixed(2)} MiB packed, ${(p.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked (${p.files.map((f) => f.path).join(', ')})`);
  }
}
console.log(JSON.stringify(results));
