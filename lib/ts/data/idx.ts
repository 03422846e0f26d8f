/**
 * idx.ts — reading IDX files (the format of MNIST and Fashion-MNIST), gzipped or not.
 *
 * Layout (http://yann.lecun.com/exdb/mnist/): two zero bytes; a type byte (0x08 ubyte, 0x09 sbyte,
 * 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64); the number of dimensions; each dimension as
 * a big-endian uint32; then the values, big-endian, row-major. A gzip stream (magic 1f 8b) is
 * inflated first with node:zlib. Nothing is downloaded: the path is read as given.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { checkOptions, shapeStr } from '../check.js';
import { ArgumentError, FormatError, describe } from '../errors.js';
import { tensor } from '../ops/index.js';
import { Tensor, checkDType, checkDevice, type DeviceName, type DType } from '../tensor.js';

const IDX_TYPES: Record<number, { name: string; size: number; dtype: DType }> = {
  0x08: { name: 'ubyte', size: 1, dtype: 'float32' },
  0x09: { name: 'sbyte', size: 1, dtype: 'float32' },
  0x0b: { name: 'short', size: 2, dtype: 'int32' },
  0x0c: { name: 'int', size: 4, dtype: 'int32' },
  0x0d: { name: 'float', size: 4, dtype: 'float32' },
  0x0e: { name: 'double', size: 8, dtype: 'float64' },
};

export interface ReadIdxOptions {
  /**
   * The tensor's dtype. Default: float32 for ubyte, sbyte and float (byte values kept as they are,
   * 0…255 for images, not rescaled), int32 for short and int, float64 for double.
   */
  dtype?: DType;
  device?: DeviceName;
}

/**
 * Reads an IDX file (plain or gzipped) into a tensor of the file's shape. A malformed file
 * (bad magic number, unknown type byte, truncated or overlong data, broken gzip) throws a
 * `FormatError` (code `ERR_FORMAT`) that names the file and the problem.
 * @example
 * const images = data.readIdx('train-images-idx3-ubyte.gz');             // float32 [60000, 28, 28], 0…255
 * const labels = data.readIdx('train-labels-idx1-ubyte.gz', { dtype: 'int32' }); // int32 [60000]
 */
export function readIdx(path: string, options: ReadIdxOptions = {}): Tensor {
  const where = 'readIdx';
  if (typeof path !== 'string' || path === '') throw new ArgumentError(`${where}: expected path to be a non-empty string, received ${describe(path)}`);
  checkOptions<ReadIdxOptions>(options, where, ['dtype', 'device']);
  if (options.dtype !== undefined) checkDType(options.dtype, where);
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device, where);
  const { shape, values, type } = readIdxValues(path, where);
  return tensor(values, { shape, dtype: options.dtype ?? type.dtype, device });
}

/**
 * @internal The values of an IDX file as the typed array of its type (ubyte as Uint8Array) and its
 * shape, checked as `readIdx` documents; `where` names the caller in messages.
 */
export function readIdxValues(path: string, where: string): { shape: number[]; values: IdxValues; type: { name: string; size: number; dtype: DType } } {
  let bytes: Buffer = readFileSync(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FormatError(`${where}: ${path} starts with the gzip magic bytes but cannot be inflated: ${(e as Error).message}`);
    }
  }
  const { shape, type, offset } = parseHeader(bytes, path, where);
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = offset + count * type.size;
  if (bytes.length < expected)
    throw new FormatError(`${where}: ${path} is truncated: its header declares shape ${shapeStr(shape)} of ${type.name} (${count * type.size} bytes of data), but only ${bytes.length - offset} bytes follow the header`);
  if (bytes.length > expected)
    throw new FormatError(`${where}: ${path} has ${bytes.length - expected} bytes after the ${count} ${type.name} values its header declares (shape ${shapeStr(shape)})`);
  return { shape, values: decode(bytes, offset, count, type.size, bytes[2]), type };
}

type IdxValues = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array;

function parseHeader(bytes: Buffer, path: string, where: string): { shape: number[]; type: { name: string; size: number; dtype: DType }; offset: number } {
  if (bytes.length < 4) throw new FormatError(`${where}: ${path} is too short to be an IDX file (${bytes.length} bytes; the magic number alone takes 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new FormatError(`${where}: ${path} is not an IDX file: bad magic number 0x${bytes.readUInt32BE(0).toString(16).padStart(8, '0')} (expected 0x0000TTDD: two zero bytes, a type byte, a dimension count)`);
  const type = IDX_TYPES[bytes[2]];
  if (!type)
    throw new FormatError(`${where}: ${path} has an unknown IDX type byte 0x${bytes[2].toString(16).padStart(2, '0')} (expected 0x08 ubyte, 0x09 sbyte, 0x0b short, 0x0c int, 0x0d float or 0x0e double)`);
  const ndim = bytes[3];
  const offset = 4 + 4 * ndim;
  if (bytes.length < offset) throw new FormatError(`${where}: ${path} is truncated inside its header (${ndim} dimensions need ${offset} header bytes, the file has ${bytes.length})`);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(bytes.readUInt32BE(4 + 4 * d));
  if (ndim > 8) throw new FormatError(`${where}: ${path} declares ${ndim} dimensions; at most 8 are supported`);
  return { shape, type, offset };
}

function decode(bytes: Buffer, offset: number, count: number, size: number, code: number): IdxValues {
  switch (code) {
    case 0x08: return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 0x09: return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 0x0b: { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = bytes.readInt16BE(offset + i * size); return out; }
    case 0x0c: { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = bytes.readInt32BE(offset + i * size); return out; }
    case 0x0d: { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = bytes.readFloatBE(offset + i * size); return out; }
    default: { const out = new Float64Array(count); for (let i = 0; i < count; i++) out[i] = bytes.readDoubleBE(offset + i * size); return out; }
  }
}
