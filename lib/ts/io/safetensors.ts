/**
 * safetensors.ts — reading and writing the safetensors format, to the letter
 * (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } }`
 * (padded with spaces to a multiple of 8), then the raw little-endian tensor bytes, offsets
 * relative to the start of that data section.
 *
 * The reader treats the file as untrusted: a header length past the end of the file or above
 * 100 MB, malformed JSON, duplicate keys (the JSON is parsed by a strict parser that rejects them,
 * since JSON.parse silently keeps the last), unknown dtypes, shapes that do not match their byte
 * ranges, and out-of-range or overlapping offsets are all FormatError (ERR_FORMAT); nothing is
 * allocated before the header has been validated.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkOptions, shapeStr } from '../check.js';
import { ArgumentError, EntrenaError, FormatError, ShapeError, describe } from '../errors.js';
import { Tensor, sizeOf, type DType } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import { fromBits } from '../core/kernels.js';
import { noGrad } from '../autograd/engine.js';

const MAX_HEADER = 100 * 1024 * 1024;

const DTYPE_TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bfloat16: 'BF16', float16: 'F16' };
const ST_SIZES: Record<string, number> = { F32: 4, F64: 8, I32: 4, I64: 8, F16: 2, BF16: 2, U8: 1, I8: 1, I16: 2, BOOL: 1 };

export interface TensorEntry { dtype: string; shape: number[]; begin: number; end: number }
export interface ParsedFile { tensors: Map<string, TensorEntry>; metadata: Record<string, string>; dataStart: number; bytes: Buffer }

// ---- a strict JSON parser (rejects duplicate keys; objects without prototypes) ------------------

function parseStrictJson(text: string): unknown {
  let i = 0;
  const fail = (msg: string): never => { throw new FormatError(`safetensors: invalid header JSON: ${msg} at character ${i}`); };
  const ws = () => { while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++; };
  const value = (depth: number): unknown => {
    if (depth > 16) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = Object.create(null);
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const key = str();
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`);
        ws();
        if (text[i++] !== ':') fail("expected ':'");
        obj[key] = value(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 40));
    if (m) { i += m[0].length; return Number(m[0]); }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const)
      if (text.startsWith(lit, i)) { i += lit.length; return v; }
    return fail('unexpected character');
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') { if (text[i] === '\\') i++; i++; }
    if (i >= text.length) fail('unterminated string');
    i++;
    try { return JSON.parse(text.slice(start, i)) as string; } catch { return fail('bad string escape'); }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/** Parses and validates a safetensors buffer (see the file comment for what is rejected). */
export function parseSafetensors(bytes: Buffer, where = 'safetensors'): ParsedFile {
  if (bytes.length < 8) throw new FormatError(`${where}: file too short (${bytes.length} bytes) to hold the 8-byte header length`);
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER)) throw new FormatError(`${where}: header length ${n} exceeds the limit of ${MAX_HEADER} bytes`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) throw new FormatError(`${where}: header length ${headerLen} runs past the end of the file (${bytes.length} bytes)`);
  const text = bytes.subarray(8, 8 + headerLen).toString('utf8');
  const header = parseStrictJson(text);
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new FormatError(`${where}: header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = Object.create(null);
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new FormatError(`${where}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(raw)) if (typeof v !== 'string') throw new FormatError(`${where}: __metadata__.${k} must be a string`);
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw new FormatError(`${where}: entry '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in ST_SIZES)) throw new FormatError(`${where}: tensor '${name}' has unknown dtype ${describe(e.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) throw new FormatError(`${where}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
      throw new FormatError(`${where}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as number[];
    if (begin > end || end > dataLen) throw new FormatError(`${where}: tensor '${name}' data_offsets [${begin}, ${end}] are out of range (data section is ${dataLen} bytes)`);
    const want = sizeOf(e.shape as number[]) * ST_SIZES[e.dtype];
    if (end - begin !== want) throw new FormatError(`${where}: tensor '${name}' of shape ${shapeStr(e.shape as unknown[])} and dtype ${e.dtype} needs ${want} bytes, its offsets span ${end - begin}`);
    tensors.set(name, { dtype: e.dtype, shape: e.shape as number[], begin, end });
  }
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let k = 1; k < sorted.length; k++)
    if (sorted[k][1].begin < sorted[k - 1][1].end) throw new FormatError(`${where}: tensors '${sorted[k - 1][0]}' and '${sorted[k][0]}' overlap`);
  return { tensors, metadata, dataStart, bytes };
}

/** Decodes one entry into a tensor (F32/F64/I32/BF16/F16 as they are; I64, I16, I8, U8, BOOL to int32). */
export function entryToTensor(file: ParsedFile, name: string): Tensor {
  const e = file.tensors.get(name);
  if (!e) throw new FormatError(`safetensors: no tensor named '${name}'`);
  const raw = file.bytes.subarray(file.dataStart + e.begin, file.dataStart + e.end);
  const count = sizeOf(e.shape);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let values: Float32Array | Float64Array | Int32Array;
  switch (e.dtype) {
    case 'F32': values = new Float32Array(count); for (let i = 0; i < count; i++) values[i] = dv.getFloat32(i * 4, true); break;
    case 'F64': values = new Float64Array(count); for (let i = 0; i < count; i++) values[i] = dv.getFloat64(i * 8, true); break;
    case 'I32': values = new Int32Array(count); for (let i = 0; i < count; i++) values[i] = dv.getInt32(i * 4, true); break;
    case 'I64': {
      values = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw new FormatError(`safetensors: tensor '${name}' holds the int64 value ${v}, outside int32`);
        values[i] = Number(v);
      }
      break;
    }
    case 'I16': values = new Int32Array(count); for (let i = 0; i < count; i++) values[i] = dv.getInt16(i * 2, true); break;
    case 'I8': values = new Int32Array(count); for (let i = 0; i < count; i++) values[i] = dv.getInt8(i); break;
    case 'U8': case 'BOOL': values = new Int32Array(count); for (let i = 0; i < count; i++) values[i] = dv.getUint8(i); break;
    case 'F16': case 'BF16': {
      // The bits as they are: a 16-bit tensor, as PyTorch's loader gives.
      const bits = new Uint16Array(count);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, true);
      return fromBits(bits, e.shape.slice(), e.dtype === 'BF16' ? 'bfloat16' : 'float16', 'cpu');
    }
    default: throw new FormatError(`safetensors: tensor '${name}' has unsupported dtype ${e.dtype}`);
  }
  return tensor(values, { shape: e.shape.slice() });
}

/** Serialises named tensors (and string metadata) into safetensors bytes. */
export function serializeSafetensors(named: [string, Tensor][], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of named) {
    if (seen.has(name)) throw new ArgumentError(`safetensors: duplicate tensor name '${name}'`);
    seen.add(name);
    const values = noGrad(() => t.rawData());
    const buf = Buffer.alloc(values.byteLength);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (values instanceof Float32Array) values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    else if (values instanceof Float64Array) values.forEach((v, i) => dv.setFloat64(i * 8, v, true));
    else if (values instanceof Uint16Array) values.forEach((v, i) => dv.setUint16(i * 2, v, true));
    else values.forEach((v, i) => dv.setInt32(i * 4, v, true));
    header[name] = { dtype: DTYPE_TO_ST[t.dtype], shape: t.shape.slice(), data_offsets: [offset, offset + buf.length] };
    chunks.push(buf);
    offset += buf.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...chunks]);
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename, fsync
 * of the folder. A crash or a full disk mid-write leaves the previous file intact.
 */
export function writeAtomic(path: string, bytes: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* nothing to remove */ }
    if (e instanceof EntrenaError) throw e;
    // A full disk, a missing folder, no permission: the previous file is intact; say so.
    const err = new EntrenaError('ERR_IO', `cannot write ${path}: ${(e as Error).message}; the previous file, if any, is unchanged`);
    (err as Error & { cause?: unknown }).cause = e;
    throw err;
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some filesystems cannot fsync a directory; the rename is still atomic */ }
}

interface StateModule { stateDict(): Record<string, Tensor>; loadStateDict(sd: Record<string, Tensor>, options?: { strict?: boolean }): unknown }

/**
 * Saves a module's state dict as safetensors, with PyTorch's tensor names (atomic write).
 * @example io.save(model, 'model.safetensors')
 */
export function save(module: StateModule, path: string, metadata: Record<string, string> = {}): void {
  if (!module || typeof module.stateDict !== 'function') throw new ArgumentError(`io.save: expected a module with stateDict(), received ${describe(module)}`);
  if (typeof path !== 'string' || !path) throw new ArgumentError(`io.save: expected a file path, received ${describe(path)}`);
  // The metadata's keys are free (safetensors' __metadata__); its values must be strings.
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new ArgumentError(`io.save: expected metadata to be an object of strings, received ${describe(metadata)}`);
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new ArgumentError(`io.save: expected metadata '${k}' to be a string (safetensors metadata is string to string; JSON.stringify other values), received ${describe(v)}`);
  writeAtomic(path, serializeSafetensors(Object.entries(module.stateDict()), { format: 'pt', ...metadata }));
}

/** Reads every tensor of a safetensors file: `{ tensors, metadata }`. */
export function readSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const file = parseSafetensors(readFileSync(path), `safetensors '${path}'`);
  const tensors: Record<string, Tensor> = {};
  for (const name of file.tensors.keys()) tensors[name] = entryToTensor(file, name);
  return { tensors, metadata: { ...file.metadata } };
}

/**
 * Loads a safetensors state dict into `module` (strict by default: missing or unexpected names are
 * an error listing them all). Tensors are converted to the module's dtypes.
 * @example io.load(model, 'model.safetensors')
 */
export function load(module: StateModule, path: string, options: { strict?: boolean } = {}): Record<string, string> {
  if (!module || typeof module.loadStateDict !== 'function') throw new ArgumentError(`io.load: expected a module with loadStateDict(), received ${describe(module)}`);
  options = checkOptions<typeof options>(options, 'io.load', ['strict']);
  const { tensors, metadata } = readSafetensors(path);
  const current = module.stateDict();
  try {
    for (const [k, t] of Object.entries(tensors)) {
      const cur = current[k];
      if (cur && cur.dtype !== t.dtype) { tensors[k] = t.cast(cur.dtype); t.dispose(); }
      if (cur && (cur.shape.length !== t.shape.length || cur.shape.some((d, i) => d !== t.shape[i])) && cur.size !== t.size)
        throw new ShapeError(`io.load: '${k}' has shape ${shapeStr(t.shape)} in the file, the module expects ${shapeStr(cur.shape)}`);
    }
    module.loadStateDict(tensors, { strict: options.strict ?? true });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return metadata;
}
