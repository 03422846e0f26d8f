#!/usr/bin/env node
// gpu_pack.mjs — `npm run gpu:pack`: packs what `npm run gpu:check` needs on a GPU machine that has
// CUDA (and python3 with PyTorch for the comparison) but neither Node nor npm nor a network, into the
// git-ignored folder .device/:
//
//   .device/node.xz               this machine's node binary, compressed
//   .device/node_modules.tar.xz   only the packages the check runs: vitest and what it loads, the
//                                 library's runtime dependencies, node-addon-api (for a rebuild there)
//   .device/node-include.tar.xz   Node's N-API headers (a rebuild there needs nothing else of Node)
//   .device/build.tar.xz          the CUDA build of the addon (build-cuda/Release) and dist/
//
// Then copy the checkout with .device to the GPU machine and run `bash scripts/gpu_run.sh --out DIR`
// there (it unpacks what is missing and runs scripts/gpu_check.mjs).
// Needs: `npm run build:cuda` and `npm run build:ts` done, and xz and tar. Prints the sizes; all
// that travels stays well under 64 MiB (node_modules itself is several hundred MiB, with the ONNX
// runtime and TypeScript that the check does not use).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = path.join(root, '.device');
const fail = (msg) => { console.error(`gpu:pack: ${msg}`); process.exit(1); };
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : -Infinity);

for (const [p, how] of [['build-cuda/Release/entrena.node', 'npm run build:cuda'], ['dist/index.js', 'npm run build:ts']]) {
  if (!fs.existsSync(path.join(root, p))) fail(`${p} is missing: run \`${how}\` first`);
}
fs.mkdirSync(dev, { recursive: true });

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error || r.status !== 0) fail(`${cmd} ${args.slice(0, 3).join(' ')} … failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
}

// 1. node.
const nodeXz = path.join(dev, 'node.xz');
if (mtime(nodeXz) < mtime(process.execPath)) {
  const out = fs.openSync(nodeXz, 'w');
  const r = spawnSync('xz', ['-T0', '-6', '-c', process.execPath], { stdio: ['ignore', out, 'inherit'] });
  fs.closeSync(out);
  if (r.error || r.status !== 0) { fs.rmSync(nodeXz, { force: true }); fail('xz could not compress the node binary'); }
}

// 2. node_modules: the dependency closure of what the check loads, from package-lock.json.
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages;
/** Node's resolution inside the lock: the nearest node_modules/<name> above `from`. */
function resolveIn(name, from) {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock[key]) return key;
    if (!base) return null;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}
const keep = new Set();
function add(key) {
  if (!key || keep.has(key) || !fs.existsSync(path.join(root, key))) return;  // optional packages of other platforms are absent
  keep.add(key);
  const e = lock[key];
  for (const dep of Object.keys({ ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies })) add(resolveIn(dep, key));
}
for (const top of ['vitest', 'node-gyp-build', 'protobufjs', 'node-addon-api']) add(`node_modules/${top}`);
const modsXz = path.join(dev, 'node_modules.tar.xz');
if (mtime(modsXz) < mtime(path.join(root, 'package-lock.json'))) {
  const list = [...keep].sort();
  // The nested ones live inside a kept parent: listing them again would store them twice.
  const tops = list.filter((k) => !list.some((o) => o !== k && k.startsWith(`${o}/`)));
  sh('tar', ['-cJf', modsXz, ...tops], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
}

// 3. Node's N-API headers.
const incXz = path.join(dev, 'node-include.tar.xz');
const includeDir = [process.env.NODE_INCLUDE_DIR, path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node']
  .find((d) => d && fs.existsSync(path.join(d, 'node_api.h')));
if (!includeDir) fail('node_api.h not found (set NODE_INCLUDE_DIR)');
const headers = fs.readdirSync(includeDir).filter((f) => /^(node_api|js_native_api)\w*\.h$/.test(f));
const stage = path.join(dev, 'include', 'node');
fs.mkdirSync(stage, { recursive: true });
for (const h of headers) fs.copyFileSync(path.join(includeDir, h), path.join(stage, h));
sh('tar', ['-cJf', incXz, '-C', dev, 'include']);
fs.rmSync(path.join(dev, 'include'), { recursive: true, force: true });

// 4. The builds: the addon is ~20 MiB of mostly GPU code that xz shrinks tenfold.
sh('tar', ['-cJf', path.join(dev, 'build.tar.xz'), 'build-cuda/Release/entrena.node', 'dist'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });

// Sizes of what travels besides the tracked files.
const du = (p) => {
  const s = fs.statSync(p);
  if (!s.isDirectory()) return s.size;
  return fs.readdirSync(p).reduce((a, f) => a + du(path.join(p, f)), 0);
};
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).stdout.split('\0').filter(Boolean)
  .reduce((a, f) => a + (fs.existsSync(path.join(root, f)) ? fs.statSync(path.join(root, f)).size : 0), 0);
const carried = Object.fromEntries(fs.readdirSync(dev).map((f) => [`.device/${f}`, du(path.join(dev, f))]));
const total = tracked + Object.values(carried).reduce((a, b) => a + b, 0);
console.log(`gpu:pack: ${keep.size} packages of node_modules packed`);
for (const [k, v] of Object.entries(carried)) console.log(`  ${k.padEnd(30)} ${mib(v)}`);
console.log(`  ${'tracked files'.padEnd(30)} ${mib(tracked)}`);
console.log(`  ${'in all'.padEnd(30)} ${mib(total)}${total > 64 * 2 ** 20 ? '  (over 64 MiB!)' : ''}`);
console.log('carry .device (git-ignored) with the checkout; on the GPU machine: bash scripts/gpu_run.sh --out DIR');
