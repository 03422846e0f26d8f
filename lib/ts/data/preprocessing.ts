/**
 * preprocessing.ts — feature scaling and categorical encoding, as scikit-learn's
 * `StandardScaler`, `MinMaxScaler` and `OneHotEncoder` (same formulas, same conventions).
 *
 * Columns are the last dimension: an input [N, F] has F features (an input of higher rank is read
 * as rows × F, a 1-D input as one feature). Statistics are computed on the host in float64 with two
 * passes (mean first, then squared deviations), which is exact enough for any float32 column;
 * `transform` then runs as broadcast tensor ops on the input's device. `toJSON` / `fromJSON` save
 * and restore a fitted transformer (plain numbers, so JSON.stringify works on it).
 */
import { checkOptions, shapeStr } from '../check.js';
import { ArgumentError, FormatError, ShapeError, describe } from '../errors.js';
import { tensor } from '../ops/index.js';
import { Tensor, checkDType, tidy, type DType } from '../tensor.js';

function checkInput(x: unknown, where: string): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${where}: expected a Tensor, received ${describe(x)}`);
  x.assertAlive(where);
  if (x.ndim === 0) throw new ShapeError(`${where}: expected a tensor of rows × features, received a scalar`);
  return x;
}

function featureCount(x: Tensor): number {
  return x.ndim === 1 ? 1 : x.shape[x.ndim - 1];
}

/** Host columns statistics: a callback per column over its values, float64. */
function columnStats(x: Tensor, where: string): { rows: number; f: number; values: Float32Array | Float64Array | Int32Array } {
  const f = featureCount(x);
  const values = x.data();
  const rows = f === 0 ? 0 : values.length / f;
  if (rows === 0) throw new ShapeError(`${where}: cannot fit on an empty tensor (shape ${shapeStr(x.shape)})`);
  return { rows, f, values };
}

/** A parameter vector as a tensor broadcasting over x's last dimension. */
function paramTensor(v: number[], x: Tensor): Tensor {
  const dtype: DType = x.dtype === 'int32' ? 'float32' : x.dtype;
  return x.ndim === 1 ? tensor(v[0], { dtype, device: x.device }) : tensor(v, { dtype, device: x.device });
}

function checkFitted(params: unknown, where: string): void {
  if (!params) throw new ArgumentError(`${where}: the scaler is not fitted yet; call fit(x) first`);
}

function checkFeatures(x: Tensor, expected: number, where: string): void {
  const f = featureCount(x);
  if (f !== expected)
    throw new ShapeError(`${where}: expected input with ${expected} features (last dimension), received shape ${shapeStr(x.shape)}`);
}

/** Checks the input of `transform` / `inverseTransform`: a tensor, a fitted scaler, the fitted feature count. */
function checkFittedInput(x: unknown, fitted: number[] | null, where: string): Tensor {
  const t = checkInput(x, where);
  checkFitted(fitted, where);
  checkFeatures(t, fitted!.length, where);
  return t;
}

function numberArray(v: unknown, name: string, where: string): number[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'number'))
    throw new FormatError(`${where}: expected '${name}' to be an array of numbers, received ${describe(v)}`);
  return v.slice();
}

/** A saved scaler (`toJSON`) of `type`: its fields, and its two per-feature arrays, checked to be of one length. */
function savedScaler(json: unknown, type: string, names: [string, string]): { o: Record<string, unknown>; a: number[]; b: number[]; where: string } {
  const where = `${type}.fromJSON`;
  const o = json as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.type !== type) throw new FormatError(`${where}: expected an object with type '${type}', received ${describe(json)}`);
  const a = numberArray(o[names[0]], names[0], where), b = numberArray(o[names[1]], names[1], where);
  if (a.length !== b.length) throw new FormatError(`${where}: '${names[0]}' has ${a.length} entries but '${names[1]}' has ${b.length}`);
  return { o, a, b, where };
}

/**
 * Standardises each feature to zero mean and unit variance: z = (x − mean) / std, with the
 * population standard deviation (ddof = 0, as NumPy and scikit-learn); a constant feature
 * (std 0) gets std 1, so it maps to 0 rather than NaN.
 * @example
 * const scaler = new data.StandardScaler();
 * const xTrain = scaler.fitTransform(rawTrain);   // statistics from the training set only
 * const xTest = scaler.transform(rawTest);
 * fs.writeFileSync('scaler.json', JSON.stringify(scaler));
 * const again = data.StandardScaler.fromJSON(JSON.parse(fs.readFileSync('scaler.json', 'utf8')));
 */
export class StandardScaler {
  /** Per-feature mean (0 where `withMean` is false), after `fit`. */
  mean: number[] | null = null;
  /** Per-feature scale: the population std with 0 replaced by 1 (1 where `withStd` is false). */
  std: number[] | null = null;
  /** Rows seen by `fit`. */
  nSamples = 0;
  readonly withMean: boolean;
  readonly withStd: boolean;

  constructor(options: { withMean?: boolean; withStd?: boolean } = {}) {
    const { withMean = true, withStd = true } = checkOptions<{ withMean?: boolean; withStd?: boolean }>(options, 'StandardScaler', ['withMean', 'withStd']);
    if (typeof withMean !== 'boolean') throw new ArgumentError(`StandardScaler: expected withMean to be a boolean, received ${describe(withMean)}`);
    if (typeof withStd !== 'boolean') throw new ArgumentError(`StandardScaler: expected withStd to be a boolean, received ${describe(withStd)}`);
    this.withMean = withMean;
    this.withStd = withStd;
  }

  /** Computes the per-feature mean and std of `x` ([N, F]). Returns this. */
  fit(x: Tensor): this {
    const where = 'StandardScaler.fit';
    const { rows, f, values } = columnStats(checkInput(x, where), where);
    const mean = new Array<number>(f).fill(0);
    const std = new Array<number>(f).fill(0);
    for (let r = 0; r < rows; r++) for (let j = 0; j < f; j++) mean[j] += values[r * f + j];
    for (let j = 0; j < f; j++) mean[j] /= rows;
    for (let r = 0; r < rows; r++) for (let j = 0; j < f; j++) { const d = values[r * f + j] - mean[j]; std[j] += d * d; }
    for (let j = 0; j < f; j++) {
      const s = Math.sqrt(std[j] / rows);
      std[j] = !this.withStd || s === 0 ? 1 : s;
      if (!this.withMean) mean[j] = 0;
    }
    this.mean = mean;
    this.std = std;
    this.nSamples = rows;
    return this;
  }

  /** (x − mean) / std, a new tensor (float32 for int32 input). */
  transform(x: Tensor): Tensor {
    checkFittedInput(x, this.mean, 'StandardScaler.transform');
    return tidy(() => x.sub(paramTensor(this.mean!, x)).div(paramTensor(this.std!, x)));
  }

  /** `fit(x)` then `transform(x)`. */
  fitTransform(x: Tensor): Tensor { return this.fit(x).transform(x); }

  /** z · std + mean: back to the original units. */
  inverseTransform(z: Tensor): Tensor {
    checkFittedInput(z, this.mean, 'StandardScaler.inverseTransform');
    return tidy(() => z.mul(paramTensor(this.std!, z)).add(paramTensor(this.mean!, z)));
  }

  /** A plain object for JSON.stringify. */
  toJSON(): { type: 'StandardScaler'; withMean: boolean; withStd: boolean; mean: number[]; std: number[]; nSamples: number } {
    checkFitted(this.mean, 'StandardScaler.toJSON');
    return { type: 'StandardScaler', withMean: this.withMean, withStd: this.withStd, mean: this.mean!.slice(), std: this.std!.slice(), nSamples: this.nSamples };
  }

  /** Restores a scaler saved with `toJSON`. */
  static fromJSON(json: unknown): StandardScaler {
    const { o, a: mean, b: std } = savedScaler(json, 'StandardScaler', ['mean', 'std']);
    const s = new StandardScaler({ withMean: o.withMean !== false, withStd: o.withStd !== false });
    s.mean = mean;
    s.std = std;
    s.nSamples = typeof o.nSamples === 'number' ? o.nSamples : 0;
    return s;
  }
}

/**
 * Rescales each feature linearly to `range` (default [0, 1]) from its minimum and maximum, as
 * scikit-learn: scale = (hi − lo) / (max − min) (a constant feature gets scale hi − lo, so it maps
 * to lo), x' = x · scale + (lo − min · scale). `clip` clamps transformed values into the range.
 * @example
 * const scaler = new data.MinMaxScaler({ range: [-1, 1] });
 * const x01 = scaler.fitTransform(x);
 * const back = scaler.inverseTransform(x01);
 */
export class MinMaxScaler {
  readonly range: [number, number];
  readonly clip: boolean;
  /** Per-feature minimum and maximum seen by `fit`. */
  dataMin: number[] | null = null;
  dataMax: number[] | null = null;
  /** x' = x · scale + min (scikit-learn's `scale_` and `min_`). */
  scale: number[] | null = null;
  min: number[] | null = null;

  constructor(options: { range?: [number, number]; clip?: boolean } = {}) {
    const { range = [0, 1], clip = false } = checkOptions<{ range?: [number, number]; clip?: boolean }>(options, 'MinMaxScaler', ['range', 'clip'], { featureRange: 'use range: [lo, hi]', feature_range: 'use range: [lo, hi]' });
    if (!Array.isArray(range) || range.length !== 2 || range.some((v) => typeof v !== 'number' || !Number.isFinite(v)) || !(range[0] < range[1]))
      throw new ArgumentError(`MinMaxScaler: expected range to be [lo, hi] with finite lo < hi, received ${describe(range)}${Array.isArray(range) ? ` ${shapeStr(range)}` : ''}`);
    if (typeof clip !== 'boolean') throw new ArgumentError(`MinMaxScaler: expected clip to be a boolean, received ${describe(clip)}`);
    this.range = [range[0], range[1]];
    this.clip = clip;
  }

  /** Records the per-feature minimum and maximum of `x` ([N, F]). Returns this. */
  fit(x: Tensor): this {
    const where = 'MinMaxScaler.fit';
    const { rows, f, values } = columnStats(checkInput(x, where), where);
    const lo = new Array<number>(f).fill(Infinity), hi = new Array<number>(f).fill(-Infinity);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < f; j++) {
        const v = values[r * f + j];
        if (v < lo[j]) lo[j] = v;
        if (v > hi[j]) hi[j] = v;
      }
    this.setFromMinMax(lo, hi);
    return this;
  }

  private setFromMinMax(lo: number[], hi: number[]): void {
    const [a, b] = this.range;
    this.dataMin = lo;
    this.dataMax = hi;
    this.scale = lo.map((m, j) => {
      const span = hi[j] - m;
      return (b - a) / (span === 0 ? 1 : span);
    });
    this.min = lo.map((m, j) => a - m * this.scale![j]);
  }

  /** x · scale + min, a new tensor (float32 for int32 input). */
  transform(x: Tensor): Tensor {
    checkFittedInput(x, this.scale, 'MinMaxScaler.transform');
    return tidy(() => {
      const y = x.mul(paramTensor(this.scale!, x)).add(paramTensor(this.min!, x));
      return this.clip ? y.clamp(this.range[0], this.range[1]) : y;
    });
  }

  /** `fit(x)` then `transform(x)`. */
  fitTransform(x: Tensor): Tensor { return this.fit(x).transform(x); }

  /** (x' − min) / scale: back to the original units. */
  inverseTransform(z: Tensor): Tensor {
    checkFittedInput(z, this.scale, 'MinMaxScaler.inverseTransform');
    return tidy(() => z.sub(paramTensor(this.min!, z)).div(paramTensor(this.scale!, z)));
  }

  /** A plain object for JSON.stringify. */
  toJSON(): { type: 'MinMaxScaler'; range: [number, number]; clip: boolean; dataMin: number[]; dataMax: number[] } {
    checkFitted(this.scale, 'MinMaxScaler.toJSON');
    return { type: 'MinMaxScaler', range: [this.range[0], this.range[1]], clip: this.clip, dataMin: this.dataMin!.slice(), dataMax: this.dataMax!.slice() };
  }

  /** Restores a scaler saved with `toJSON`. */
  static fromJSON(json: unknown): MinMaxScaler {
    const { o, a: lo, b: hi, where } = savedScaler(json, 'MinMaxScaler', ['dataMin', 'dataMax']);
    const s = new MinMaxScaler({ range: numberArray(o.range, 'range', where) as [number, number], clip: o.clip === true });
    s.setFromMinMax(lo, hi);
    return s;
  }
}

/** A category value: a string or a number. */
export type Category = string | number;

export interface OneHotEncoderOptions {
  /** An unseen category at `transform`: 'error' (default) throws, 'ignore' encodes it as all zeros. */
  handleUnknown?: 'error' | 'ignore';
  /** Output dtype, default 'float32'. */
  dtype?: DType;
}

/**
 * Encodes categorical columns as one-hot indicator columns, as scikit-learn's OneHotEncoder: the
 * categories of each column are the sorted distinct values seen by `fit` (numbers ascending,
 * strings in code-unit order); the output has one column per category, columns in input order.
 * Input: an array of rows (each an array with one value per column), or a flat array (one column),
 * or an integer tensor [N] / [N, F].
 * @example
 * const enc = new data.OneHotEncoder({ handleUnknown: 'ignore' });
 * const x = enc.fitTransform([['red', 'S'], ['blue', 'M'], ['red', 'L']]); // [3, 5] float32
 * enc.categories;       // [['blue', 'red'], ['L', 'M', 'S']]
 * enc.featureNames(['color', 'size']); // ['color_blue', 'color_red', 'size_L', 'size_M', 'size_S']
 */
export class OneHotEncoder {
  readonly handleUnknown: 'error' | 'ignore';
  readonly dtype: DType;
  /** The categories of each column, after `fit`. */
  categories: Category[][] | null = null;
  private lookup: Map<Category, number>[] = [];

  constructor(options: OneHotEncoderOptions = {}) {
    const { handleUnknown = 'error', dtype = 'float32' } = checkOptions<OneHotEncoderOptions>(options, 'OneHotEncoder', ['handleUnknown', 'dtype']);
    if (handleUnknown !== 'error' && handleUnknown !== 'ignore')
      throw new ArgumentError(`OneHotEncoder: expected handleUnknown to be 'error' or 'ignore', received ${describe(handleUnknown)}`);
    checkDType(dtype, 'OneHotEncoder');
    this.handleUnknown = handleUnknown;
    this.dtype = dtype;
  }

  /** Learns the categories of each column. Returns this. */
  fit(rows: Category[][] | Category[] | Tensor): this {
    const where = 'OneHotEncoder.fit';
    const table = toRows(rows, where);
    if (table.length === 0) throw new ArgumentError(`${where}: cannot fit on no rows`);
    const f = table[0].length;
    const cats: Category[][] = [];
    for (let j = 0; j < f; j++) {
      const seen = new Set<Category>();
      for (const r of table) seen.add(r[j]);
      const values = [...seen];
      const kinds = new Set(values.map((v) => typeof v));
      if (kinds.size > 1) throw new ArgumentError(`${where}: column ${j} mixes numbers and strings (${values.slice(0, 4).map((v) => JSON.stringify(v)).join(', ')}…); use one type per column`);
      values.sort((a, b) => (typeof a === 'number' ? (a as number) - (b as number) : a < b ? -1 : a > b ? 1 : 0));
      cats.push(values);
    }
    this.setCategories(cats);
    return this;
  }

  private setCategories(cats: Category[][]): void {
    this.categories = cats;
    this.lookup = cats.map((c) => new Map(c.map((v, i) => [v, i] as [Category, number])));
  }

  /** Number of output columns (the total number of categories). */
  get outputSize(): number {
    return (this.categories ?? []).reduce((a, c) => a + c.length, 0);
  }

  /** One-hot columns [N, total categories]. */
  transform(rows: Category[][] | Category[] | Tensor): Tensor {
    const where = 'OneHotEncoder.transform';
    if (!this.categories) throw new ArgumentError(`${where}: the encoder is not fitted yet; call fit(rows) first`);
    const table = toRows(rows, where);
    const f = this.categories.length;
    const total = this.outputSize;
    const out = new Float64Array(table.length * total);
    table.forEach((r, i) => {
      if (r.length !== f) throw new ShapeError(`${where}: row ${i} has ${r.length} columns, the encoder was fitted on ${f}`);
      let base = i * total;
      for (let j = 0; j < f; j++) {
        const k = this.lookup[j].get(r[j]);
        if (k !== undefined) out[base + k] = 1;
        else if (this.handleUnknown === 'error')
          throw new ArgumentError(`${where}: unknown category ${JSON.stringify(r[j])} in column ${j} (row ${i}); known: ${this.categories![j].map((v) => JSON.stringify(v)).join(', ')}. Pass { handleUnknown: 'ignore' } to encode unknown values as all zeros`);
        base += this.categories![j].length;
      }
    });
    return tensor(out, { shape: [table.length, total], dtype: this.dtype });
  }

  /** `fit(rows)` then `transform(rows)`. */
  fitTransform(rows: Category[][] | Category[] | Tensor): Tensor { return this.fit(rows).transform(rows); }

  /** Back to categories: the largest indicator of each column's block (null for an all-zero block). */
  inverseTransform(t: Tensor): (Category | null)[][] {
    const where = 'OneHotEncoder.inverseTransform';
    if (!this.categories) throw new ArgumentError(`${where}: the encoder is not fitted yet; call fit(rows) first`);
    checkInput(t, where);
    const total = this.outputSize;
    if (t.ndim !== 2 || t.shape[1] !== total) throw new ShapeError(`${where}: expected shape [N, ${total}], received ${shapeStr(t.shape)}`);
    const v = t.data();
    const rows: (Category | null)[][] = [];
    for (let i = 0; i < t.shape[0]; i++) {
      const row: (Category | null)[] = [];
      let base = i * total;
      for (const cats of this.categories) {
        let best = -1, bestV = 0;
        for (let k = 0; k < cats.length; k++) if (v[base + k] > bestV) { bestV = v[base + k]; best = k; }
        row.push(best < 0 ? null : cats[best]);
        base += cats.length;
      }
      rows.push(row);
    }
    return rows;
  }

  /** Output column names, `${input}_${category}` (inputs default to x0, x1, …), as scikit-learn. */
  featureNames(inputNames?: string[]): string[] {
    if (!this.categories) throw new ArgumentError('OneHotEncoder.featureNames: the encoder is not fitted yet; call fit(rows) first');
    if (inputNames !== undefined && (!Array.isArray(inputNames) || inputNames.length !== this.categories.length))
      throw new ArgumentError(`OneHotEncoder.featureNames: expected ${this.categories.length} input names, received ${describe(inputNames)}`);
    return this.categories.flatMap((cats, j) => cats.map((c) => `${inputNames ? inputNames[j] : `x${j}`}_${c}`));
  }

  /** A plain object for JSON.stringify. */
  toJSON(): { type: 'OneHotEncoder'; handleUnknown: 'error' | 'ignore'; dtype: DType; categories: Category[][] } {
    if (!this.categories) throw new ArgumentError('OneHotEncoder.toJSON: the encoder is not fitted yet; call fit(rows) first');
    return { type: 'OneHotEncoder', handleUnknown: this.handleUnknown, dtype: this.dtype, categories: this.categories.map((c) => c.slice()) };
  }

  /** Restores an encoder saved with `toJSON`. */
  static fromJSON(json: unknown): OneHotEncoder {
    const where = 'OneHotEncoder.fromJSON';
    const o = json as Record<string, unknown>;
    if (!o || typeof o !== 'object' || o.type !== 'OneHotEncoder') throw new FormatError(`${where}: expected an object with type 'OneHotEncoder', received ${describe(json)}`);
    const cats = o.categories;
    if (!Array.isArray(cats) || cats.some((c) => !Array.isArray(c) || c.some((v: unknown) => typeof v !== 'string' && typeof v !== 'number')))
      throw new FormatError(`${where}: expected 'categories' to be an array of arrays of strings or numbers`);
    const e = new OneHotEncoder({ handleUnknown: o.handleUnknown === 'ignore' ? 'ignore' : 'error', dtype: (o.dtype as DType) ?? 'float32' });
    e.setCategories((cats as Category[][]).map((c) => c.slice()));
    return e;
  }
}

function toRows(rows: unknown, where: string): Category[][] {
  if (rows instanceof Tensor) {
    rows.assertAlive(where);
    if (rows.ndim !== 1 && rows.ndim !== 2) throw new ShapeError(`${where}: expected a tensor [N] or [N, F], received ${shapeStr(rows.shape)}`);
    const v = rows.data();
    const f = rows.ndim === 1 ? 1 : rows.shape[1];
    const out: Category[][] = [];
    for (let i = 0; i < rows.shape[0]; i++) out.push(Array.from(v.subarray(i * f, (i + 1) * f)));
    return out;
  }
  if (!Array.isArray(rows)) throw new ArgumentError(`${where}: expected an array of rows, a flat array of categories or a tensor, received ${describe(rows)}`);
  const flat = rows.length > 0 && !Array.isArray(rows[0]);
  const table: Category[][] = flat ? rows.map((v) => [v]) : (rows as Category[][]);
  const f = table.length ? table[0].length : 0;
  table.forEach((r, i) => {
    if (!Array.isArray(r)) throw new ArgumentError(`${where}: row ${i} is ${describe(r)}, expected an array (or pass a flat array for one column)`);
    if (r.length !== f) throw new ShapeError(`${where}: row ${i} has ${r.length} columns, row 0 has ${f}`);
    for (const v of r)
      if (typeof v !== 'string' && !(typeof v === 'number' && !Number.isNaN(v)))
        throw new ArgumentError(`${where}: row ${i}: expected categories to be strings or numbers, received ${describe(v)}`);
  });
  return table;
}
