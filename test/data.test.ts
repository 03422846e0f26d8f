// data.test.ts — the data pipeline: TensorDataset, DataLoader, randomSplit, scalers and encoders,
// IDX and CSV readers, augmentations, and the built-in datasets. Files are written by the tests
// into a temporary folder; Fashion-MNIST is read from the Debian package's folder when installed.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { arange, cuda, data, getRngState, manualSeed, memory, rand, tensor, tidy, zeros, type Tensor } from '../lib/ts/index.js';

const dir = mkdtempSync(join(tmpdir(), 'entrena-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flat = (t: Tensor): number[] => Array.from(t.data());
function rowsDataset(n: number, cols = 3): data.TensorDataset {
  // Row i of x holds i·10 + j, y holds i: rows can be identified after gathering.
  const xs: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < cols; j++) xs.push(i * 10 + j);
  return new data.TensorDataset(tensor(xs, { shape: [n, cols] }), arange(0, n));
}
function epochRows(loader: data.DataLoader): number[][] {
  const out: number[][] = [];
  for (const [, yb] of loader) out.push(flat(yb));
  return out;
}
function expectThrows(fn: () => unknown, code: string, pattern: RegExp): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  expect((err as Error).message).toMatch(pattern);
}

describe('TensorDataset', () => {
  it('pairs rows and returns views', () => {
    const ds = rowsDataset(5);
    expect(ds.length).toBe(5);
    const [x2, y2] = ds.get(2);
    expect(x2.shape).toEqual([3]);
    expect(flat(x2)).toEqual([20, 21, 22]);
    expect(y2.item()).toBe(2);
    expect(flat(ds.get(-1)[0])).toEqual([40, 41, 42]);
  });
  it('validates', () => {
    expectThrows(() => new data.TensorDataset(zeros([4, 2]), zeros([5])), 'ERR_SHAPE', /same number of rows.*\[4, 2\].*\[5\]/);
    expectThrows(() => new data.TensorDataset([1, 2] as unknown as Tensor, zeros([2])), 'ERR_INVALID_ARGUMENT', /expected x to be a Tensor/);
    expectThrows(() => rowsDataset(3).get(3), 'ERR_INVALID_ARGUMENT', /out of range.*3 rows/);
  });
});

describe('DataLoader', () => {
  it('yields batches in order with a short last batch', () => {
    const loader = new data.DataLoader(rowsDataset(10), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const shapes: number[][] = [];
    const xs: number[][] = [];
    for (const [xb, yb] of loader) { shapes.push([...xb.shape, ...yb.shape]); xs.push(flat(xb)); }
    expect(shapes).toEqual([[4, 3, 4], [4, 3, 4], [2, 3, 2]]);
    expect(xs[2]).toEqual([80, 81, 82, 90, 91, 92]);
    expect(epochRows(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    loader.dispose();
  });
  it('dropLast drops the short batch; defaults give batches of one', () => {
    const loader = new data.DataLoader(rowsDataset(10), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect(epochRows(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    const exact = new data.DataLoader(rowsDataset(8), { batchSize: 4, dropLast: true });
    expect(exact.length).toBe(2);
    const ones = new data.DataLoader(rowsDataset(3));
    expect(ones.length).toBe(3);
    expect(epochRows(ones)).toEqual([[0], [1], [2]]);
    for (const l of [loader, exact, ones]) l.dispose();
  });
  it('shuffle covers every row exactly once per epoch, and epochs differ', () => {
    const loader = new data.DataLoader(rowsDataset(50), { batchSize: 8, shuffle: true, seed: 3 });
    const e0 = epochRows(loader).flat(), e1 = epochRows(loader).flat();
    for (const e of [e0, e1]) expect([...e].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    // x rows travel with their y.
    for (const [xb, yb] of loader) {
      const x = flat(xb), y = flat(yb);
      y.forEach((r, k) => expect(x.slice(3 * k, 3 * k + 3)).toEqual([10 * r, 10 * r + 1, 10 * r + 2]));
    }
    loader.dispose();
  });
  it('a seed repeats the epochs; setEpoch resumes', () => {
    const a = new data.DataLoader(rowsDataset(20), { batchSize: 5, shuffle: true, seed: 42 });
    const b = new data.DataLoader(rowsDataset(20), { batchSize: 5, shuffle: true, seed: 42 });
    const c = new data.DataLoader(rowsDataset(20), { batchSize: 5, shuffle: true, seed: 43 });
    const a0 = epochRows(a), a1 = epochRows(a);
    expect(epochRows(b)).toEqual(a0);
    expect(epochRows(b)).toEqual(a1);
    expect(epochRows(c)).not.toEqual(a0);
    b.setEpoch(1);
    expect(epochRows(b)).toEqual(a1);
    expect(b.epoch).toBe(2);
  });
  it('without a seed, manualSeed repeats the shuffles', () => {
    const loader = new data.DataLoader(rowsDataset(30), { batchSize: 7, shuffle: true });
    manualSeed(7);
    const first = [epochRows(loader), epochRows(loader)];
    manualSeed(7);
    const again = [epochRows(loader), epochRows(loader)];
    expect(again).toEqual(first);
    expect(first[0]).not.toEqual(first[1]);
  });
  it('reuses its batch buffers: no tensors leak across epochs', () => {
    const ds = rowsDataset(37, 5);
    const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: 1 });
    const seen = new Set<Tensor>();
    for (const [xb, yb] of loader) { seen.add(xb); seen.add(yb); }
    expect(seen.size).toBe(4); // one pair for full batches, one for the short last batch
    const before = memory().cpu.tensors;
    for (let e = 0; e < 5; e++) for (const [xb] of loader) tidy(() => { xb.sum(); });
    expect(memory().cpu.tensors).toBe(before);
    loader.dispose();
    expect(memory().cpu.tensors).toBe(before - 5); // 4 batch tensors + the index buffer
  });
  it('survives tidy scopes, early breaks and a disposed batch', () => {
    const loader = new data.DataLoader(rowsDataset(9), { batchSize: 4 });
    tidy(() => { for (const _ of loader) { /* buffers allocated inside a tidy */ } });
    expect(epochRows(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    for (const [xb] of loader) { xb.dispose(); break; }
    expect(epochRows(loader)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
    loader.dispose();
  });
  it('reads non-contiguous datasets and multi-dimensional rows', () => {
    const x = tensor(Array.from({ length: 24 }, (_, i) => i), { shape: [2, 3, 4] }).permute(2, 0, 1); // [4, 2, 3]
    const y = tensor([0, 1, 2, 3], { dtype: 'int32' });
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 3 });
    const batches = [...loader].map(([xb, yb]) => [xb.toArray(), yb.toArray(), xb.shape]);
    expect(batches[0][2]).toEqual([3, 2, 3]);
    expect(batches[1][0]).toEqual([x.narrow(0, 3, 1).squeeze(0).toArray()]);
    expect(batches[1][1]).toEqual([3]);
    loader.dispose();
  });
  it('is async iterable with the same batches', async () => {
    const loader = new data.DataLoader(rowsDataset(11), { batchSize: 3, shuffle: true, seed: 9 });
    const sync = epochRows(loader);
    loader.setEpoch(0);
    const asyncRows: number[][] = [];
    for await (const [, yb] of loader) asyncRows.push(flat(yb));
    expect(asyncRows).toEqual(sync);
    loader.dispose();
  });
  it('an empty dataset gives no batches', () => {
    const loader = new data.DataLoader(new data.TensorDataset(zeros([0, 2]), zeros([0])), { batchSize: 2 });
    expect(loader.length).toBe(0);
    expect([...loader]).toEqual([]);
  });
  it.skipIf(!cuda.isAvailable())(cuda.isAvailable() ? 'delivers batches to another device (cpu dataset → cuda, cuda dataset)' : 'delivers batches to cuda (skipped: no CUDA device or a CPU-only build)', () => {
    const ds = rowsDataset(10);
    const toGpu = new data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 2, device: 'cuda' });
    const onCpu = new data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 2 });
    const gpuBatches = [...toGpu].map(([xb, yb]) => { expect(xb.device).toBe('cuda'); return [flat(xb), flat(yb)]; });
    expect(gpuBatches).toEqual([...onCpu].map(([xb, yb]) => [flat(xb), flat(yb)]));
    const gpuDs = new data.TensorDataset(ds.x.cuda(), ds.y.cuda());
    const onGpu = new data.DataLoader(gpuDs, { batchSize: 4, shuffle: true, seed: 2 });
    expect([...onGpu].map(([xb, yb]) => [flat(xb), flat(yb)])).toEqual(gpuBatches);
    const before = memory().cuda.tensors;
    for (let e = 0; e < 3; e++) for (const _ of onGpu) { /* reuse */ }
    expect(memory().cuda.tensors).toBe(before);
    for (const l of [toGpu, onCpu, onGpu]) l.dispose();
    gpuDs.dispose();
  });
  it('validates its options', () => {
    const ds = rowsDataset(4);
    expectThrows(() => new data.DataLoader(ds, { batchSize: 0 }), 'ERR_INVALID_ARGUMENT', /batchSize to be a positive integer.*0/);
    expectThrows(() => new data.DataLoader(ds, { batchSize: 2.5 }), 'ERR_INVALID_ARGUMENT', /batchSize/);
    expectThrows(() => new data.DataLoader(ds, { shuffle: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT', /shuffle to be a boolean/);
    expectThrows(() => new data.DataLoader(ds, { dropLast: 1 as unknown as boolean }), 'ERR_INVALID_ARGUMENT', /dropLast to be a boolean/);
    expectThrows(() => new data.DataLoader(ds, { seed: -1 }), 'ERR_INVALID_ARGUMENT', /seed to be a non-negative integer/);
    expectThrows(() => new data.DataLoader(ds, { batch_size: 4 } as never), 'ERR_INVALID_ARGUMENT', /unknown option 'batch_size'/);
    expectThrows(() => new data.DataLoader(ds, { device: 'tpu' as never }), 'ERR_DEVICE', /device/);
    expectThrows(() => new data.DataLoader(zeros([3]) as never), 'ERR_INVALID_ARGUMENT', /expected a TensorDataset/);
  });
});

describe('randomSplit', () => {
  const ids = (ds: data.TensorDataset): number[] => flat(ds.y);
  it('rounds fractions as torch.utils.data.random_split', () => {
    const sizes = (n: number, f: number[]): number[] => {
      const parts = data.randomSplit(rowsDataset(n), f, { seed: 0 });
      const s = parts.map((p) => p.length);
      parts.forEach((p) => p.dispose());
      return s;
    };
    expect(sizes(10, [0.8, 0.1, 0.1])).toEqual([8, 1, 1]);
    expect(sizes(11, [0.8, 0.1, 0.1])).toEqual([9, 1, 1]);
    expect(sizes(7, [0.5, 0.5])).toEqual([4, 3]);
    expect(sizes(13, [0.7, 0.15, 0.15])).toEqual([10, 2, 1]); // floors 9, 1, 1; remainder 2 → first two
    expect(sizes(10, [3, 3, 4])).toEqual([3, 3, 4]);
  });
  it('makes disjoint subsets covering every row, rows kept with their targets', () => {
    const ds = rowsDataset(25);
    const parts = data.randomSplit(ds, [0.6, 0.2, 0.2], { seed: 5 });
    const all = parts.flatMap(ids);
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    for (const p of parts) {
      const x = flat(p.x);
      ids(p).forEach((r, k) => expect(x[3 * k]).toBe(10 * r));
    }
    const again = data.randomSplit(ds, [0.6, 0.2, 0.2], { seed: 5 });
    expect(again.map(ids)).toEqual(parts.map(ids));
    expect(data.randomSplit(ds, [0.6, 0.2, 0.2], { seed: 6 }).map(ids)).not.toEqual(parts.map(ids));
    manualSeed(1);
    const g1 = data.randomSplit(ds, [0.5, 0.5]).map(ids);
    manualSeed(1);
    expect(data.randomSplit(ds, [0.5, 0.5]).map(ids)).toEqual(g1);
  });
  it('stratify keeps class proportions', () => {
    const labels: number[] = [];
    for (let i = 0; i < 100; i++) labels.push(i < 60 ? 0 : i < 90 ? 1 : 2);
    const ds = new data.TensorDataset(arange(0, 100), tensor(labels, { dtype: 'int32' }));
    const [train, test] = data.randomSplit(ds, [0.8, 0.2], { seed: 0, stratify: ds.y });
    const count = (p: data.TensorDataset): number[] => { const c = [0, 0, 0]; for (const v of flat(p.y)) c[v]++; return c; };
    expect(count(train)).toEqual([48, 24, 8]);
    expect(count(test)).toEqual([12, 6, 2]);
    // Uneven: 3 subsets, sizes exact, every class split as evenly as rounding allows.
    const parts = data.randomSplit(ds, [0.7, 0.15, 0.15], { seed: 1, stratify: ds.y });
    expect(parts.map((p) => p.length)).toEqual([70, 15, 15]);
    const counts = parts.map(count);
    for (let c = 0; c < 3; c++) expect(counts[0][c] + counts[1][c] + counts[2][c]).toBe([60, 30, 10][c]);
    expect(counts[0]).toEqual([42, 21, 7]);
    for (const k of [1, 2]) for (let c = 0; c < 3; c++) expect(Math.abs(counts[k][c] - [9, 4.5, 1.5][c])).toBeLessThanOrEqual(1);
    const all = parts.flatMap((p) => flat(p.x));
    expect(new Set(all).size).toBe(100);
  });
  it('validates', () => {
    const ds = rowsDataset(10);
    expectThrows(() => data.randomSplit(ds, [0.5, 0.3]), 'ERR_INVALID_ARGUMENT', /fractions summing to 1 or integer counts summing to 10/);
    expectThrows(() => data.randomSplit(ds, [3, 3]), 'ERR_INVALID_ARGUMENT', /sum to 6, expected the dataset length 10/);
    expectThrows(() => data.randomSplit(ds, [0.5, 0.5], { stratify: zeros([9]) }), 'ERR_SHAPE', /one per row/);
    expectThrows(() => data.randomSplit(ds, [0.5, 0.5], { seed: 1.5 }), 'ERR_INVALID_ARGUMENT', /seed/);
  });
});

describe('StandardScaler', () => {
  const x = tensor([[1, 10, 7], [3, 20, 7], [5, 60, 7], [7, 30, 7]]);
  it('matches the population formulas (ddof = 0), constant column → scale 1', () => {
    const s = new data.StandardScaler().fit(x);
    const col1 = [10, 20, 60, 30], m1 = 30;
    const sd1 = Math.sqrt(col1.reduce((a, v) => a + (v - m1) ** 2, 0) / 4);
    expect(s.mean).toEqual([4, 30, 7]);
    expect(s.std![0]).toBeCloseTo(Math.sqrt(5), 12);
    expect(s.std![1]).toBeCloseTo(sd1, 12);
    expect(s.std![2]).toBe(1);
    const z = s.transform(x).toArray() as number[][];
    const expected = [[1, 10, 7], [3, 20, 7], [5, 60, 7], [7, 30, 7]].map((r) => [(r[0] - 4) / Math.sqrt(5), (r[1] - 30) / sd1, 0]);
    z.forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));
    // Standardised columns: mean 0, population std 1.
    const zt = s.transform(x);
    expect(flat(zt.mean(0)).map((v) => Math.abs(v) < 1e-6)).toEqual([true, true, true]);
    expect(flat(zt.std(0, { unbiased: false })).slice(0, 2).map((v) => +v.toFixed(5))).toEqual([1, 1]);
  });
  it('inverseTransform, fitTransform and JSON round trips', () => {
    const s = new data.StandardScaler();
    const z = s.fitTransform(x);
    const back = flat(s.inverseTransform(z));
    flat(x).forEach((v, i) => expect(back[i]).toBeCloseTo(v, 4));
    const restored = data.StandardScaler.fromJSON(JSON.parse(JSON.stringify(s)));
    expect(flat(restored.transform(x))).toEqual(flat(z));
    const noMean = new data.StandardScaler({ withMean: false }).fit(x);
    expect(noMean.mean).toEqual([0, 0, 0]);
  });
  it('validates', () => {
    const s = new data.StandardScaler();
    expectThrows(() => s.transform(x), 'ERR_INVALID_ARGUMENT', /not fitted yet; call fit/);
    s.fit(x);
    expectThrows(() => s.transform(zeros([2, 4])), 'ERR_SHAPE', /3 features.*\[2, 4\]/);
    expectThrows(() => s.fit(zeros([0, 3])), 'ERR_SHAPE', /empty/);
    expectThrows(() => data.StandardScaler.fromJSON({ type: 'MinMaxScaler' }), 'ERR_FORMAT', /StandardScaler/);
  });
});

describe('MinMaxScaler', () => {
  const x = tensor([[1, -2, 5], [3, 0, 5], [5, 6, 5]]);
  it('[0, 1] as scikit-learn', () => {
    const s = new data.MinMaxScaler().fit(x);
    expect(s.dataMin).toEqual([1, -2, 5]);
    expect(s.dataMax).toEqual([5, 6, 5]);
    expect(s.transform(x).toArray()).toEqual([[0, 0, 0], [0.5, 0.25, 0], [1, 1, 0]]);
    expect(s.transform(tensor([[7, 10, 6]])).toArray()).toEqual([[1.5, 1.5, 1]]);
  });
  it('[-1, 1], clip, inverse and JSON', () => {
    const s = new data.MinMaxScaler({ range: [-1, 1] });
    expect(s.fitTransform(x).toArray()).toEqual([[-1, -1, -1], [0, -0.5, -1], [1, 1, -1]]);
    expect(flat(s.inverseTransform(s.transform(x)))).toEqual(flat(x).map((v, i) => (i % 3 === 2 ? 5 : v)));
    const clipped = new data.MinMaxScaler({ clip: true }).fit(x);
    expect(clipped.transform(tensor([[9, -10, 5]])).toArray()).toEqual([[1, 0, 0]]);
    const r = data.MinMaxScaler.fromJSON(JSON.parse(JSON.stringify(s)));
    expect(r.range).toEqual([-1, 1]);
    expect(flat(r.transform(x))).toEqual(flat(s.transform(x)));
  });
  it('validates', () => {
    expectThrows(() => new data.MinMaxScaler({ range: [1, 0] }), 'ERR_INVALID_ARGUMENT', /lo < hi/);
    expectThrows(() => new data.MinMaxScaler().inverseTransform(x), 'ERR_INVALID_ARGUMENT', /not fitted/);
  });
});

describe('OneHotEncoder and oneHot', () => {
  it('encodes sorted categories per column', () => {
    const enc = new data.OneHotEncoder();
    const rows = [['red', 'S'], ['blue', 'M'], ['red', 'L']];
    const t = enc.fitTransform(rows);
    expect(enc.categories).toEqual([['blue', 'red'], ['L', 'M', 'S']]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[0, 1, 0, 0, 1], [1, 0, 0, 1, 0], [0, 1, 1, 0, 0]]);
    expect(enc.featureNames(['color', 'size'])).toEqual(['color_blue', 'color_red', 'size_L', 'size_M', 'size_S']);
    expect(enc.inverseTransform(t)).toEqual(rows);
    const nums = new data.OneHotEncoder().fit([3, 1, 2, 10]);
    expect(nums.categories).toEqual([[1, 2, 3, 10]]);
    expect(nums.transform([10, 1]).toArray()).toEqual([[0, 0, 0, 1], [1, 0, 0, 0]]);
    expect(nums.transform(tensor([2], { dtype: 'int32' })).toArray()).toEqual([[0, 1, 0, 0]]);
  });
  it('unknown categories: error or ignore; JSON round trip', () => {
    const strict = new data.OneHotEncoder().fit(['a', 'b']);
    expectThrows(() => strict.transform(['c']), 'ERR_INVALID_ARGUMENT', /unknown category "c" in column 0.*handleUnknown: 'ignore'/);
    const lax = new data.OneHotEncoder({ handleUnknown: 'ignore' }).fit(['a', 'b']);
    expect(lax.transform(['c', 'b']).toArray()).toEqual([[0, 0], [0, 1]]);
    const back = data.OneHotEncoder.fromJSON(JSON.parse(JSON.stringify(lax)));
    expect(back.handleUnknown).toBe('ignore');
    expect(back.transform(['a']).toArray()).toEqual([[1, 0]]);
    expectThrows(() => new data.OneHotEncoder({ handleUnknown: 'skip' as never }), 'ERR_INVALID_ARGUMENT', /handleUnknown/);
    expectThrows(() => new data.OneHotEncoder().transform(['a']), 'ERR_INVALID_ARGUMENT', /not fitted/);
  });
  it('re-exports the core oneHot', () => {
    expect(data.oneHot(tensor([0, 2], { dtype: 'int32' }), 3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
  });
});

/** An IDX file: magic 0 0 type ndim, big-endian dims, big-endian values. */
function idxBytes(type: number, dims: number[], values: number[]): Buffer {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type]!;
  const b = Buffer.alloc(4 + 4 * dims.length + size * values.length);
  b[2] = type; b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  const o = 4 + 4 * dims.length;
  values.forEach((v, i) => {
    const at = o + i * size;
    if (type === 0x08) b.writeUInt8(v, at);
    else if (type === 0x09) b.writeInt8(v, at);
    else if (type === 0x0b) b.writeInt16BE(v, at);
    else if (type === 0x0c) b.writeInt32BE(v, at);
    else if (type === 0x0d) b.writeFloatBE(v, at);
    else b.writeDoubleBE(v, at);
  });
  return b;
}

describe('readIdx', () => {
  const img = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 11) % 256);
  it('reads ubyte images, plain and gzipped', () => {
    const plain = join(dir, 'images-idx3-ubyte');
    writeFileSync(plain, idxBytes(0x08, [2, 3, 4], img));
    writeFileSync(plain + '.gz', gzipSync(idxBytes(0x08, [2, 3, 4], img)));
    for (const p of [plain, plain + '.gz']) {
      const t = data.readIdx(p);
      expect(t.shape).toEqual([2, 3, 4]);
      expect(t.dtype).toBe('float32');
      expect(flat(t)).toEqual(img);
    }
    expect(data.readIdx(plain, { dtype: 'int32' }).dtype).toBe('int32');
  });
  it('reads every IDX type', () => {
    const cases: [number, number[], string][] = [
      [0x09, [-128, -1, 0, 127], 'float32'],
      [0x0b, [-32768, -2, 3, 32767], 'int32'],
      [0x0c, [-2147483648, -5, 6, 2147483647], 'int32'],
      [0x0d, [-1.5, 0.25, 3, 1e10], 'float32'],
      [0x0e, [Math.PI, -Math.E, 1e-300, 0], 'float64'],
    ];
    for (const [type, values, dtype] of cases) {
      const p = join(dir, `t${type}.idx`);
      writeFileSync(p, idxBytes(type, [2, 2], values));
      const t = data.readIdx(p);
      expect(t.shape).toEqual([2, 2]);
      expect(t.dtype).toBe(dtype);
      expect(flat(t)).toEqual(dtype === 'float32' ? Array.from(Float32Array.from(values)) : values);
    }
    const labels = join(dir, 'labels-idx1-ubyte');
    writeFileSync(labels, idxBytes(0x08, [5], [0, 9, 3, 3, 1]));
    expect(flat(data.readIdx(labels, { dtype: 'int32' }))).toEqual([0, 9, 3, 3, 1]);
  });
  it('malformed files are FormatErrors naming the problem', () => {
    const write = (name: string, bytes: Buffer): string => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
    const good = idxBytes(0x08, [2, 3, 4], img);
    const badMagic = Buffer.from(good); badMagic[0] = 0x12;
    expectThrows(() => data.readIdx(write('bad-magic', badMagic)), 'ERR_FORMAT', /bad magic number 0x12000803/);
    const badType = Buffer.from(good); badType[2] = 0x0a;
    expectThrows(() => data.readIdx(write('bad-type', badType)), 'ERR_FORMAT', /unknown IDX type byte 0x0a/);
    expectThrows(() => data.readIdx(write('truncated', good.subarray(0, good.length - 5))), 'ERR_FORMAT', /truncated.*\[2, 3, 4\].*24 bytes.*only 19/);
    expectThrows(() => data.readIdx(write('truncated-header', good.subarray(0, 10))), 'ERR_FORMAT', /truncated inside its header/);
    expectThrows(() => data.readIdx(write('short', Buffer.from([0, 0]))), 'ERR_FORMAT', /too short/);
    expectThrows(() => data.readIdx(write('long', Buffer.concat([good, Buffer.from([1, 2])]))), 'ERR_FORMAT', /2 bytes after/);
    expectThrows(() => data.readIdx(write('broken.gz', gzipSync(good).subarray(0, 20))), 'ERR_FORMAT', /gzip.*cannot be inflated/);
    expectThrows(() => data.readIdx(write('gz-bad-magic.gz', gzipSync(badMagic))), 'ERR_FORMAT', /bad magic/);
  });
});

describe('readCsv', () => {
  const csv = [
    'age,color,"note, free text",income,label',
    '31,red,"hello, world",1000.5,yes',
    '45,blue,"say ""hi""",2000,no',
    '',
    '22,"red","multi',
    'line",-3e2,yes',
    '60,green,plain,4,no',
  ].join('\r\n') + '\n';
  const path = join(dir, 'people.csv');
  writeFileSync(path, csv);
  it('parses numeric, one-hot categorical and quoted fields, with a categorical target', () => {
    const { x, y, columns, categories } = data.readCsv(path, { categorical: ['color', 'note, free text', 'label'], target: 'label' });
    expect(categories.color).toEqual(['blue', 'green', 'red']);
    expect(categories['note, free text']).toEqual(['hello, world', 'multi\r\nline', 'plain', 'say "hi"']);
    expect(categories.label).toEqual(['no', 'yes']);
    expect(columns.slice(0, 4)).toEqual(['age', 'color=blue', 'color=green', 'color=red']);
    expect(columns[columns.length - 1]).toBe('income');
    expect(x.shape).toEqual([4, 1 + 3 + 4 + 1]);
    expect(x.toArray()).toEqual([
      [31, 0, 0, 1, 1, 0, 0, 0, 1000.5],
      [45, 1, 0, 0, 0, 0, 0, 1, 2000],
      [22, 0, 0, 1, 0, 1, 0, 0, -300],
      [60, 0, 1, 0, 0, 0, 1, 0, 4],
    ]);
    expect(y!.dtype).toBe('int32');
    expect(flat(y!)).toEqual([1, 0, 1, 0]);
  });
  it('selects columns, index-encodes categories, reads a numeric target', () => {
    const r = data.readCsv(path, { columns: ['income', 'color'], categorical: ['color'], categoricalEncoding: 'index', target: 'age' });
    expect(r.columns).toEqual(['income', 'color']);
    expect(r.x.toArray()).toEqual([[1000.5, 2], [2000, 0], [-300, 2], [4, 1]]);
    expect(r.y!.dtype).toBe('float32');
    expect(flat(r.y!)).toEqual([31, 45, 22, 60]);
    expect(r.categories).toEqual({ color: ['blue', 'green', 'red'] });
  });
  it('no header, other delimiters, missing values', () => {
    const p = join(dir, 'plain.tsv');
    writeFileSync(p, '1\t2\t0\n3\t\t1\n5\tnan\t1\n');
    const r = data.readCsv(p, { header: false, delimiter: '\t', target: '2', targetDtype: 'int32', missing: 'nan' });
    expect(r.columns).toEqual(['0', '1']);
    expect(flat(r.x).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([1, 2, 3, 'NaN', 5, 'NaN']);
    expect(flat(r.y!)).toEqual([0, 1, 1]);
    expectThrows(() => data.readCsv(p, { header: false, delimiter: '\t' }), 'ERR_FORMAT', /row 2, column "1": an empty cell is not a number/);
  });
  it('a bad cell names its row (line of the file) and column', () => {
    const p = join(dir, 'bad.csv');
    writeFileSync(p, 'a,b,c\n1,2,3\n"x\ny",5,6\n7,oops,9\n');
    expectThrows(() => data.readCsv(p, { categorical: ['a'] }), 'ERR_FORMAT', /bad\.csv: row 5, column "b": the value "oops" is not a number/);
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1,2\n3\n');
    expectThrows(() => data.readCsv(ragged), 'ERR_FORMAT', /row 3 has 1 fields, expected 2/);
    const open = join(dir, 'open.csv');
    writeFileSync(open, 'a,b\n1,"2\n');
    expectThrows(() => data.readCsv(open), 'ERR_FORMAT', /row 2: a quoted field is not closed/);
    expectThrows(() => data.readCsv(path, { target: 'nope' }), 'ERR_INVALID_ARGUMENT', /column "nope", which .* does not have/);
    expectThrows(() => data.readCsv(path, { delimiter: ';;' }), 'ERR_INVALID_ARGUMENT', /delimiter/);
  });
});

describe('augment', () => {
  const { augment } = data;
  const img = (n: number, c: number, h: number, w: number): Tensor => tensor(Array.from({ length: n * c * h * w }, (_, i) => (i % 17) / 17), { shape: [n, c, h, w] });
  it('keeps shapes for [N, C, H, W] and [N, H, W], and leaves the input alone', () => {
    const transforms = [
      augment.randomHorizontalFlip(), augment.randomRotation({ degrees: 20 }), augment.randomNoise({ std: 0.1 }),
      augment.randomBrightness({ delta: 0.2 }), augment.randomScale({ min: 0.8, max: 1.2 }),
    ];
    for (const x of [img(3, 2, 5, 6), img(3, 1, 10, 3).reshape(3, 10, 3)]) {
      const before = flat(x);
      for (const t of [...transforms, augment.compose(transforms)]) {
        const out = t(x);
        expect(out.shape).toEqual(x.shape);
        expect(out.dtype).toBe(x.dtype);
      }
      expect(flat(x)).toEqual(before);
    }
  });
  it('is repeatable with a seed and with manualSeed, without moving the global generator', () => {
    const x = img(4, 1, 8, 8);
    const aug = augment.compose([augment.randomHorizontalFlip(), augment.randomRotation({ degrees: 30 }), augment.randomNoise({ std: 0.1 }), augment.randomScale({ min: 0.9, max: 1.1 })]);
    const state = getRngState();
    const a = flat(aug(x, { seed: 11 }));
    expect(getRngState()).toEqual(state);
    expect(flat(aug(x, { seed: 11 }))).toEqual(a);
    expect(flat(aug(x, { seed: 12 }))).not.toEqual(a);
    manualSeed(3);
    const b = flat(aug(x));
    manualSeed(3);
    expect(flat(aug(x))).toEqual(b);
  });
  it('flips exactly the drawn samples', () => {
    const x = tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]); // [2, 2, 3]
    expect(augment.randomHorizontalFlip({ p: 1 })(x).toArray()).toEqual([[[3, 2, 1], [6, 5, 4]], [[9, 8, 7], [12, 11, 10]]]);
    expect(augment.randomHorizontalFlip({ p: 0 })(x).toArray()).toEqual(x.toArray());
    const many = zeros([200, 1, 1, 2]).add(tensor([0, 1]));
    const out = augment.randomHorizontalFlip({ p: 0.5 })(many, { seed: 1 }).data();
    let flipped = 0;
    for (let i = 0; i < 200; i++) {
      const pair = [out[2 * i], out[2 * i + 1]];
      expect(pair[0] + pair[1]).toBe(1);
      if (pair[0] === 1) flipped++;
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
  });
  it('rotates about the centre, counter-clockwise, bilinear with zero fill', () => {
    const x = tensor([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]); // [1, 3, 3]
    expect(augment.randomRotation({ degrees: 0 })(x).toArray()).toEqual(x.toArray());
    const r90 = augment.randomRotation({ degrees: [90, 90] })(x).toArray() as number[][][];
    const rounded = r90[0].map((row) => row.map((v) => Math.round(v * 1e5) / 1e5));
    expect(rounded).toEqual([[3, 6, 9], [2, 5, 8], [1, 4, 7]]); // as numpy.rot90
    const r45 = augment.randomRotation({ degrees: [45, 45] })(x).data();
    expect(r45[4]).toBeCloseTo(5, 5); // the centre stays
    expect(r45[0]).toBeLessThan(2); // a corner reads partly outside → pulled toward 0
    const ones = zeros([1, 5, 5]).add(1);
    const rot = augment.randomRotation({ degrees: [30, 30] })(ones).data();
    expect(rot[12]).toBeCloseTo(1, 6);
    expect(Math.min(...rot)).toBeLessThan(1);
  });
  it('scale 1 is the identity; zooming out pads with zeros', () => {
    const x = img(2, 1, 6, 6);
    const same = flat(augment.randomScale({ min: 1, max: 1 })(x));
    flat(x).forEach((v, i) => expect(same[i]).toBeCloseTo(v, 6));
    const ones = zeros([1, 1, 9, 9]).add(1);
    const small = augment.randomScale({ min: 0.5, max: 0.5 })(ones).data();
    expect(small[4 * 9 + 4]).toBeCloseTo(1, 6);
    expect(small[0]).toBe(0);
    const big = augment.randomScale({ min: 2, max: 2 })(ones).data();
    expect(Math.min(...big)).toBeCloseTo(1, 6);
  });
  it('noise and brightness have the right statistics', () => {
    const x = zeros([8, 1, 32, 32]);
    const noisy = flat(augment.randomNoise({ std: 0.5 })(x, { seed: 2 }));
    const m = noisy.reduce((a, v) => a + v, 0) / noisy.length;
    const sd = Math.sqrt(noisy.reduce((a, v) => a + (v - m) ** 2, 0) / noisy.length);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.03);
    expect(flat(augment.randomNoise({ std: 0 })(x))).toEqual(flat(x));
    const bright = augment.randomBrightness({ delta: 0.3 })(x, { seed: 4 }).data();
    for (let i = 0; i < 8; i++) {
      const s = bright.subarray(i * 1024, (i + 1) * 1024);
      expect(Math.max(...s)).toBe(Math.min(...s)); // one offset per sample
      expect(Math.abs(s[0])).toBeLessThanOrEqual(0.3);
    }
  });
  it('validates', () => {
    expectThrows(() => augment.randomHorizontalFlip({ p: 2 }), 'ERR_INVALID_ARGUMENT', /p to be a number in \[0, 1\]/);
    expectThrows(() => augment.randomRotation({ degrees: -5 }), 'ERR_INVALID_ARGUMENT', /degrees/);
    expectThrows(() => augment.randomScale({ min: 2, max: 1 }), 'ERR_INVALID_ARGUMENT', /min ≤ max/);
    expectThrows(() => augment.randomNoise({ std: -1 }), 'ERR_INVALID_ARGUMENT', /std/);
    expectThrows(() => augment.randomBrightness({ delta: NaN }), 'ERR_INVALID_ARGUMENT', /delta/);
    expectThrows(() => augment.randomNoise({ std: 1 })(zeros([2, 3])), 'ERR_SHAPE', /\[N, C, H, W\] or \[N, H, W\], received \[2, 3\]/);
    expectThrows(() => augment.randomHorizontalFlip()(zeros([1, 2, 2], { dtype: 'int32' })), 'ERR_DTYPE', /int32/);
    expectThrows(() => augment.compose([1 as never]), 'ERR_INVALID_ARGUMENT', /transforms/);
  });
});

describe('datasets.spirals', () => {
  it('has the CS231n shape and classes, seeded', () => {
    const state = getRngState();
    const { x, y } = data.datasets.spirals({ samples: 300, classes: 3, noise: 0.2, seed: 0 });
    expect(getRngState()).toEqual(state);
    expect(x.shape).toEqual([300, 2]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    const labels = flat(y);
    expect([0, 1, 2].map((c) => labels.filter((v) => v === c).length)).toEqual([100, 100, 100]);
    const xs = flat(x);
    for (let i = 0; i < 300; i++) expect(Math.hypot(xs[2 * i], xs[2 * i + 1])).toBeLessThanOrEqual(1 + 1e-6);
    // Radius grows linearly within each class.
    expect(Math.hypot(xs[2 * 99], xs[2 * 99 + 1])).toBeCloseTo(1, 5);
    expect(flat(data.datasets.spirals({ samples: 300, seed: 0 }).x)).toEqual(xs);
    expect(flat(data.datasets.spirals({ samples: 300, seed: 1 }).x)).not.toEqual(xs);
    const d = data.datasets.spirals();
    expect(d.x.shape).toEqual([1000, 2]);
    expect(new Set(flat(d.y))).toEqual(new Set([0, 1, 2]));
    expect(flat(data.datasets.spirals({ samples: 10, classes: 4 }).y)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 3, 3]);
    const noiseless = flat(data.datasets.spirals({ samples: 2, classes: 1, noise: 0 }).x);
    expect(noiseless[2]).toBeCloseTo(Math.sin(4), 6);
    expect(noiseless[3]).toBeCloseTo(Math.cos(4), 6);
    expectThrows(() => data.datasets.spirals({ classes: 0 }), 'ERR_INVALID_ARGUMENT', /classes/);
  });
});

const FASHION = '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(join(FASHION, 'train-images-idx3-ubyte.gz')) || existsSync(join(FASHION, 'train-images-idx3-ubyte'));

describe('datasets.fashionMnist', () => {
  it('a missing folder or file says how to get it', () => {
    expectThrows(() => data.datasets.fashionMnist({ dir: join(dir, 'nowhere') }), 'ERR_INVALID_ARGUMENT', /does not exist.*apt-get install dataset-fashion-mnist.*\/usr\/share\/datasets\/fashion-mnist\/.*\{ dir \}/);
    expectThrows(() => data.datasets.fashionMnist({ dir }), 'ERR_INVALID_ARGUMENT', /cannot find train-images-idx3-ubyte\.gz or train-images-idx3-ubyte.*apt-get install dataset-fashion-mnist/);
  });
  it('reads a small folder of plain and gzipped files', () => {
    const f = join(dir, 'fm-small');
    mkdirSync(f);
    const pix = Array.from({ length: 3 * 784 }, (_, i) => i % 256);
    writeFileSync(join(f, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes(0x08, [3, 28, 28], pix)));
    writeFileSync(join(f, 'train-labels-idx1-ubyte'), idxBytes(0x08, [3], [9, 0, 4]));
    writeFileSync(join(f, 't10k-images-idx3-ubyte'), idxBytes(0x08, [1, 28, 28], pix.slice(0, 784)));
    writeFileSync(join(f, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes(0x08, [1], [7])));
    const { train, test } = data.datasets.fashionMnist({ dir: f });
    expect(train.x.shape).toEqual([3, 784]);
    expect(flat(train.y)).toEqual([9, 0, 4]);
    expect(train.x.data()[255]).toBe(1);
    expect(train.x.data()[51]).toBeCloseTo(0.2, 6);
    expect(test.x.shape).toEqual([1, 784]);
    expect(data.datasets.fashionMnist({ dir: f, flatten: false }).train.x.shape).toEqual([3, 1, 28, 28]);
    writeFileSync(join(f, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes(0x08, [2], [7, 1])));
    expectThrows(() => data.datasets.fashionMnist({ dir: f }), 'ERR_FORMAT', /expected \[1\] labels/);
  });
  it.skipIf(!haveFashion)(haveFashion ? `reads the installed dataset in ${FASHION}` : `reads the installed dataset (skipped: ${FASHION} is absent; apt-get install dataset-fashion-mnist)`, () => {
    const { train, test } = data.datasets.fashionMnist();
    expect(train.x.shape).toEqual([60000, 784]);
    expect(test.x.shape).toEqual([10000, 784]);
    expect(train.x.dtype).toBe('float32');
    expect(train.y.shape).toEqual([60000]);
    expect(test.y.dtype).toBe('int32');
    for (const y of [train.y, test.y]) {
      expect(y.min().item()).toBe(0);
      expect(y.max().item()).toBe(9);
    }
    expect(train.x.min().item()).toBe(0);
    expect(train.x.max().item()).toBe(1);
    const counts = new Array(10).fill(0);
    for (const v of test.y.data()) counts[v]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    for (const t of [train.x, train.y, test.x, test.y]) t.dispose();
  });
});

// A guard for the file: the random helpers must leave no shared state behind across suites.
it('rand still works after the data suites', () => {
  expect(rand([2]).shape).toEqual([2]);
});
