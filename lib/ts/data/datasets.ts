/**
 * datasets.ts — ready-made datasets: the synthetic spirals of CS231n, and Fashion-MNIST read from
 * local files. Nothing is ever downloaded (DESIGN: no network at install or run time); a missing
 * file is an error that says how to get it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkNumber, checkOptions, checkPositiveInt, shapeStr } from '../check.js';
import { ArgumentError, FormatError, describe } from '../errors.js';
import { randn, tensor } from '../ops/index.js';
import { Tensor, checkDevice, type DeviceName } from '../tensor.js';
import { readIdx, readIdxValues } from './idx.js';
import { writeHost } from '../core/kernels.js';
import { checkSeed, withSeed } from './random.js';

/**
 * The classic spiral dataset of Stanford's CS231n ("Putting it together: minimal neural network
 * case study"): `classes` interleaved arms; class j has radii r evenly spaced in [0, 1] and angles
 * evenly spaced in [4j, 4(j + 1)] radians plus N(0, noise²) jitter; a point is (r·sin θ, r·cos θ).
 * `samples` is the total; it is shared out evenly, the first `samples % classes` classes taking one
 * more. Rows are grouped by class (shuffle with a DataLoader). Seeded: the same seed gives the same
 * points, whatever the global generator's state (which it leaves untouched).
 * @example
 * const { x, y } = data.datasets.spirals({ samples: 300, classes: 3, noise: 0.2, seed: 0 });
 * // x: float32 [300, 2], y: int32 [300] in 0..2
 */
export function spirals(options: { samples?: number; classes?: number; noise?: number; seed?: number; device?: DeviceName } = {}): { x: Tensor; y: Tensor } {
  const where = 'spirals';
  checkOptions(options, where, ['samples', 'classes', 'noise', 'seed', 'device']);
  const { samples = 1000, classes = 3, noise = 0.2 } = options;
  checkNumber(samples, where, 'samples', { min: 0, integer: true });
  checkPositiveInt(classes, where, 'classes');
  checkNumber(noise, where, 'noise', { min: 0, finite: true });
  const seed = checkSeed(options.seed ?? 0, where)!;
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device, where);
  let jitter: Float64Array = new Float64Array(0);
  if (samples > 0) {
    jitter = withSeed(seed, () => {
      const t = randn([samples], { dtype: 'float64' });
      const v = t.data() as Float64Array;
      t.dispose();
      return v;
    });
  }
  const xs = new Float64Array(samples * 2);
  const ys = new Int32Array(samples);
  let row = 0;
  for (let j = 0; j < classes; j++) {
    const nj = Math.floor(samples / classes) + (j < samples % classes ? 1 : 0);
    for (let i = 0; i < nj; i++, row++) {
      const f = nj > 1 ? i / (nj - 1) : 0; // np.linspace(0, 1, nj)
      const r = f;
      const t = 4 * j + 4 * f + jitter[row] * noise;
      xs[2 * row] = r * Math.sin(t);
      xs[2 * row + 1] = r * Math.cos(t);
      ys[row] = j;
    }
  }
  return { x: tensor(xs, { shape: [samples, 2], dtype: 'float32', device }), y: tensor(ys, { dtype: 'int32', device }) };
}

/** Fashion-MNIST's ten class names, by label. */
export const fashionMnistClasses = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function howToGet(dir: string): string {
  return `Install the Debian package with \`apt-get install dataset-fashion-mnist\` (it puts the files under ${FASHION_DIR}/), ` +
    `or pass { dir } naming a folder that holds ${Object.values(FILES).map((f) => `${f}(.gz)`).join(', ')}` +
    `${dir === FASHION_DIR ? '' : ` (the folder given was ${dir})`}. entrena never downloads data.`;
}

function locate(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  throw new ArgumentError(`fashionMnist: cannot find ${base}.gz or ${base} in ${dir}. ${howToGet(dir)}`);
}

let quotients: Float32Array | null = null;
/** k / 255 in float32 for every byte k, computed once by the division kernel. */
function byteQuotients(): Float32Array {
  if (!quotients) {
    const k = tensor(Float32Array.from({ length: 256 }, (_, i) => i));
    const q = k.div(255);
    quotients = q.data() as Float32Array;
    k.dispose(); q.dispose();
  }
  return quotients;
}

/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60 000 training and 10 000 test images of 28×28
 * grey clothing items in 10 classes (`fashionMnistClasses`), read from the IDX files in `dir`
 * (gzipped or not). x is float32 scaled to [0, 1] (byte / 255), [N, 784] or, with
 * `flatten: false`, [N, 1, 28, 28]; y is int32 in 0..9. When the folder or a file is missing the
 * error says how to get it: `apt-get install dataset-fashion-mnist` (files in
 * /usr/share/datasets/fashion-mnist/) or `{ dir }`. No download, ever.
 * @example
 * const { train, test } = data.datasets.fashionMnist();              // the Debian package's copy
 * const ds = new data.TensorDataset(train.x, train.y);
 * const local = data.datasets.fashionMnist({ dir: './fashion', flatten: false }); // x: [60000, 1, 28, 28]
 */
export function fashionMnist(options: { dir?: string; flatten?: boolean; device?: DeviceName } = {}): { train: { x: Tensor; y: Tensor }; test: { x: Tensor; y: Tensor } } {
  const where = 'fashionMnist';
  checkOptions(options, where, ['dir', 'flatten', 'device']);
  const { dir = FASHION_DIR, flatten = true } = options;
  if (typeof dir !== 'string' || dir === '') throw new ArgumentError(`${where}: expected dir to be a folder path, received ${describe(dir)}`);
  if (typeof flatten !== 'boolean') throw new ArgumentError(`${where}: expected flatten to be a boolean, received ${describe(flatten)}`);
  const device = options.device === undefined ? 'cpu' : checkDevice(options.device, where);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ArgumentError(`${where}: the folder ${dir} does not exist. ${howToGet(dir)}`);
  const paths = {
    trainImages: locate(dir, FILES.trainImages), trainLabels: locate(dir, FILES.trainLabels),
    testImages: locate(dir, FILES.testImages), testLabels: locate(dir, FILES.testLabels),
  };
  const split = (imagesPath: string, labelsPath: string): { x: Tensor; y: Tensor } => {
    const raw = readIdxValues(imagesPath, where);
    const n = raw.shape[0];
    if (raw.shape.length !== 3 || raw.shape[1] !== 28 || raw.shape[2] !== 28)
      throw new FormatError(`${where}: ${imagesPath} holds shape ${shapeStr(raw.shape)}, expected [N, 28, 28] images`);
    const y = readIdx(labelsPath, { dtype: 'int32', device });
    if (y.ndim !== 1 || y.shape[0] !== n) {
      y.dispose();
      throw new FormatError(`${where}: ${labelsPath} holds shape ${shapeStr(y.shape)}, expected [${n}] labels (one per image of ${imagesPath})`);
    }
    const shape = flatten ? [n, 784] : [n, 1, 28, 28];
    if (raw.values instanceof Uint8Array) {
      // Bytes (the files' type): one pass through a table of the 256 float32 quotients k / 255,
      // which the division kernel computes, so the values are those of `images.div(255)`; written
      // into the tensor a cache-sized chunk at a time (no 188 MB host copy to fault in first).
      const table = byteQuotients(), src = raw.values;
      const host = Tensor.empty(shape, 'float32', 'cpu');
      const chunk = new Float32Array(Math.min(src.length, 1 << 16));
      for (let start = 0; start < src.length; start += chunk.length) {
        const m = Math.min(chunk.length, src.length - start);
        for (let i = 0; i < m; i++) chunk[i] = table[src[start + i]];
        writeHost(host, m === chunk.length ? chunk : chunk.subarray(0, m), start);
      }
      const x = host.to(device);
      if (x !== host) host.dispose();
      return { x, y };
    }
    const scaled = tensor(raw.values, { shape, dtype: raw.type.dtype }).div(255);
    const x = scaled.to(device);
    if (x !== scaled) scaled.dispose();
    return { x, y };
  };
  const train = split(paths.trainImages, paths.trainLabels);
  const test = split(paths.testImages, paths.testLabels);
  return { train, test };
}
