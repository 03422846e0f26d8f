// random_native.test.ts — the CPU uniform fill (native/cpu/random.cc) against Philox4x32-10 written
// out here in BigInt arithmetic: element i is word i % 4 of counter group offset + ⌊i / 4⌋, the
// float32 value (x >> 8)·2⁻²⁴ mapped to lo + (hi − lo)·u in double and rounded once. The AVX2 path
// (eight groups at a time) and the scalar tail must both give these bits, for every length (the
// tails of 4-element groups and of 8-group blocks), counter, seed and range.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binding = createRequire(import.meta.url)('node-gyp-build')(root);
binding.init(new Float64Array(128));

const MASK = 0xffffffffn;
/** Philox4x32-10 of one 64-bit counter under one 64-bit key (Salmon et al. 2011; core/philox.h). */
function philox(counter: bigint, key: bigint): bigint[] {
  let c0 = counter & MASK, c1 = counter >> 32n, c2 = 0n, c3 = 0n;
  let k0 = key & MASK, k1 = (key >> 32n) & MASK;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0, p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ k0, p1 & MASK, (p0 >> 32n) ^ c3 ^ k1, p0 & MASK];
    k0 = (k0 + 0x9e3779b9n) & MASK;
    k1 = (k1 + 0xbb67ae85n) & MASK;
  }
  return [c0, c1, c2, c3];
}

function expected(n: number, seed: number, counter: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let g = 0; g * 4 < n; g++) {
    const w = philox(BigInt(counter) + BigInt(g), BigInt(seed));
    for (let k = 0; k < 4 && g * 4 + k < n; k++) {
      const u = Number(w[k] >> 8n) * 2 ** -24;
      out[g * 4 + k] = Math.fround(lo + (hi - lo) * u);
    }
  }
  return out;
}

function fill(n: number, seed: number, counter: number, lo: number, hi: number): Float32Array {
  const h = binding.alloc(0, Math.max(n, 1) * 4);
  binding.random(0, 0, n, h, 0, seed, counter, lo, hi);
  const out = new Float32Array(n);
  binding.read(h, 0, out);
  binding.free(h);
  return out;
}

describe('CPU uniform fill (Philox4x32-10)', () => {
  it('equals the reference bit for bit for every length, counter, seed and range', () => {
    let cases = 0;
    for (const n of [1, 3, 4, 5, 31, 32, 33, 35, 64, 100, 1001, 16387 * 4 + 3]) {
      for (const [seed, counter] of [[0, 0], [123456789, 5], [2 ** 40 + 7, 2 ** 33 + 3]]) {
        for (const [lo, hi] of [[0, 1], [-2.5, 1e-3]]) {
          // The largest length spans several threads' chunks: check a sample of it.
          const got = fill(n, seed, counter, lo, hi);
          const want = expected(Math.min(n, 4096), seed, counter, lo, hi);
          for (let i = 0; i < want.length; i++) {
            if (!Object.is(got[i], want[i])) throw new Error(`n=${n} seed=${seed} counter=${counter} [${lo}, ${hi}) element ${i}: ${got[i]} vs ${want[i]}`);
          }
          if (n > 4096) {
            // The last elements (the scalar tail of the last chunk) against the reference's groups there.
            const g0 = Math.floor((n - 40) / 4);
            const tail = expected(n - g0 * 4, seed, counter + g0, lo, hi);
            for (let i = 0; i < tail.length; i++) expect(Object.is(got[g0 * 4 + i], tail[i])).toBe(true);
          }
          cases++;
        }
      }
    }
    expect(cases).toBe(72);
  });

  it('is in [lo, hi) and looks uniform', () => {
    const u = fill(200_000, 99, 1, 0, 1);
    let sum = 0, min = 1, max = 0;
    for (const v of u) { sum += v; if (v < min) min = v; if (v > max) max = v; }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / u.length - 0.5)).toBeLessThan(0.005);
  });
});
