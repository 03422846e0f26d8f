/**
 * tabular.ts — the preprocessing of a run trained on the user's own data (a CSV table or IDX
 * files): which columns are features, how categorical feature columns are one-hot encoded, how
 * numeric columns are scaled, whether the task is classification (and the class names) or
 * regression. `Preprocess.fit` learns all of it from the training rows only; the run saves it as
 * `preprocess.json` beside `config.json` and `model.safetensors`, and `io.loadRun` restores it so
 * that prediction applies exactly the transform training applied.
 *
 * It is not a general data-frame library: cells are strings (from a CSV file) or numbers/strings
 * (from JSON rows); every value problem is an `EntrenaError` with a code (`ERR_FORMAT` for a bad
 * value or a missing column, `ERR_SHAPE` for a wrong number of columns) whose message names the
 * row and the column.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ArgumentError, EntrenaError, FormatError, ShapeError, describe } from '../errors.js';
import { parseCsv } from '../data/csv.js';
import { readIdx } from '../data/idx.js';
import { TensorDataset, randomSplit } from '../data/dataset.js';
import { MinMaxScaler, OneHotEncoder, StandardScaler } from '../data/preprocessing.js';
import { softmax, tensor } from '../ops/index.js';
import { Tensor, tidy } from '../tensor.js';

export type Task = 'classification' | 'regression';
export type ScaleKind = 'standard' | 'minmax' | 'none';
/** One input row: values in the order of `Preprocess.columns`, or an object keyed by column name. */
export type Row = readonly unknown[] | Readonly<Record<string, unknown>>;

/** A table read from a CSV file: header names, string cells, and each row's 1-based line in the file. */
export interface Table { path: string; names: string[]; rows: string[][]; lines: number[] }

/** Reads a CSV file (RFC 4180, header row) as strings; the row count of every record is checked. */
export function readTable(path: string): Table {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new EntrenaError('ERR_IO', `cannot read ${path}: ${(e as Error).message}`); }
  const records = parseCsv(text, ',', path, 'csv');
  if (records.length === 0) throw new FormatError(`csv: ${path} holds no header row`);
  const names = records[0].fields.map((s) => s.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new FormatError(`csv: ${path}: the header names column ${JSON.stringify(dup)} twice`);
  const body = records.slice(1);
  for (const r of body)
    if (r.fields.length !== names.length) throw new ShapeError(`csv: ${path}: row ${r.line} has ${r.fields.length} fields, expected ${names.length} (as the header)`);
  return { path, names, rows: body.map((r) => r.fields), lines: body.map((r) => r.line) };
}

const NUMBER_WORDS: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '-infinity': -Infinity };
/** A cell as a number (JavaScript's Number rules, as data.readCsv), or undefined when it is not one. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  const x = Number(s);
  if (!Number.isNaN(x)) return x;
  return NUMBER_WORDS[s.toLowerCase()];
}

/** A category cell as its name: strings as they are, numbers as their shortest decimal form. */
function toCategory(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How `Preprocess.fit` reads a table. */
export interface FitOptions {
  /** The target column (its values become class indices or regression values). */
  target: string;
  /** Feature columns, in order; default every column but the target. */
  columns?: string[];
  /** Feature columns holding categories (one-hot encoded). */
  categorical?: string[];
  /** Scaling of the numeric feature columns; default 'standard'. */
  scale?: ScaleKind;
  /** Overrides the inferred task. */
  task?: Task;
}

/** The JSON form of a `Preprocess` (preprocess.json, version 1). */
export interface PreprocessJSON {
  version: 1;
  task: Task;
  target: string | null;
  columns: string[];
  categorical: string[];
  encoder: ReturnType<OneHotEncoder['toJSON']> | null;
  scale: ScaleKind;
  scaler: ReturnType<StandardScaler['toJSON']> | ReturnType<MinMaxScaler['toJSON']> | null;
  features: string[];
  classes: string[] | null;
}

/** The most distinct integer values a numeric target may have and still be read as class labels. */
export const MAX_INTEGER_CLASSES = 20;

/**
 * The task a target column implies. The rule: a column with any non-numeric value is
 * classification (its distinct values, sorted, are the class names); an all-integer column with at
 * most `MAX_INTEGER_CLASSES` (20) distinct values, and no more distinct values than half the rows,
 * is classification too (labels 0/1/2…, "3 stars"); anything else (fractional values, or many
 * distinct integers such as prices) is regression. Set `task` in the config to override.
 */
export function inferTask(values: readonly string[]): Task {
  const nums = values.map(toNumber);
  if (nums.some((v) => v === undefined)) return 'classification';
  if (!nums.every((v) => Number.isInteger(v))) return 'regression';
  const distinct = new Set(nums).size;
  return distinct <= MAX_INTEGER_CLASSES && distinct <= Math.max(2, values.length / 2) ? 'classification' : 'regression';
}

/**
 * The fitted preprocessing of a tabular run: column selection, one-hot encoding of categorical
 * feature columns, scaling of numeric ones (fitted on the training rows), the task and the class
 * names. `transform` turns raw rows into the model's float32 input; `decode` turns the model's
 * output into predictions.
 * @example
 * const { model, preprocess, classes } = io.loadRun('runs/iris');
 * const x = preprocess.transform([{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }]);
 * const { predictions, probabilities } = preprocess.decode(predict(model, x), { proba: true });
 * // predictions: ['setosa'], probabilities: [[0.98, 0.01, 0.01]] in the order of `classes`
 */
export class Preprocess {
  readonly task: Task;
  /** The target column of the training data (null for runs on built-in data). */
  readonly target: string | null;
  /** The raw input columns `transform` expects, in order. */
  readonly columns: string[];
  /** The subset of `columns` that holds categories. */
  readonly categorical: string[];
  /** Names of the model's input features after encoding (`column=category` for one-hot columns). */
  readonly features: string[];
  /** Class names (classification), in the order of the model's outputs; null for regression. */
  readonly classes: string[] | null;
  readonly scale: ScaleKind;
  private readonly encoder: OneHotEncoder | null;
  private readonly scaler: StandardScaler | MinMaxScaler | null;
  private readonly classIndex: Map<string, number> | null;

  private constructor(j: PreprocessJSON) {
    this.task = j.task;
    this.target = j.target;
    this.columns = j.columns.slice();
    this.categorical = j.categorical.slice();
    this.features = j.features.slice();
    this.classes = j.classes ? j.classes.slice() : null;
    this.scale = j.scale;
    this.encoder = j.encoder ? OneHotEncoder.fromJSON(j.encoder) : null;
    this.scaler = !j.scaler ? null : j.scaler.type === 'StandardScaler' ? StandardScaler.fromJSON(j.scaler) : MinMaxScaler.fromJSON(j.scaler);
    this.classIndex = this.classes ? new Map(this.classes.map((c, i) => [c, i] as [string, number])) : null;
  }

  /** The number of model inputs (after encoding). */
  get inFeatures(): number { return this.features.length; }
  /** The number of model outputs: the number of classes, or 1 for regression. */
  get outFeatures(): number { return this.classes ? this.classes.length : 1; }

  /**
   * Learns the preprocessing from the training table: the task (see `inferTask`), the class names,
   * the categories of each categorical column and the scaler of the numeric columns.
   */
  static fit(table: Table, options: FitOptions): Preprocess {
    const where = 'config.dataset.csv';
    const col = (n: string, what: string): number => {
      const i = table.names.indexOf(n);
      if (i < 0) throw new FormatError(`${where}: ${what} ${JSON.stringify(n)} is not a column of ${table.path} (columns: ${table.names.join(', ')})`);
      return i;
    };
    if (typeof options.target !== 'string') throw new ArgumentError(`${where}: expected 'target' to name the column to predict, received ${describe(options.target)}`);
    const ti = col(options.target, 'the target column');
    const columns = options.columns ?? table.names.filter((n) => n !== options.target);
    if (columns.includes(options.target)) throw new ArgumentError(`${where}: the target column ${JSON.stringify(options.target)} is also listed in 'columns'`);
    if (columns.length === 0) throw new ArgumentError(`${where}: no feature columns (${table.path} has only the target column)`);
    for (const c of columns) col(c, 'the feature column');
    const categorical = options.categorical ?? [];
    for (const c of categorical) if (!columns.includes(c)) throw new ArgumentError(`${where}: categorical column ${JSON.stringify(c)} is not a feature column (features: ${columns.join(', ')})`);
    if (table.rows.length === 0) throw new FormatError(`${where}: ${table.path} has a header but no rows`);
    const targetValues = table.rows.map((r) => r[ti]);
    targetValues.forEach((v, r) => { if (v.trim() === '') throw new FormatError(`${where}: ${table.path}: row ${table.lines[r]}, column ${JSON.stringify(options.target)}: the target is empty`); });
    const task = options.task ?? inferTask(targetValues);
    if (task !== 'classification' && task !== 'regression') throw new ArgumentError(`${where}: expected task 'classification' or 'regression', received ${describe(task)}`);
    let classes: string[] | null = null;
    if (task === 'classification') {
      const nums = targetValues.map(toNumber);
      classes = nums.every((v) => v !== undefined && Number.isFinite(v))
        ? [...new Set(nums as number[])].sort((a, b) => a - b).map(String)
        : [...new Set(targetValues)].sort(byCodeUnit);
    }
    // Categories of each categorical column, from the training rows.
    const catCols = columns.filter((c) => categorical.includes(c));
    const encoder = catCols.length ? new OneHotEncoder().fit(table.rows.map((r) => catCols.map((c) => r[table.names.indexOf(c)]))) : null;
    const scale = options.scale ?? 'standard';
    if (!['standard', 'minmax', 'none'].includes(scale)) throw new ArgumentError(`config.dataset.scale: expected 'standard', 'minmax' or 'none', received ${describe(scale)}`);
    const features: string[] = [];
    let k = 0;
    for (const c of columns) {
      if (categorical.includes(c)) for (const cat of encoder!.categories![k++]) features.push(`${c}=${cat}`);
      else features.push(c);
    }
    const draft = new Preprocess({
      version: 1, task, target: options.target, columns, categorical: catCols, encoder: encoder ? encoder.toJSON() : null,
      scale, scaler: null, features, classes,
    });
    const numeric = columns.filter((c) => !categorical.includes(c));
    let scaler: PreprocessJSON['scaler'] = null;
    if (scale !== 'none' && numeric.length > 0) {
      const values = draft.numericMatrix(table.rows.map((r) => columns.map((c) => r[table.names.indexOf(c)])), (i) => `${table.path}: row ${table.lines[i]}`);
      const x = tensor(values, { shape: [table.rows.length, numeric.length], dtype: 'float64' });
      try { scaler = (scale === 'standard' ? new StandardScaler() : new MinMaxScaler()).fit(x).toJSON(); } finally { x.dispose(); }
    }
    return new Preprocess({ ...draft.toJSON(), scaler });
  }

  /**
   * Learns the preprocessing of numeric features given as a tensor (IDX images, flattened to
   * [N, F]): the scaler of every feature and the class names (the distinct labels, ascending).
   */
  static fitTensor(x: Tensor, labels: Tensor, scale: ScaleKind = 'minmax'): { preprocess: Preprocess; y: Tensor } {
    if (!['standard', 'minmax', 'none'].includes(scale)) throw new ArgumentError(`config.dataset.scale: expected 'standard', 'minmax' or 'none', received ${describe(scale)}`);
    const f = x.shape[1];
    const columns = Array.from({ length: f }, (_, i) => String(i));
    const lv = labels.data();
    for (const v of lv) if (!Number.isInteger(v)) throw new FormatError(`config.dataset.idx: labels must be integers, found ${v}`);
    const classes = [...new Set(Array.from(lv))].sort((a, b) => a - b).map(String);
    const scaler = scale === 'none' ? null : tidy(() => (scale === 'standard' ? new StandardScaler() : new MinMaxScaler()).fit(x.cast('float64')).toJSON());
    const preprocess = new Preprocess({ version: 1, task: 'classification', target: null, columns, categorical: [], encoder: null, scale, scaler, features: columns, classes });
    return { preprocess, y: preprocess.encodeTarget(Array.from(lv)) };
  }

  /** A pass-through preprocess for runs on built-in data (tensors in, `features` columns). */
  static identity(inFeatures: number, classes: string[] | null, task: Task = 'classification'): Preprocess {
    const columns = Array.from({ length: inFeatures }, (_, i) => String(i));
    return new Preprocess({ version: 1, task, target: null, columns, categorical: [], encoder: null, scale: 'none', scaler: null, features: columns, classes });
  }

  /** The numeric columns of raw rows (in column order) as float64, checked: finite numbers only. */
  private numericMatrix(rows: unknown[][], rowName: (i: number) => string): Float64Array {
    const numeric = this.columns.map((c, j) => [c, j] as const).filter(([c]) => !this.categorical.includes(c));
    const out = new Float64Array(rows.length * numeric.length);
    rows.forEach((r, i) => numeric.forEach(([c, j], k) => {
      const v = toNumber(r[j]);
      if (v === undefined || !Number.isFinite(v)) {
        const what = v === undefined ? (r[j] === '' || r[j] === null || r[j] === undefined ? 'a missing value' : `the value ${JSON.stringify(r[j])}, which is not a number`) : `${v}, which is not a finite number`;
        throw new FormatError(`${rowName(i)}, column ${JSON.stringify(c)}: ${what}`);
      }
      out[i * numeric.length + k] = v;
    }));
    return out;
  }

  /** Raw rows (arrays in column order, or objects keyed by column name) as arrays in column order. */
  private toArrays(rows: readonly Row[], rowName: (i: number) => string): unknown[][] {
    if (!Array.isArray(rows)) throw new ArgumentError(`preprocess.transform: expected an array of rows or a Tensor, received ${describe(rows)}`);
    return rows.map((r, i) => {
      if (Array.isArray(r)) {
        if (r.length !== this.columns.length)
          throw new ShapeError(`${rowName(i)}: expected ${this.columns.length} values (${this.columns.join(', ')}), received ${r.length}`);
        return r;
      }
      if (r === null || typeof r !== 'object') throw new ArgumentError(`${rowName(i)}: expected an array of values or an object keyed by column name, received ${describe(r)}`);
      const o = r as Record<string, unknown>;
      for (const k of Object.keys(o))
        if (!this.columns.includes(k) && k !== this.target) throw new FormatError(`${rowName(i)}: unknown column ${JSON.stringify(k)} (columns: ${this.columns.join(', ')})`);
      return this.columns.map((c) => {
        if (!Object.prototype.hasOwnProperty.call(o, c)) throw new FormatError(`${rowName(i)}: missing column ${JSON.stringify(c)}`);
        return o[c];
      });
    });
  }

  /**
   * Raw rows → the model's input, float32 [N, inFeatures]: the numeric columns scaled with the
   * fitted scaler, the categorical ones one-hot encoded with the training categories. Rows are
   * arrays in the order of `columns` or objects keyed by column name (the target key, if present,
   * is ignored). A Tensor [N, columns.length] of raw numeric values is accepted when no column is
   * categorical. Errors: `ERR_SHAPE` for a wrong number of values, `ERR_FORMAT` for a missing or
   * unknown column, a value that is not a finite number, or a category not seen in training.
   * @example
   * preprocess.columns;                                  // ['area', 'rooms', 'district']
   * const x = preprocess.transform([[72, 3, 'north'], { area: 110, rooms: 4, district: 'centre' }]);
   * // float32 [2, 6]: area and rooms standardised, district one-hot (4 districts)
   */
  transform(rows: readonly Row[] | Tensor, options: { rowName?: (i: number) => string } = {}): Tensor {
    const rowName = options.rowName ?? ((i: number) => `row ${i}`);
    if (rows instanceof Tensor) {
      if (this.categorical.length) throw new ArgumentError(`preprocess.transform: this run has categorical columns (${this.categorical.join(', ')}); pass rows, not a Tensor`);
      if (rows.ndim !== 2 || rows.shape[1] !== this.columns.length)
        throw new ShapeError(`preprocess.transform: expected a tensor [N, ${this.columns.length}], received shape [${rows.shape.join(', ')}]`);
      const v = rows.data();
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i])) throw new FormatError(`preprocess.transform: row ${Math.floor(i / this.columns.length)}, column ${JSON.stringify(this.columns[i % this.columns.length])}: ${v[i]}, which is not a finite number`);
      return this.assemble(Float64Array.from(v), null, rows.shape[0]);
    }
    const table = this.toArrays(rows, rowName);
    const numeric = this.numericMatrix(table, rowName);
    let onehot: Float32Array | null = null;
    if (this.encoder) {
      const cats = this.categorical.map((c) => this.columns.indexOf(c));
      const known = this.encoder.categories!;
      const cells = table.map((r, i) => cats.map((j, k) => {
        const v = toCategory(r[j]);
        if (v === undefined || !known[k].includes(v))
          throw new FormatError(`${rowName(i)}, column ${JSON.stringify(this.columns[j])}: unknown category ${JSON.stringify(r[j])} (known: ${known[k].map((c) => JSON.stringify(c)).join(', ')})`);
        return v;
      }));
      const t = this.encoder.transform(cells);
      try { onehot = t.data() as Float32Array; } finally { t.dispose(); }
    }
    return this.assemble(numeric, onehot, table.length);
  }

  /** Scales the numeric block and interleaves it with the one-hot block in column order. */
  private assemble(numeric: Float64Array, onehot: Float32Array | null, n: number): Tensor {
    const nNum = this.columns.length - this.categorical.length;
    let scaled: ArrayLike<number> = numeric;
    if (this.scaler && n > 0) {
      const t = tensor(numeric, { shape: [n, nNum], dtype: 'float64' });
      try { scaled = tidy(() => this.scaler!.transform(t)).data() as Float64Array; } finally { t.dispose(); }
    }
    if (!onehot) return tensor(Float32Array.from(scaled), { shape: [n, this.features.length] });
    const f = this.features.length, cats = this.encoder!.categories!;
    const widths = cats.map((c) => c.length), total = widths.reduce((a, b) => a + b, 0);
    const out = new Float32Array(n * f);
    for (let i = 0; i < n; i++) {
      let o = i * f, a = 0, b = 0;
      for (const c of this.columns) {
        const k = this.categorical.indexOf(c);
        if (k < 0) out[o++] = scaled[i * nNum + a++];
        else { for (let w = 0; w < widths[k]; w++) out[o++] = onehot[i * total + b + w]; b += widths[k]; }
      }
    }
    return tensor(out, { shape: [n, f] });
  }

  /** Reads a CSV file (header row naming at least `columns`; the target column may be present) into the model's input. */
  transformCsv(path: string): Tensor {
    const table = readTable(path);
    const idx = this.columns.map((c) => {
      const i = table.names.indexOf(c);
      if (i < 0) throw new FormatError(`${path}: missing column ${JSON.stringify(c)} (the run expects ${this.columns.join(', ')}; the file has ${table.names.join(', ')})`);
      return i;
    });
    return this.transform(table.rows.map((r) => idx.map((i) => r[i])), { rowName: (i) => `${path}: row ${table.lines[i]}` });
  }

  /** Target cells → labels: int32 class indices [N] (classification) or float32 values [N, 1] (regression). */
  encodeTarget(values: readonly unknown[], rowName: (i: number) => string = (i) => `row ${i}`): Tensor {
    if (this.classIndex) {
      const out = new Int32Array(values.length);
      values.forEach((v, i) => {
        const n = toNumber(v);
        const key = n !== undefined && Number.isFinite(n) && this.classes!.every((c) => toNumber(c) !== undefined) ? String(n) : String(v);
        const k = this.classIndex!.get(key);
        if (k === undefined) throw new FormatError(`${rowName(i)}, column ${JSON.stringify(this.target)}: unknown class ${JSON.stringify(v)} (classes of the training data: ${this.classes!.join(', ')})`);
        out[i] = k;
      });
      return tensor(out, { shape: [values.length], dtype: 'int32' });
    }
    const out = new Float32Array(values.length);
    values.forEach((v, i) => {
      const n = toNumber(v);
      if (n === undefined || !Number.isFinite(n)) throw new FormatError(`${rowName(i)}, column ${JSON.stringify(this.target)}: the regression target ${JSON.stringify(v)} is not a finite number`);
      out[i] = n;
    });
    return tensor(out, { shape: [values.length, 1] });
  }

  /**
   * The model's output → predictions: class names (the argmax of the logits) for classification,
   * with `proba` also the softmax probabilities in the order of `classes`; numbers for regression.
   */
  decode(output: Tensor, options: { proba?: boolean } = {}): { predictions: (string | number)[]; probabilities?: number[][] } {
    const n = output.shape[0] ?? 0;
    if (!this.classes) return { predictions: Array.from(output.data()).slice(0, n) };
    const k = this.classes.length;
    const p = tidy(() => softmax(output, -1)).data();
    const predictions: string[] = [];
    const probabilities: number[][] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
      predictions.push(this.classes[best]);
      if (options.proba) probabilities.push(Array.from(p.subarray(i * k, (i + 1) * k)));
    }
    return options.proba ? { predictions, probabilities } : { predictions };
  }

  /** The JSON form saved as preprocess.json. */
  toJSON(): PreprocessJSON {
    return {
      version: 1, task: this.task, target: this.target, columns: this.columns.slice(), categorical: this.categorical.slice(),
      encoder: this.encoder ? this.encoder.toJSON() : null, scale: this.scale, scaler: this.scaler ? this.scaler.toJSON() : null,
      features: this.features.slice(), classes: this.classes ? this.classes.slice() : null,
    };
  }

  /** Restores a preprocess saved with `toJSON` (preprocess.json). */
  static fromJSON(json: unknown): Preprocess {
    const o = json as PreprocessJSON;
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (!o || typeof o !== 'object' || o.version !== 1 || (o.task !== 'classification' && o.task !== 'regression') || !strings(o.columns) || !strings(o.features) || !strings(o.categorical) || (o.classes !== null && !strings(o.classes)))
      throw new FormatError(`preprocess.json: expected version 1 with task, columns, categorical, features and classes, received ${describe(json)}`);
    return new Preprocess(o);
  }
}

// ---- config datasets of the user's own data ---------------------------------------------------

/** `dataset.csv`: the user's table. Paths are relative to the config file. */
export interface CsvDatasetSpec {
  train: string;
  validation?: string;
  test?: string;
  /** The column to predict. */
  target: string;
  /** Feature columns holding categories (one-hot encoded with the training categories). */
  categorical?: string[];
  /** Feature columns, in order; default every column but the target. */
  columns?: string[];
  /** Overrides the task inferred from the target column. */
  task?: Task;
}
/** `dataset.idx`: IDX files (MNIST layout): images [N, ...] are flattened to [N, F]; labels are integers. */
export interface IdxDatasetSpec { trainImages: string; trainLabels: string; testImages?: string; testLabels?: string }

/** The dataset entry of a config for the user's data. */
export interface OwnDatasetSpec { csv?: CsvDatasetSpec; idx?: IdxDatasetSpec; validationSplit?: number; testSplit?: number; scale?: ScaleKind; [k: string]: unknown }

/** The splits of the user's data, with the fitted preprocessing. */
export interface OwnSplits { train: TensorDataset; validation?: TensorDataset; test?: TensorDataset; classes?: string[]; preprocess: Preprocess; task: Task }

/** Whether a dataset spec is the user's data (csv or idx) rather than a built-in one. */
export function isOwnData(spec: unknown): boolean {
  return !!spec && typeof spec === 'object' && ((spec as OwnDatasetSpec).csv !== undefined || (spec as OwnDatasetSpec).idx !== undefined);
}

function checkKeys(where: string, o: object, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ArgumentError(`${where}: unknown option '${k}'; valid options: ${allowed.join(', ')}`);
}

/** Row indices [train, validation, test] of n rows, shuffled with `seed` (fractions as data.randomSplit). */
function splitIndices(n: number, valFrac: number, testFrac: number, seed: number, where: string): Int32Array[] {
  for (const [k, v] of [['validationSplit', valFrac], ['testSplit', testFrac]] as const)
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ArgumentError(`${where}: expected ${k} in [0, 1), received ${describe(v)}`);
  if (valFrac + testFrac >= 1) throw new ArgumentError(`${where}: validationSplit + testSplit must be below 1, received ${valFrac + testFrac}`);
  const idx = tensor(Int32Array.from({ length: n }, (_, i) => i), { dtype: 'int32' });
  const parts = randomSplit(new TensorDataset(idx, idx), [1 - valFrac - testFrac, valFrac, testFrac], { seed });
  idx.dispose();
  return parts.map((p) => { const v = p.x.data() as Int32Array; p.x.dispose(); p.y.dispose(); return v; });
}

/**
 * Loads the user's data of a config (`dataset.csv` or `dataset.idx`; relative paths resolved
 * against `baseDir`, the config file's folder), splits it, and fits the preprocessing on the
 * training rows only (the validation and test rows are transformed with it, never fitted on).
 */
export function ownData(spec: OwnDatasetSpec, baseDir: string, seed: number): OwnSplits {
  return spec.csv !== undefined ? csvData(spec, baseDir, seed) : idxData(spec, baseDir, seed);
}

function csvData(spec: OwnDatasetSpec, baseDir: string, seed: number): OwnSplits {
  const where = 'config.dataset';
  checkKeys(where, spec, ['csv', 'validationSplit', 'testSplit', 'scale']);
  const csv = spec.csv as CsvDatasetSpec;
  if (!csv || typeof csv !== 'object') throw new ArgumentError(`${where}.csv: expected { "train": "file.csv", "target": "column" }, received ${describe(csv)}`);
  checkKeys(`${where}.csv`, csv, ['train', 'validation', 'test', 'target', 'categorical', 'columns', 'task']);
  for (const k of ['train', 'target'] as const) if (typeof csv[k] !== 'string' || csv[k] === '') throw new ArgumentError(`${where}.csv: expected '${k}' to be a non-empty string, received ${describe(csv[k])}`);
  for (const k of ['categorical', 'columns'] as const)
    if (csv[k] !== undefined && (!Array.isArray(csv[k]) || csv[k]!.some((c) => typeof c !== 'string'))) throw new ArgumentError(`${where}.csv: expected '${k}' to be an array of column names, received ${describe(csv[k])}`);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const full = readTable(path(csv.train));
  const pick = (t: Table, rows: ArrayLike<number>): Table => ({ ...t, rows: Array.from(rows, (i) => t.rows[i]), lines: Array.from(rows, (i) => t.lines[i]) });
  const valFrac = csv.validation !== undefined ? 0 : spec.validationSplit ?? 0.1;
  const testFrac = csv.test !== undefined ? 0 : spec.testSplit ?? 0;
  const [ti, vi, si] = splitIndices(full.rows.length, valFrac, testFrac, seed, where);
  const train = pick(full, ti);
  const preprocess = Preprocess.fit(train, { target: csv.target, columns: csv.columns, categorical: csv.categorical, scale: spec.scale, task: csv.task });
  const toDataset = (t: Table): TensorDataset | undefined => {
    if (t.rows.length === 0) return undefined;
    const col = (c: string, what: string) => {
      const i = t.names.indexOf(c);
      if (i < 0) throw new FormatError(`${where}.csv: ${t.path} has no ${what} ${JSON.stringify(c)} (columns: ${t.names.join(', ')})`);
      return i;
    };
    const ci = preprocess.columns.map((c) => col(c, 'column'));
    const targetIndex = col(csv.target, 'target column');
    const rowName = (i: number) => `${t.path}: row ${t.lines[i]}`;
    const x = preprocess.transform(t.rows.map((r) => ci.map((i) => r[i])), { rowName });
    try { return new TensorDataset(x, preprocess.encodeTarget(t.rows.map((r) => r[targetIndex]), rowName)); } catch (e) { x.dispose(); throw e; }
  };
  return {
    train: toDataset(train)!,
    validation: csv.validation !== undefined ? toDataset(readTable(path(csv.validation))) : toDataset(pick(full, vi)),
    test: csv.test !== undefined ? toDataset(readTable(path(csv.test))) : toDataset(pick(full, si)),
    classes: preprocess.classes ?? undefined, preprocess, task: preprocess.task,
  };
}

function idxData(spec: OwnDatasetSpec, baseDir: string, seed: number): OwnSplits {
  const where = 'config.dataset';
  checkKeys(where, spec, ['idx', 'validationSplit', 'scale']);
  const idx = spec.idx as IdxDatasetSpec;
  if (!idx || typeof idx !== 'object') throw new ArgumentError(`${where}.idx: expected { "trainImages": …, "trainLabels": … }, received ${describe(idx)}`);
  checkKeys(`${where}.idx`, idx, ['trainImages', 'trainLabels', 'testImages', 'testLabels']);
  for (const k of ['trainImages', 'trainLabels'] as const) if (typeof idx[k] !== 'string') throw new ArgumentError(`${where}.idx: expected '${k}' to be a path, received ${describe(idx[k])}`);
  if ((idx.testImages === undefined) !== (idx.testLabels === undefined)) throw new ArgumentError(`${where}.idx: give both testImages and testLabels, or neither`);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const read = (images: string, labels: string) => {
    const xi = readIdx(path(images));
    const x = xi.reshape([xi.shape[0], xi.size / Math.max(1, xi.shape[0])]);
    if (x !== xi) xi.dispose();
    const y = readIdx(path(labels), { dtype: 'int32' });
    if (y.shape[0] !== x.shape[0]) throw new ShapeError(`${where}.idx: ${images} holds ${x.shape[0]} images but ${labels} ${y.shape[0]} labels`);
    return { x, y };
  };
  const tr = read(idx.trainImages, idx.trainLabels);
  const { preprocess, y } = Preprocess.fitTensor(tr.x, tr.y, spec.scale ?? 'minmax');
  const full = new TensorDataset(preprocess.transform(tr.x), y);
  tr.x.dispose(); tr.y.dispose();
  const valFrac = spec.validationSplit ?? 0.1;
  const [train, validation] = randomSplit(full, [1 - valFrac, valFrac], { seed });
  let test: TensorDataset | undefined;
  if (idx.testImages !== undefined) {
    const te = read(idx.testImages, idx.testLabels!);
    test = new TensorDataset(preprocess.transform(te.x), preprocess.encodeTarget(Array.from(te.y.data())));
    te.x.dispose(); te.y.dispose();
  }
  return { train, validation: validation.length ? validation : undefined, test, classes: preprocess.classes ?? undefined, preprocess, task: 'classification' };
}

type LayerSpec = { type: string; [k: string]: unknown };
/**
 * Fills in what the data decides for a csv / idx run: a default MLP when `model` is absent (Linear
 * → ReLU → Linear → ReLU → Linear, 64 hidden units), the first Linear's `in` (the feature count)
 * and the last Linear's `out` (the number of classes, 1 for regression) when absent or "auto",
 * the loss (CrossEntropyLoss / MSELoss), the optimizer (Adam, lr 1e-3), the metrics (accuracy /
 * mae, r2), and absolute data paths. Returns a new config: the one saved with the run.
 */
export function resolveForData<C extends { model?: LayerSpec[]; loss?: LayerSpec; optimizer?: LayerSpec; metrics?: string[]; dataset: unknown }>(
  config: C, preprocess: Preprocess, baseDir: string): C {
  const c: C = structuredClone(config);
  const inFeatures = preprocess.inFeatures, outFeatures = preprocess.outFeatures, task = preprocess.task;
  const auto = (v: unknown) => v === undefined || v === 'auto';
  if (c.model === undefined)
    c.model = [{ type: 'Linear', out: 64, init: 'kaimingNormal' }, { type: 'ReLU' }, { type: 'Linear', in: 64, out: 64, init: 'kaimingNormal' }, { type: 'ReLU' }, { type: 'Linear', in: 64 }];
  if (!Array.isArray(c.model) || c.model.length === 0) throw new ArgumentError(`config.model: expected a non-empty array of layers, received ${describe(c.model)}`);
  const linears = c.model.filter((l) => l && l.type === 'Linear');
  if (linears.length) {
    const first = linears[0], last = linears[linears.length - 1];
    if (auto(first.in)) first.in = inFeatures;
    else if (first.in !== inFeatures) throw new ArgumentError(`config.model: the first Linear has in ${describe(first.in)}, but the data has ${inFeatures} features after encoding (leave 'in' out to have it filled in)`);
    if (auto(last.out)) last.out = outFeatures;
    else if (last.out !== outFeatures) throw new ArgumentError(`config.model: the last Linear has out ${describe(last.out)}, but the ${task} task needs ${outFeatures} output${outFeatures === 1 ? '' : 's'} (leave 'out' out to have it filled in)`);
  }
  if (c.loss === undefined) c.loss = { type: task === 'classification' ? 'CrossEntropyLoss' : 'MSELoss' };
  if (c.optimizer === undefined) c.optimizer = { type: 'Adam', lr: 1e-3 };
  if (c.metrics === undefined) c.metrics = task === 'classification' ? ['accuracy'] : ['mae', 'r2'];
  const d = c.dataset as Record<string, Record<string, unknown> | undefined>;
  for (const spec of [d.csv, d.idx]) {
    if (!spec) continue;
    for (const k of ['train', 'validation', 'test', 'trainImages', 'trainLabels', 'testImages', 'testLabels'])
      if (typeof spec[k] === 'string') spec[k] = resolve(baseDir, spec[k] as string);
  }
  return c;
}
