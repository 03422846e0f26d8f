// cuda_addon.mjs — what the GPU suites (test/gpu/*.test.mjs) share: loading the raw CUDA build of
// the addon, the skip reason when there is no GPU, host-side data and the CPU-vs-CUDA comparison.
//
// Lives outside test/gpu/ so that `node --test test/gpu/` does not run it as a test file of its own.
// Plain node:assert, no TypeScript build: the GPU machine has only `node` and the built files.
// ENTRENA_TEST_CUDA_ADDON points the tests at another build of the addon (same raw API).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = process.env.ENTRENA_TEST_CUDA_ADDON ?? path.join(root, 'build-cuda', 'Release', 'entrena.node');

/** The raw addon (native/bindings.cc), or null when the CUDA build is absent. */
export let addon = null;
/** Why the GPU tests skip, or null when a GPU is there. */
export let skipReason = null;
/** The scratch Float64Array the addon reads shapes and strides from (see init in bindings.cc). */
export let scratch = new Float64Array(128);
if (!fs.existsSync(addonPath)) {
  skipReason = 'no CUDA GPU: build-cuda/Release/entrena.node is not built (npm run build:cuda)';
} else {
  addon = createRequire(import.meta.url)(addonPath);
  scratch = addon.init(scratch, (code, message) => Object.assign(new Error(message), { code })) ?? scratch;
  if (!addon.cudaCompiled()) skipReason = 'no CUDA GPU: the addon was built without CUDA';
  else if (!addon.cudaAvailable()) skipReason = 'no CUDA GPU: cudaAvailable() is false (no driver or device on this machine)';
}

/** A test that needs the GPU: skips with the reason when there is none. */
export function gpuTest(name, fn) {
  test(name, (t) => {
    if (skipReason) {
      t.skip(skipReason);
      return;
    }
    return fn(t);
  });
}

export const CPU = 0, CUDA = 1;
export const F32 = 0, F64 = 1, I32 = 2;
export const ARRAY = { [F32]: Float32Array, [F64]: Float64Array, [I32]: Int32Array };
export const NAME = { [F32]: 'float32', [F64]: 'float64', [I32]: 'int32' };

/** Copies a typed array into a new buffer on `dev`; `allocate(dev, bytes)` makes the buffer. */
export function upload(dev, typed, allocate = (d, bytes) => addon.alloc(d, bytes)) {
  const h = allocate(dev, Math.max(typed.byteLength, 4));
  if (typed.byteLength) addon.write(h, 0, typed);
  return h;
}
export function download(h, dtype, count) {
  const out = new ARRAY[dtype](count);
  if (count) addon.read(h, 0, out);
  return out;
}

/** Deterministic host data (a small LCG; the tests must not depend on Math.random). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
export function randomArray(dtype, count, seed, lo = -3, hi = 3) {
  const r = rng(seed);
  const a = new ARRAY[dtype](count);
  for (let i = 0; i < count; ++i) a[i] = dtype === I32 ? Math.floor(lo + (hi - lo + 1) * r()) : lo + (hi - lo) * r();
  return a;
}

/** |cuda − cpu| ≤ atol + rtol·|cpu| element by element; NaN matches NaN, ±inf matches itself. */
export function close(got, want, { rtol, atol }, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; ++i) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}: element ${i}: expected NaN, received ${g}`);
      continue;
    }
    if (!Number.isFinite(w)) {
      assert.equal(g, w, `${what}: element ${i}`);
      continue;
    }
    const tol = atol + rtol * Math.abs(w);
    if (!(Math.abs(g - w) <= tol))
      assert.fail(`${what}: element ${i}: cuda ${g} vs cpu ${w} (|diff| ${Math.abs(g - w)} > ${tol})`);
  }
}
