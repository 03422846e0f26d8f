// build.mjs — builds build-cuda-emu/entrena.node: the addon with its CUDA backend compiled as C++
// against the host emulation in scripts/cuda-emu/cuda_runtime.h (see there for what that checks
// and what it cannot). Used by test/stress/cuda_emu.test.ts to run the GPU suites on a machine
// without a GPU; not a way to train (every CUDA thread is a fiber on one core).
//
//   node scripts/cuda-emu/build.mjs          build if a source changed since the last build
//   CUDA_EMU_REBUILD=1 node ...              force a rebuild
//
// Each native/cuda/*.cu is copied to build-cuda-emu/src/ with its kernel launches rewritten,
// `k<<<grid, block, smem, stream>>>(args)` → `::emu::launch(grid, block, smem, stream)(k, args)`,
// line for line (so compiler messages point at the right .cu line), then everything is compiled
// with g++ (two jobs at a time) and linked. Prints the addon's path; exit status 0 on success.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// CUDA_EMU_SANITIZE=1: AddressSanitizer + UBSan build in build-cuda-emu-asan/ (an out-of-bounds
// access by a kernel to device memory, which is host heap here, or to __shared__ arrays is reported:
// a stand-in for compute-sanitizer's memcheck, not for its racecheck).
const sanitize = process.env.CUDA_EMU_SANITIZE === '1';
const SAN = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer', '-fno-sanitize-recover=address'];
const out = path.join(root, sanitize ? 'build-cuda-emu-asan' : 'build-cuda-emu');
const addon = path.join(out, 'entrena.node');
const CXX = process.env.CXX ?? 'g++';

/** Rewrites every `kernel<<<cfg>>>(` of a .cu source into `::emu::launch(cfg)(kernel, `. */
export function rewriteLaunches(src, file = '<source>') {
  let res = '';
  let i = 0;
  for (;;) {
    const j = src.indexOf('<<<', i);
    if (j < 0) return res + src.slice(i);
    // The kernel expression ends at `<<<`: walk back over identifiers, `::` and balanced <…>.
    let s = j;
    let depth = 0;
    while (s > 0) {
      const ch = src[s - 1];
      if (ch === '>') depth++;
      else if (ch === '<') { if (depth === 0) break; depth--; }
      else if (depth === 0 && !/[\w:]/.test(ch)) break;
      s--;
    }
    const k = src.indexOf('>>>', j);
    let p = k + 3;
    while (/\s/.test(src[p])) p++;
    if (k < 0 || src[p] !== '(' || s === j) {
      throw new Error(`${file}: cannot parse the kernel launch at offset ${j}: ${src.slice(Math.max(0, j - 40), j + 40)}`);
    }
    let q = p + 1;
    while (/\s/.test(src[q])) q++;
    res += `${src.slice(i, s)}::emu::launch(${src.slice(j + 3, k)})(${src.slice(s, j)}${src[q] === ')' ? '' : ', '}`;
    i = p + 1;
  }
}

function nodeInclude() {
  const candidates = [
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
    path.join(process.env.HOME ?? '', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
  if (!found) throw new Error('cuda-emu: node headers (node_api.h) not found');
  return found;
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}

async function main() {
  const list = (dir, ext) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f));
  const cuda = list('native/cuda', '.cu');
  const plain = ['native/bindings.cc', ...list('native/core', '.cc'), ...list('native/cpu', '.cc'), ...list('native/distributed', '.cc')];
  const inputs = [...cuda, ...plain, ...list('native/core', '.h'), ...list('native/cpu', '.h'), ...list('native/cuda', '.cuh'),
    'scripts/cuda-emu/cuda_runtime.h', 'scripts/cuda-emu/build.mjs'];
  if (process.env.CUDA_EMU_REBUILD !== '1' && fs.existsSync(addon)) {
    const built = fs.statSync(addon).mtimeMs;
    if (inputs.every((f) => fs.statSync(path.join(root, f)).mtimeMs <= built)) {
      console.log(addon);
      return true;
    }
  }
  fs.mkdirSync(path.join(out, 'src'), { recursive: true });
  fs.mkdirSync(path.join(out, 'obj'), { recursive: true });
  if (!fs.existsSync(path.join(out, '.gitignore'))) fs.writeFileSync(path.join(out, '.gitignore'), '*\n');

  const sources = plain.map((f) => path.join(root, f));
  for (const f of cuda) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    const dst = path.join(out, 'src', path.basename(f).replace(/\.cu$/, '.cc'));
    fs.writeFileSync(dst, `#line 1 "${f}"\n${rewriteLaunches(text, f)}`);
    sources.push(dst);
  }
  const napi = createRequire(path.join(root, 'package.json'))('node-addon-api').include_dir;
  const flags = [...(sanitize ? [...SAN, '-O1', '-g'] : ['-O2', '-g0']), '-std=c++17', '-fPIC', '-pthread', '-fexceptions', '-fno-math-errno', '-ffp-contract=off',
    '-Wno-unknown-pragmas', '-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DBUILDING_NODE_EXTENSION',
    '-DNODE_GYP_MODULE_NAME=entrena', `-I${path.join(root, 'scripts', 'cuda-emu')}`, `-I${path.join(root, 'native', 'cuda')}`,
    `-I${nodeInclude()}`, `-I${path.resolve(root, napi)}`, `-I${path.join(root, 'node_modules', 'node-addon-api')}`];
  console.error(`cuda-emu: compiling ${sources.length} files`);
  const objs = sources.map((s) => path.join(out, 'obj', path.relative(root, s).replace(/[\\/]/g, '_').replace(/\.cc$/, '.o')));
  let next = 0;
  let ok = true;
  const worker = async () => {
    while (next < sources.length) {
      const i = next++;
      if (!(await run(CXX, [...flags, '-c', sources[i], '-o', objs[i]]))) ok = false;
    }
  };
  await Promise.all([worker(), worker()]);
  if (!ok) { console.error('cuda-emu: compilation failed'); return false; }
  const link = spawnSync(CXX, ['-shared', '-pthread', ...(sanitize ? SAN : []), '-o', addon, ...objs], { stdio: 'inherit' });
  if (link.status !== 0) { console.error('cuda-emu: link failed'); return false; }
  console.log(addon);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = (await main()) ? 0 : 1;
}
