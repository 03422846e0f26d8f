// cli_csv.test.ts — `entrena train` on the user's own CSV data and `entrena predict`: a
// classification (a categorical feature column, string class names, one with a comma) and a
// regression, through the CLI entry point; the predictions written by `predict` equal
// io.loadRun + predict in code; bad inputs (missing target, unknown category, wrong column count,
// NaN) fail with coded errors naming the row and the column. Fixtures: test/fixtures/csv (make.mjs).
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../lib/ts/cli/main.js';
import { inferTask } from '../lib/ts/cli/tabular.js';
import { parseCsv } from '../lib/ts/data/csv.js';
import * as E from '../lib/ts/index.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'csv');
/** A fresh folder holding the fixtures and the given config (the config's paths are relative to it). */
function workdir(config: object): { dir: string; cfg: string } {
  const dir = mkdtempSync(join(tmpdir(), 'entrena-csv-'));
  for (const f of ['animals.csv', 'animals_new.csv', 'prices.csv']) copyFileSync(join(fixtures, f), join(dir, f));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { dir, cfg: join(dir, 'config.json') };
}
const readCsvText = (text: string) => parseCsv(text).map((r) => r.fields);

const animals = {
  name: 'animals',
  dataset: { csv: { train: 'animals.csv', target: 'kind', categorical: ['habitat'] }, validationSplit: 0.2, scale: 'standard' },
  optimizer: { type: 'Adam', lr: 0.01 }, epochs: 8, batchSize: 16, seed: 0,
};
const prices = {
  name: 'prices',
  dataset: { csv: { train: 'prices.csv', target: 'price', categorical: ['district'] }, validationSplit: 0.15, testSplit: 0.15, scale: 'minmax' },
  optimizer: { type: 'Adam', lr: 0.01 }, epochs: 60, batchSize: 16, seed: 0,
};

let errors: MockInstance;
beforeEach(() => { errors = vi.spyOn(console, 'error').mockImplementation(() => undefined); });
afterEach(() => errors.mockRestore());
const lastError = () => String(errors.mock.calls.at(-1)?.[0]);

describe('entrena train / predict on CSV data', () => {
  it('classification: infers the task, sizes the model, saves preprocess.json; predict --proba matches io.loadRun + predict', async () => {
    const { dir, cfg } = workdir(animals);
    const out = join(dir, 'run');
    expect(await main(['train', cfg, '--out', out, '--quiet'])).toBe(0);
    for (const f of ['model.safetensors', 'config.json', 'preprocess.json', 'history.json', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.model[0]).toMatchObject({ type: 'Linear', in: 5 });           // weight, height + 3 habitats one-hot
    expect(saved.model.at(-1)).toMatchObject({ type: 'Linear', out: 3 });      // 3 classes
    expect(saved.loss).toEqual({ type: 'CrossEntropyLoss' });
    expect(saved.dataset.csv.train).toBe(join(dir, 'animals.csv'));            // absolute: the run stands alone
    const pre = JSON.parse(readFileSync(join(out, 'preprocess.json'), 'utf8'));
    expect(pre).toMatchObject({ task: 'classification', target: 'kind', columns: ['weight', 'height', 'habitat'], classes: ['cat', 'dog', 'fish, small'] });
    expect(pre.features).toEqual(['weight', 'height', 'habitat=air', 'habitat=land', 'habitat=water']);
    expect(pre.scaler.type).toBe('StandardScaler');
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    expect(history.epochs.at(-1).valMetrics.accuracy).toBeGreaterThan(0.9);

    const preds = join(dir, 'preds.csv');
    expect(await main(['predict', out, '--input', join(dir, 'animals_new.csv'), '--output', preds, '--proba'])).toBe(0);
    const rows = readCsvText(readFileSync(preds, 'utf8'));
    expect(rows[0]).toEqual(['kind', 'prob_cat', 'prob_dog', 'prob_fish, small']);
    expect(rows.length).toBe(13);

    const run = E.io.loadRun(out);
    expect(run.classes).toEqual(['cat', 'dog', 'fish, small']);
    const x = run.preprocess.transformCsv(join(dir, 'animals_new.csv'));
    expect(x.shape).toEqual([12, 5]);
    const { predictions, probabilities } = E.tidy(() => run.preprocess.decode(E.predict(run.model, x), { proba: true }));
    x.dispose();
    expect(rows.slice(1).map((r) => r[0])).toEqual(predictions);
    rows.slice(1).forEach((r, i) => r.slice(1).forEach((p, j) => expect(Number(p)).toBe(probabilities![i][j])));
    // The fixture's new rows are the first 12 training rows: kinds cycle cat, dog, fish.
    expect(predictions).toEqual(Array.from({ length: 12 }, (_, i) => ['cat', 'dog', 'fish, small'][i % 3]));
    // Objects keyed by column name give the same input as arrays in column order.
    const a = run.preprocess.transform([[6.48, 31.52, 'air']]), b = run.preprocess.transform([{ height: 31.52, habitat: 'air', weight: 6.48 }]);
    expect(Array.from(a.data())).toEqual(Array.from(b.data()));
    a.dispose(); b.dispose();
  });

  it('regression: MSELoss and one output; predict to stdout matches io.loadRun + predict', async () => {
    const { dir, cfg } = workdir(prices);
    const out = join(dir, 'run');
    expect(await main(['train', cfg, '--out', out, '--quiet'])).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.loss).toEqual({ type: 'MSELoss' });
    expect(saved.model[0].in).toBe(5);
    expect(saved.model.at(-1).out).toBe(1);
    const pre = JSON.parse(readFileSync(join(out, 'preprocess.json'), 'utf8'));
    expect(pre).toMatchObject({ task: 'regression', classes: null, scaler: { type: 'MinMaxScaler' } });
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    expect(history.epochs.at(-1).valMetrics.r2).toBeGreaterThan(0.9);

    let text = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { text += String(s); return true; });
    try { expect(await main(['predict', out, '--input', join(dir, 'prices.csv')])).toBe(0); } finally { write.mockRestore(); }
    const rows = readCsvText(text);
    expect(rows[0]).toEqual(['price']);
    const run = E.io.loadRun(out);
    const x = run.preprocess.transformCsv(join(dir, 'prices.csv'));   // the target column present in the file is ignored
    const { predictions } = E.tidy(() => run.preprocess.decode(E.predict(run.model, x)));
    x.dispose();
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(predictions);
    const truth = readCsvText(readFileSync(join(dir, 'prices.csv'), 'utf8')).slice(1).map((r) => Number(r[3]));
    const mae = truth.reduce((s, t, i) => s + Math.abs(t - (predictions[i] as number)), 0) / truth.length;
    expect(mae).toBeLessThan(10);                                          // prices span ~40–290
    expect(await main(['predict', out, '--input', join(dir, 'prices.csv'), '--proba'])).toBe(1);
    expect(lastError()).toMatch(/--proba needs a classification run/);
  });

  it('bad inputs fail with coded errors naming the row and column', async () => {
    const { dir } = workdir(animals);
    const cfg = (name: string, c: object) => { const p = join(dir, name); writeFileSync(p, JSON.stringify(c)); return p; };
    // Missing target column.
    expect(await main(['train', cfg('t1.json', { ...animals, dataset: { csv: { train: 'animals.csv', target: 'species' } } }), '--out', join(dir, 'x'), '--quiet'])).toBe(1);
    expect(lastError()).toMatch(/the target column "species" is not a column of .*animals\.csv \(columns: weight, height, habitat, kind\).*\(ERR_FORMAT\)/);
    // Unknown option of dataset.csv, listing the valid ones.
    expect(await main(['train', cfg('t2.json', { ...animals, dataset: { csv: { train: 'animals.csv', target: 'kind', catgorical: [] } } }), '--quiet'])).toBe(1);
    expect(lastError()).toMatch(/unknown option 'catgorical'; valid options: train, validation, test, target, categorical, columns, task/);
    // A non-number in a numeric training column.
    writeFileSync(join(dir, 'bad_train.csv'), 'weight,height,habitat,kind\n1,2,land,cat\n3,tall,air,dog\n');
    expect(await main(['train', cfg('t3.json', { ...animals, dataset: { csv: { train: 'bad_train.csv', target: 'kind', categorical: ['habitat'] }, validationSplit: 0 } }), '--quiet', '--out', join(dir, 'y')])).toBe(1);
    expect(lastError()).toMatch(/bad_train\.csv: row 3, column "height": the value "tall", which is not a number \(ERR_FORMAT\)/);

    const out = join(dir, 'run');
    expect(await main(['train', cfg('good.json', animals), '--out', out, '--quiet', '--epochs', '2'])).toBe(0);
    const predictOn = async (name: string, text: string) => { writeFileSync(join(dir, name), text); return main(['predict', out, '--input', join(dir, name)]); };
    expect(await predictOn('p1.csv', 'weight,height,habitat\n5,30,land\n5,30,sea\n')).toBe(1);
    expect(lastError()).toMatch(/p1\.csv: row 3, column "habitat": unknown category "sea" \(known: "air", "land", "water"\) \(ERR_FORMAT\)/);
    expect(await predictOn('p2.csv', 'weight,height,habitat\n5,30,land\n5,30\n')).toBe(1);
    expect(lastError()).toMatch(/p2\.csv: row 3 has 2 fields, expected 3 .*\(ERR_SHAPE\)/);
    expect(await predictOn('p3.csv', 'weight,height,habitat\n5,NaN,land\n')).toBe(1);
    expect(lastError()).toMatch(/row 2, column "height": NaN, which is not a finite number \(ERR_FORMAT\)/);
    expect(await predictOn('p4.csv', 'weight,habitat\n5,land\n')).toBe(1);
    expect(lastError()).toMatch(/missing column "height" .*\(ERR_FORMAT\)/);
    expect(await main(['predict', out])).toBe(1);
    expect(lastError()).toMatch(/--input data\.csv is required/);
    expect(await main(['predict', join(dir, 'nowhere'), '--input', join(dir, 'p1.csv')])).toBe(1);
    expect(lastError()).toMatch(/config\.json is missing .*\(ERR_IO\)/);

    // The same checks in code, on rows.
    const { preprocess } = E.io.loadRun(out);
    const code = (f: () => unknown) => { try { f(); } catch (e) { return [(e as E.EntrenaError).code, (e as Error).message]; } return ['no error']; };
    expect(code(() => preprocess.transform([[1, 2]]))).toEqual(['ERR_SHAPE', 'row 0: expected 3 values (weight, height, habitat), received 2']);
    expect(code(() => preprocess.transform([[1, 2, 'land'], [1, NaN, 'land']]))[0]).toBe('ERR_FORMAT');
    expect(code(() => preprocess.transform([{ weight: 1, height: 2 }]))).toEqual(['ERR_FORMAT', 'row 0: missing column "habitat"']);
    expect(code(() => preprocess.transform([{ weight: 1, height: 2, habitat: 'land', wings: 2 }]))[1]).toMatch(/unknown column "wings"/);
    expect(code(() => preprocess.transform([[1, 2, 'moon']]))[1]).toMatch(/unknown category "moon"/);
  });

  it('infers the task from the target column', () => {
    expect(inferTask(['cat', 'dog', 'cat'])).toBe('classification');
    expect(inferTask(['0', '1', '1', '0'])).toBe('classification');                       // few distinct integers
    expect(inferTask(['1.5', '2', '3'])).toBe('regression');                              // fractional values
    expect(inferTask(Array.from({ length: 100 }, (_, i) => String(i * 7)))).toBe('regression'); // many distinct integers
    expect(inferTask(['1', '2', '3', '4'])).toBe('regression');                           // as many values as rows
  });
});
