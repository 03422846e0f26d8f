// cli_idx.test.ts — `entrena train` on the user's own IDX files (the MNIST layout: ubyte images
// [N, H, W] and labels [N], optionally gzipped) and `entrena predict --input` an IDX file: two
// classes of 4×4 images (a bright left half or a bright right half, with noise), the model sized
// from the data (16 features, 2 classes), min-max scaling saved in preprocess.json, predictions
// equal to io.loadRun + predict and to the labels.
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../lib/ts/cli/main.js';
import { parseCsv } from '../lib/ts/data/csv.js';
import * as E from '../lib/ts/index.js';

/** An IDX ubyte file of `dims` holding `values`. */
function idxBytes(dims: number[], values: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x00000800 | dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(values)]);
}
/** n images 4×4: label 0 has its left half bright, label 1 its right half; seeded noise. */
function images(n: number, seed: number): { pixels: number[]; labels: number[] } {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pixels: number[] = [], labels: number[] = [];
  for (let k = 0; k < n; k++) {
    const label = k % 2;
    labels.push(label);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
      const bright = (c < 2) === (label === 0);
      pixels.push(Math.round((bright ? 180 : 40) + rand() * 60));
    }
  }
  return { pixels, labels };
}

let errors: MockInstance;
beforeEach(() => { errors = vi.spyOn(console, 'error').mockImplementation(() => undefined); });
afterEach(() => errors.mockRestore());

describe('entrena train / predict on IDX files', () => {
  it('trains from gzipped IDX files, saves the scaling, and predicts an IDX file as io.loadRun + predict does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-idx-'));
    const train = images(120, 7), test = images(20, 99);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxBytes([120, 4, 4], train.pixels)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxBytes([120], train.labels)));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes([20, 4, 4], test.pixels));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([20], test.labels));
    const config = {
      name: 'halves',
      dataset: { idx: { trainImages: 'train-images-idx3-ubyte.gz', trainLabels: 'train-labels-idx1-ubyte.gz',
        testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte' }, validationSplit: 0.2 },
      optimizer: { type: 'Adam', lr: 0.01 }, epochs: 10, batchSize: 16, seed: 0,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const out = join(dir, 'run');
    expect(await main(['train', join(dir, 'config.json'), '--out', out, '--quiet'])).toBe(0);
    for (const f of ['model.safetensors', 'config.json', 'preprocess.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.model[0]).toMatchObject({ type: 'Linear', in: 16 });
    expect(saved.model.at(-1)).toMatchObject({ type: 'Linear', out: 2 });
    const pre = JSON.parse(readFileSync(join(out, 'preprocess.json'), 'utf8'));
    expect(pre.task).toBe('classification');
    expect(pre.scaler.type).toBe('MinMaxScaler');

    const preds = join(dir, 'preds.csv');
    expect(await main(['predict', out, '--input', join(dir, 't10k-images-idx3-ubyte'), '--output', preds])).toBe(0);
    const rows = parseCsv(readFileSync(preds, 'utf8')).map((r) => r.fields);
    expect(rows.length).toBe(21);
    const run = E.io.loadRun(out);
    const x = run.preprocess.transform(E.tensor(test.pixels, { shape: [20, 16] }));
    const { predictions } = E.tidy(() => run.preprocess.decode(E.predict(run.model, x)));
    x.dispose();
    expect(rows.slice(1).map((r) => r[0])).toEqual(predictions.map(String));
    // The two halves are easy: every test image is classified right.
    expect(predictions.map(Number)).toEqual(test.labels);
  });
});
