/**
 * random.ts — the small seeded generators of the data pipeline (internal; not exported from
 * `data`). Two sources of randomness live here:
 *
 * - `Xoshiro128`: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number
 *   generators", 2018) over 32-bit words, seeded through splitmix32. It drives the Fisher-Yates
 *   shuffles of the DataLoader and of randomSplit: a permutation of n rows needs n draws, which are
 *   cheaper in plain JavaScript than a round trip to a native tensor. A seed up to 2^53 and an epoch
 *   number are mixed into the 128-bit state, so `(seed, epoch)` names one permutation.
 * - `withSeed`: runs a function with the library's global Philox generator temporarily set to
 *   (seed, counter 0), then restores the previous state. Seeded augmentations and the spirals
 *   dataset use it, so a `seed` option gives the same numbers as `manualSeed(seed)` would and leaves
 *   the global stream untouched.
 */
import { ArgumentError, describe } from '../errors.js';
import { getRngState, manualSeed, rand, setRngState } from '../ops/index.js';

/** splitmix32 step: returns the next output and advances `s[0]`. */
function splitmix32(s: Uint32Array): number {
  s[0] = (s[0] + 0x9e3779b9) >>> 0;
  let z = s[0];
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** xoshiro128**: a 32-bit generator with a 2^128 − 1 period. */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  /** Seeds from a non-negative integer (up to 2^53) and an optional stream number (the epoch). */
  constructor(seed: number, stream = 0) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    const sm = new Uint32Array([lo ^ Math.imul(hi, 0x85ebca6b)]);
    // Mix the high word and the stream in through further splitmix rounds.
    const a = splitmix32(sm);
    sm[0] ^= hi;
    const b = splitmix32(sm);
    sm[0] ^= Math.imul(stream >>> 0, 0xc2b2ae35) ^ (Math.floor(stream / 0x100000000) >>> 0);
    const c = splitmix32(sm);
    const d = splitmix32(sm);
    this.s[0] = a; this.s[1] = b; this.s[2] = c; this.s[3] = d;
    if ((a | b | c | d) === 0) this.s[0] = 1; // the all-zero state is the one fixed point
    for (let i = 0; i < 8; i++) this.nextUint32(); // decorrelate nearby seeds
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, bound), bound ≤ 2^32, without modulo bias (rejection sampling). */
  nextInt(bound: number): number {
    if (bound <= 1) return 0;
    const limit = 0x100000000 - (0x100000000 % bound);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % bound;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Fisher-Yates (Durstenfeld) shuffle of `a` in place: for i from n−1 down to 1, swap a[i] with
 * a[j], j uniform in [0, i]. Every permutation is equally likely given uniform draws.
 */
export function shuffleInPlace(a: Int32Array | number[], rng: Xoshiro128): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = a[i]; a[i] = a[j]; a[j] = t;
  }
}

/** A random permutation of 0..n−1. */
export function permutation(n: number, rng: Xoshiro128): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  shuffleInPlace(p, rng);
  return p;
}

/**
 * A seed drawn from the library's global generator (so `manualSeed` repeats it): two uniform
 * doubles give 53 bits.
 */
export function seedFromGlobalRng(): number {
  const u = rand([2], { dtype: 'float64' });
  const v = u.data();
  u.dispose();
  return Math.floor(v[0] * 0x200000) * 0x100000000 + Math.floor(v[1] * 0x100000000);
}

/** Checks an optional seed option: undefined or a non-negative safe integer. */
export function checkSeed(seed: unknown, where: string): number | undefined {
  if (seed === undefined) return undefined;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER)
    throw new ArgumentError(`${where}: expected seed to be a non-negative integer, received ${describe(seed)}`);
  return seed;
}

/**
 * Runs `fn` with the global generator set to (seed, 0) and restores the previous state afterwards;
 * without a seed, runs `fn` on the global stream as it is.
 */
export function withSeed<T>(seed: number | undefined, fn: () => T): T {
  if (seed === undefined) return fn();
  const saved = getRngState();
  manualSeed(seed);
  try {
    return fn();
  } finally {
    setRngState(saved);
  }
}

/** Mixes a seed with a small integer (a transform's position in `compose`) into a new seed. */
export function deriveSeed(seed: number, k: number): number {
  const r = new Xoshiro128(seed, k + 1);
  return (r.nextUint32() >>> 11) * 0x100000000 + r.nextUint32();
}
