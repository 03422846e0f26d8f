#!/usr/bin/env node
// build-cuda.mjs — `npm run build:cuda`: builds the addon with the CUDA backend into build-cuda/.
//
// Runs plain CMake (configure + build) on CMakeLists.txt and copies the result to
// build-cuda/Release/entrena.node, the path lib/ts/native.ts loads for the CUDA build. Without
// nvcc, CMake falls back to the CPU-only addon (native/cuda/stub.cc) and this script says so.
//
// Why not cmake-js: cmake-js downloads Node's headers over the network before configuring, and
// entrena never needs the network to build or run (DESIGN, execution model). Node's headers ship
// with Node itself, so we point CMake at them: <node prefix>/include/node, falling back to
// /usr/include/node (Debian's nodejs-dev layout).
//
// Environment:
//   ENTRENA_CUDA=AUTO|ON|OFF          passed to CMake (default AUTO: CUDA when nvcc is found)
//   CMAKE_CUDA_ARCHITECTURES="80-real;90"  override the GPU architectures compiled
//   ENTRENA_BUILD_JOBS=N              parallel compile jobs (default: all cores)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.join(root, 'build-cuda');
const target = path.join(buildDir, 'Release', 'entrena.node');

function nodeIncludeDir() {
  const candidates = [
    process.env.NODE_INCLUDE_DIR,
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'node_api.h'))) return path.resolve(dir);
  }
  console.error(`build-cuda: node_api.h not found in any of: ${candidates.join(', ')}`);
  console.error('build-cuda: set NODE_INCLUDE_DIR to the directory holding Node\'s headers');
  process.exit(1);
}

function run(cmd, args, { capture = false } = {}) {
  console.log(`$ ${cmd} ${args.map((a) => (/\s|;/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (r.error) {
    console.error(`build-cuda: could not run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (capture && r.stdout) process.stdout.write(r.stdout);
  if (r.status !== 0) {
    console.error(`build-cuda: ${cmd} failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout ?? '';
}

function hasNinja() {
  const r = spawnSync('ninja', ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

// Reuse the generator of an existing build tree (CMake refuses to switch generators in place).
function existingGenerator() {
  const cache = path.join(buildDir, 'CMakeCache.txt');
  if (!fs.existsSync(cache)) return null;
  const m = /^CMAKE_GENERATOR:INTERNAL=(.*)$/m.exec(fs.readFileSync(cache, 'utf8'));
  return m ? m[1] : null;
}

const started = Date.now();
const includeDir = nodeIncludeDir();
const jobs = Number(process.env.ENTRENA_BUILD_JOBS) || (os.availableParallelism?.() ?? os.cpus().length);

const configureArgs = ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DNODE_INCLUDE_DIR=${includeDir}`];
const generator = existingGenerator() ?? (hasNinja() ? 'Ninja' : null);
if (generator) configureArgs.push('-G', generator);
if (process.env.ENTRENA_CUDA) configureArgs.push(`-DENTRENA_CUDA=${process.env.ENTRENA_CUDA}`);
if (process.env.CMAKE_CUDA_ARCHITECTURES) configureArgs.push(`-DCMAKE_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES}`);

const configureOut = run('cmake', configureArgs, { capture: true });
const summary = /entrena: CUDA backend (ON|OFF) \(architectures: ([^)]*)\)/.exec(configureOut);
const withCuda = summary ? summary[1] === 'ON' : false;
const archs = summary ? summary[2] : '';
const configured = Date.now();

run('cmake', ['--build', buildDir, '--config', 'Release', '--parallel', String(jobs)]);
const built = Date.now();

// Single-config generators (Ninja, Makefiles) put the module at build-cuda/entrena.node;
// multi-config ones at build-cuda/Release/entrena.node already.
const produced = [path.join(buildDir, 'entrena.node'), target].find((p) => fs.existsSync(p));
if (!produced) {
  console.error('build-cuda: the build finished but entrena.node was not found in build-cuda/');
  process.exit(1);
}
fs.mkdirSync(path.dirname(target), { recursive: true });
if (path.resolve(produced) !== path.resolve(target)) fs.copyFileSync(produced, target);

// Load it once to report what it is (this also proves it loads on this machine).
let report = '';
try {
  const addon = createRequire(import.meta.url)(target);
  const available = addon.cudaAvailable();
  report = `cudaCompiled() = ${addon.cudaCompiled()}, cudaAvailable() = ${available}` +
    (available ? `, devices = ${addon.cudaDeviceCount()}` : ' (no usable GPU/driver on this machine)');
} catch (e) {
  report = `WARNING: the module does not load here: ${e.message}`;
}

const secs = (ms) => (ms / 1000).toFixed(1);
console.log('');
console.log('build-cuda: built ' + path.relative(root, target));
console.log(`  backend:       ${withCuda ? `CPU + CUDA (GPU architectures ${archs}; static cudart)` : 'CPU only (no nvcc found: native/cuda/stub.cc)'}`);
console.log(`  node headers:  ${includeDir}`);
console.log(`  time:          configure ${secs(configured - started)} s, compile ${secs(built - configured)} s (${jobs} jobs)`);
console.log(`  loads here:    ${report}`);
