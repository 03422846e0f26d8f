/**
 * tune.ts — hyper-parameter search and ensembles.
 *
 * `gridSearch` tries every combination of a grid, `randomSearch` draws `trials` combinations
 * (values from a list, or a range `{ min, max, log? }`) with a seeded generator; both call your
 * `evaluate(params, fold?)` (which trains and returns the validation score, higher is better unless
 * `mode: 'min'`), optionally over k folds, and return the trials ranked best first.
 */
import { checkNumber, checkOptions, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { Tensor, tidy } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { stack } from '../ops/shape.js';
import { mean } from '../ops/reduce.js';

export type Space = Record<string, unknown[] | { min: number; max: number; log?: boolean; integer?: boolean }>;
export interface Trial { params: Record<string, unknown>; score: number; scores: number[]; seconds: number; rank: number }
export interface SearchOptions { mode?: 'max' | 'min'; folds?: number; trials?: number; seed?: number; onTrial?: (t: Trial) => void }

/** Yields the k (train, validation) index splits of n samples (contiguous folds, as sklearn's KFold without shuffle). */
export function kFold(n: number, k: number): { train: number[]; validation: number[] }[] {
  checkNumber(k, 'kFold', 'k', { min: 2, max: n, integer: true });
  const out: { train: number[]; validation: number[] }[] = [];
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    const validation = Array.from({ length: size }, (_, i) => start + i);
    const train = [...Array.from({ length: start }, (_, i) => i), ...Array.from({ length: n - start - size }, (_, i) => start + size + i)];
    out.push({ train, validation });
    start += size;
  }
  return out;
}

function grid(space: Space): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [k, v] of Object.entries(space)) {
    if (!Array.isArray(v) || v.length === 0) throw new ArgumentError(`gridSearch: expected '${k}' to be a non-empty array of values, received ${describe(v)}`);
    combos = combos.flatMap((c) => v.map((x) => ({ ...c, [k]: x })));
  }
  return combos;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function runTrials(where: string, combos: Record<string, unknown>[], evaluate: (p: Record<string, unknown>, fold?: number) => number | Promise<number>, o: SearchOptions): Promise<Trial[]> {
  if (typeof evaluate !== 'function') throw new ArgumentError(`${where}: expected evaluate to be a function (params, fold?) => score, received ${describe(evaluate)}`);
  const folds = checkPositiveInt(o.folds ?? 1, where, 'folds');
  const trials: Trial[] = [];
  for (const params of combos) {
    const t0 = performance.now();
    const scores: number[] = [];
    for (let f = 0; f < folds; f++) {
      const s = await evaluate(params, folds > 1 ? f : undefined);
      if (typeof s !== 'number') throw new ArgumentError(`${where}: evaluate must return a number (the score), returned ${describe(s)}`);
      scores.push(s);
    }
    const t: Trial = { params, scores, score: scores.reduce((a, b) => a + b, 0) / scores.length, seconds: (performance.now() - t0) / 1000, rank: 0 };
    trials.push(t);
    o.onTrial?.(t);
  }
  const sign = o.mode === 'min' ? 1 : -1;
  const key = (s: number) => (Number.isNaN(s) ? Infinity : sign * s);
  trials.sort((a, b) => key(a.score) - key(b.score));
  trials.forEach((t, i) => (t.rank = i + 1));
  return trials;
}

/**
 * Tries every combination of `space` and returns the trials ranked best first.
 * @example
 * const ranked = await tune.gridSearch({ lr: [1e-3, 1e-2], hidden: [64, 128] }, async (p) => trainAndScore(p));
 * console.table(ranked.map((t) => ({ ...t.params, score: t.score })));
 */
export async function gridSearch(space: Space, evaluate: (p: Record<string, unknown>, fold?: number) => number | Promise<number>, options: SearchOptions = {}): Promise<Trial[]> {
  options = checkOptions<SearchOptions>(options, 'gridSearch', ['mode', 'folds', 'onTrial']);
  return runTrials('gridSearch', grid(space), evaluate, options);
}

/**
 * Draws `trials` random combinations (lists: uniform choice; ranges: uniform or log-uniform) and
 * returns them ranked best first.
 * @example await tune.randomSearch({ lr: { min: 1e-4, max: 1e-1, log: true }, dropout: [0, 0.2, 0.5] }, score, { trials: 20, seed: 0 })
 */
export async function randomSearch(space: Space, evaluate: (p: Record<string, unknown>, fold?: number) => number | Promise<number>, options: SearchOptions = {}): Promise<Trial[]> {
  options = checkOptions<SearchOptions>(options, 'randomSearch', ['mode', 'folds', 'trials', 'seed', 'onTrial']);
  const n = checkPositiveInt(options.trials ?? 10, 'randomSearch', 'trials');
  const rnd = mulberry32(options.seed ?? 0);
  const combos = Array.from({ length: n }, () => {
    const c: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(space)) {
      if (Array.isArray(v)) { if (!v.length) throw new ArgumentError(`randomSearch: '${k}' is an empty list`); c[k] = v[Math.floor(rnd() * v.length)]; continue; }
      if (!v || typeof v.min !== 'number' || typeof v.max !== 'number' || !(v.max >= v.min)) throw new ArgumentError(`randomSearch: expected '${k}' to be a list or { min, max, log? }, received ${describe(v)}`);
      if (v.log && !(v.min > 0)) throw new ArgumentError(`randomSearch: '${k}' uses log scale, so min must be > 0`);
      const u = rnd();
      let x = v.log ? Math.exp(Math.log(v.min) + u * (Math.log(v.max) - Math.log(v.min))) : v.min + u * (v.max - v.min);
      if (v.integer) x = Math.min(v.max, Math.floor(x + (v.log ? 0 : 0)));
      c[k] = x;
    }
    return c;
  });
  return runTrials('randomSearch', combos, evaluate, options);
}

/** An ensemble that averages its members' outputs (probabilities or regression values). */
export interface Ensemble { forward(x: Tensor): Tensor; members: { forward(x: Tensor): Tensor }[] }

/**
 * Averages the outputs of several models (of the same output shape), in eval mode without grad.
 * Pass `transform` (e.g. `(y) => y.softmax(-1)`) to average probabilities rather than logits.
 * @example const ens = ensemble.average([m1, m2, m3], { transform: (y) => y.softmax(-1) }); ens.forward(x)
 */
export function average(models: { forward(x: Tensor): Tensor; eval?(): unknown }[], options: { transform?: (y: Tensor) => Tensor } = {}): Ensemble {
  if (!Array.isArray(models) || models.length === 0 || models.some((m) => !m || typeof m.forward !== 'function'))
    throw new ArgumentError(`ensemble.average: expected a non-empty array of models, received ${describe(models)}`);
  options = checkOptions<typeof options>(options, 'ensemble.average', ['transform']);
  const members = models.slice();
  return {
    members,
    forward(x: Tensor): Tensor {
      return noGrad(() => tidy(() => {
        for (const m of members) m.eval?.();
        const outs = members.map((m) => (options.transform ? options.transform(m.forward(x)) : m.forward(x)));
        return mean(stack(outs, 0), 0);
      }));
    },
  };
}
