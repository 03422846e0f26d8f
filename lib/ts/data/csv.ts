/**
 * csv.ts — reading a delimited text file into feature and target tensors.
 *
 * The parser follows RFC 4180: fields may be quoted with `"`, a quote inside a quoted field is
 * doubled (`""`), quoted fields may hold the delimiter and line breaks; records end with LF or
 * CRLF; a UTF-8 byte-order mark is skipped; blank lines are skipped. Rows in messages are
 * 1-based line numbers of the file (the header is line 1), counting the line a record starts on.
 *
 * Numeric columns are parsed with JavaScript's `Number` rules (plus `nan`, `inf`, `-inf` in any
 * case); categorical columns are one-hot encoded (default) or replaced by their category index.
 */
import { readFileSync } from 'node:fs';
import { checkOptions } from '../check.js';
import { ArgumentError, DTypeError, FormatError, describe } from '../errors.js';
import { tensor } from '../ops/index.js';
import { Tensor, checkDevice, type DeviceName, type DType } from '../tensor.js';

export interface ReadCsvOptions {
  /** The first record names the columns (default true); otherwise columns are named '0', '1', … */
  header?: boolean;
  /** The feature columns of x, in this order; default every column except `target`. */
  columns?: string[];
  /** Columns holding categories (any text) rather than numbers. */
  categorical?: string[];
  /** 'onehot' (default): one indicator column per category; 'index': one column of category indices. */
  categoricalEncoding?: 'onehot' | 'index';
  /** The column returned as y. Numeric: float32 [N] (or `targetDtype`); categorical: int32 category indices. */
  target?: string;
  /** dtype of a numeric target; default float32. */
  targetDtype?: DType;
  /** Field separator, one character; default ','. */
  delimiter?: string;
  /** An empty numeric cell: 'error' (default) or 'nan'. */
  missing?: 'error' | 'nan';
  /** dtype of x; default float32. */
  dtype?: DType;
  device?: DeviceName;
}

export interface CsvData {
  /** Features [N, F]. */
  x: Tensor;
  /** The target column, when `target` was given. */
  y?: Tensor;
  /** Names of x's columns (a one-hot column is named `column=category`). */
  columns: string[];
  /** The sorted categories of each categorical column (target included). */
  categories: Record<string, string[]>;
}

const KNOWN_OPTIONS = ['header', 'columns', 'categorical', 'categoricalEncoding', 'target', 'targetDtype', 'delimiter', 'missing', 'dtype', 'device'];

/**
 * Reads a CSV file into tensors. A cell that is not a number in a numeric column throws a
 * `FormatError` (code `ERR_FORMAT`) naming the file, the row (1-based line of the file) and the
 * column.
 * @example
 * // species,sepal_length,sepal_width
 * // setosa,5.1,3.5 …
 * const { x, y, columns, categories } = data.readCsv('iris.csv', { target: 'species', categorical: ['species'] });
 * // x: float32 [150, 2], y: int32 [150] indices into categories.species
 */
export function readCsv(path: string, options: ReadCsvOptions = {}): CsvData {
  const where = 'readCsv';
  if (typeof path !== 'string' || path === '') throw new ArgumentError(`${where}: expected path to be a non-empty string, received ${describe(path)}`);
  checkOptions<ReadCsvOptions>(options, where, KNOWN_OPTIONS, { sep: 'use delimiter', label: 'use target' });
  const { header = true, delimiter = ',', categoricalEncoding = 'onehot', missing = 'error', dtype = 'float32', targetDtype = 'float32' } = options;
  if (typeof header !== 'boolean') throw new ArgumentError(`${where}: expected header to be a boolean, received ${describe(header)}`);
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r')
    throw new ArgumentError(`${where}: expected delimiter to be one character other than a quote or a line break, received ${describe(delimiter)}`);
  if (categoricalEncoding !== 'onehot' && categoricalEncoding !== 'index')
    throw new ArgumentError(`${where}: expected categoricalEncoding 'onehot' or 'index', received ${describe(categoricalEncoding)}`);
  if (missing !== 'error' && missing !== 'nan') throw new ArgumentError(`${where}: expected missing 'error' or 'nan', received ${describe(missing)}`);
  for (const [k, v] of [['dtype', dtype], ['targetDtype', targetDtype]] as const)
    if (v !== 'float32' && v !== 'float64' && v !== 'int32') throw new DTypeError(`${where}: expected ${k} 'float32', 'float64' or 'int32', received ${describe(v)}`);
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device, where);
  const nameList = (v: unknown, k: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ArgumentError(`${where}: expected ${k} to be an array of column names, received ${describe(v)}`);
    return v as string[];
  };
  const wanted = nameList(options.columns, 'columns');
  const categorical = new Set(nameList(options.categorical, 'categorical') ?? []);
  const target = options.target;
  if (target !== undefined && typeof target !== 'string') throw new ArgumentError(`${where}: expected target to be a column name, received ${describe(target)}`);

  const text = readFileSync(path, 'utf8');
  const records = parseCsv(text, delimiter, path, where);
  if (records.length === 0) throw new FormatError(`${where}: ${path} holds no records`);
  let names: string[];
  let body: CsvRecord[];
  if (header) {
    names = records[0].fields.map((s) => s.trim());
    body = records.slice(1);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new FormatError(`${where}: ${path}: the header names column ${JSON.stringify(dup)} twice`);
  } else {
    names = records[0].fields.map((_, i) => String(i));
    body = records;
  }
  for (const r of body)
    if (r.fields.length !== names.length)
      throw new FormatError(`${where}: ${path}: row ${r.line} has ${r.fields.length} fields, expected ${names.length} (as ${header ? 'the header' : 'the first row'})`);
  const col = (n: string, k: string): number => {
    const i = names.indexOf(n);
    if (i < 0) throw new ArgumentError(`${where}: ${k} names column ${JSON.stringify(n)}, which ${path} does not have (columns: ${names.join(', ')})`);
    return i;
  };
  for (const c of categorical) col(c, 'categorical');
  const targetIndex = target === undefined ? -1 : col(target, 'target');
  const featureNames = wanted ?? names.filter((n) => n !== target);
  const featureIdx = featureNames.map((n) => col(n, 'columns'));

  // Categories of each categorical column used, sorted (code-unit order, as scikit-learn).
  const categories: Record<string, string[]> = {};
  const catIndex = new Map<number, Map<string, number>>();
  for (const n of categorical) {
    const i = names.indexOf(n);
    if (i !== targetIndex && !featureIdx.includes(i)) continue;
    const values = [...new Set(body.map((r) => r.fields[i]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    categories[n] = values;
    catIndex.set(i, new Map(values.map((v, k) => [v, k] as [string, number])));
  }

  // Output layout of x.
  const outNames: string[] = [];
  for (const i of featureIdx) {
    const cats = catIndex.get(i);
    if (cats && categoricalEncoding === 'onehot') for (const c of categories[names[i]]) outNames.push(`${names[i]}=${c}`);
    else outNames.push(names[i]);
  }
  const n = body.length, f = outNames.length;
  const xs = new Float64Array(n * f);
  const ys = targetIndex >= 0 ? new Float64Array(n) : null;
  const parse = (cell: string, r: CsvRecord, c: number): number => {
    const v = parseNumber(cell);
    if (v !== undefined) return v;
    if (cell.trim() === '' && missing === 'nan') return NaN;
    const empty = cell.trim() === '';
    const what = empty ? 'an empty cell' : `the value ${JSON.stringify(cell)}`;
    const hint = empty ? "pass missing: 'nan' to read empty cells as NaN" : "list the column in 'categorical' if it holds categories";
    throw new FormatError(`${where}: ${path}: row ${r.line}, column ${JSON.stringify(names[c])}: ${what} is not a number (${hint})`);
  };
  for (let r = 0; r < n; r++) {
    const rec = body[r];
    let k = r * f;
    for (const i of featureIdx) {
      const cats = catIndex.get(i);
      if (!cats) xs[k++] = parse(rec.fields[i], rec, i);
      else if (categoricalEncoding === 'onehot') { xs[k + cats.get(rec.fields[i])!] = 1; k += cats.size; }
      else xs[k++] = cats.get(rec.fields[i])!;
    }
    if (ys) {
      const cats = catIndex.get(targetIndex);
      ys[r] = cats ? cats.get(rec.fields[targetIndex])! : parse(rec.fields[targetIndex], rec, targetIndex);
    }
  }
  const out: CsvData = { x: tensor(xs, { shape: [n, f], dtype, device }), columns: outNames, categories };
  if (ys) {
    const yDtype: DType = catIndex.has(targetIndex) ? 'int32' : targetDtype;
    if (yDtype === 'int32')
      for (let r = 0; r < n; r++)
        if (!Number.isInteger(ys[r])) { out.x.dispose(); throw new FormatError(`${where}: ${path}: row ${body[r].line}, column ${JSON.stringify(target)}: ${ys[r]} is not an integer (targetDtype is int32)`); }
    out.y = tensor(ys, { shape: [n], dtype: yDtype, device });
  }
  return out;
}

interface CsvRecord {
  fields: string[];
  /** 1-based line of the file where the record starts. */
  line: number;
}

const NUMBER_WORDS: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity };

function parseNumber(cell: string): number | undefined {
  const s = cell.trim();
  if (s === '') return undefined;
  const v = Number(s);
  if (!Number.isNaN(v)) return v;
  const w = NUMBER_WORDS[s.toLowerCase()];
  return w === undefined ? undefined : w;
}

/** RFC 4180 records with their starting line numbers. Exported for tests. */
export function parseCsv(text: string, delimiter = ',', path = '<text>', where = 'readCsv'): CsvRecord[] {
  const out: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let ended = false;
    while (!ended) {
      if (i < n && text[i] === '"') {
        // Quoted field.
        i++;
        for (;;) {
          if (i >= n) throw new FormatError(`${where}: ${path}: row ${startLine}: a quoted field is not closed before the end of the file`);
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (ch === '\n') line++;
          field += ch;
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r')
          throw new FormatError(`${where}: ${path}: row ${startLine}: unexpected ${JSON.stringify(text[i])} after a closing quote (a quote inside a quoted field is written "")`);
      } else {
        const start = i;
        while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') i++;
        field = text.slice(start, i);
      }
      fields.push(field);
      field = '';
      if (i >= n) ended = true;
      else if (text[i] === delimiter) i++;
      else {
        if (text[i] === '\r') i++;
        if (text[i] === '\n') i++;
        line++;
        ended = true;
      }
    }
    if (!(fields.length === 1 && fields[0] === '')) out.push({ fields, line: startLine });
  }
  return out;
}
