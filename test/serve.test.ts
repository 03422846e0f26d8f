// serve.test.ts — examples/serve.mjs: a run trained from a CSV file by `entrena train` (the compiled
// CLI, in a child process) is served on 127.0.0.1, port 0; 20 concurrent requests are answered
// with the same predictions as io.loadRun + predict and fewer forward passes than requests
// (batching); bad requests get 400 with the reason and the service keeps serving. Everything here
// runs the compiled dist/ (one copy of the library per process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireDist, root } from './helpers/dist.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Lib = any;
let lib: Lib;
let server: Server & { stats: { requests: number; batches: number } };
let base = '';
let runDir = '';
const rows = [
  [6.48, 31.52, 'air'], [20.16, 62.58, 'land'], [1.5, 9, 'water'], [5, 28, 'land'], [21, 58, 'air'],
  [2.2, 7.5, 'water'], [4.1, 33, 'air'], [19.5, 60, 'land'], [1.1, 5.5, 'water'], [6, 26, 'land'],
];

beforeAll(async () => {
  requireDist();
  const dir = mkdtempSync(join(tmpdir(), 'entrena-serve-'));
  copyFileSync(join(root, 'test', 'fixtures', 'csv', 'animals.csv'), join(dir, 'animals.csv'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    name: 'animals', dataset: { csv: { train: 'animals.csv', target: 'kind', categorical: ['habitat'] }, validationSplit: 0.2 },
    optimizer: { type: 'Adam', lr: 0.01 }, epochs: 3, batchSize: 16, seed: 0,
  }));
  runDir = join(dir, 'run');
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'train', join(dir, 'config.json'), '--out', runDir, '--quiet'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  lib = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const { createServer } = await import(pathToFileURL(join(root, 'examples', 'serve.mjs')).href);
  server = createServer(runDir, { windowMs: 20 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const post = async (body: unknown) => {
  const res = await fetch(`${base}/predict`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
};

/** The predictions of io.loadRun + predict on the same rows. */
function expected(rs: unknown[][]): { predictions: string[]; probabilities: number[][] } {
  const run = lib.io.loadRun(runDir);
  const x = run.preprocess.transform(rs);
  const r = lib.tidy(() => run.preprocess.decode(lib.predict(run.model, x), { proba: true }));
  x.dispose();
  return r;
}

describe('examples/serve.mjs', () => {
  it('answers 20 concurrent requests as predict does, batching them into fewer forward passes', async () => {
    const want = expected(rows);
    const before = { ...server.stats };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const rs = [rows[i % rows.length], rows[(i + 3) % rows.length]];
      // Half the requests send objects keyed by column name, half arrays in column order.
      const body = i % 2 ? rs.map(([weight, height, habitat]) => ({ weight, height, habitat })) : rs;
      return post({ rows: body, proba: true }).then((r) => ({ i, ...r }));
    }));
    for (const { i, status, json } of answers) {
      expect(status).toBe(200);
      const k = [i % rows.length, (i + 3) % rows.length];
      expect(json.predictions).toEqual(k.map((j) => want.predictions[j]));
      json.probabilities.forEach((p: number[], r: number) => p.forEach((v, c) => expect(v).toBeCloseTo(want.probabilities[k[r]][c], 6)));
    }
    expect(server.stats.requests - before.requests).toBe(20);
    expect(server.stats.batches - before.batches).toBeLessThan(20);
    // Without "proba" only the predictions come back.
    const plain = await post({ rows: [rows[2]] });
    expect(plain).toEqual({ status: 200, json: { predictions: [want.predictions[2]] } });
  });

  it('answers bad requests with 400 and the reason, and keeps serving', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"rows": [[1, 2', /malformed JSON/],
      [{ rows: [[1, 2]] }, /row 0: expected 3 values \(weight, height, habitat\), received 2/],
      [{ rows: [[1, 'NaN', 'land']] }, /row 0, column "height": NaN, which is not a finite number/],
      [{ rows: [[1, null, 'land']] }, /row 0, column "height": a missing value/],
      [{ rows: [[1, 2, 'moon']] }, /row 0, column "habitat": unknown category "moon" \(known: "air", "land", "water"\)/],
      [{ rows: [{ weight: 1, height: 2 }] }, /row 0: missing column "habitat"/],
      [{ rows: [] }, /at least one row/],
      [{ data: [[1, 2, 'land']] }, /expected a JSON object \{ "rows": \[\.\.\.\] \}/],
    ];
    for (const [body, reason] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(reason);
      expect(typeof r.json.code).toBe('string');
    }
    const ok = await post({ rows: [rows[0], rows[1]] });
    expect(ok.status).toBe(200);
    expect(ok.json.predictions).toEqual(expected([rows[0], rows[1]]).predictions);
    const health = await (await fetch(`${base}/health`)).json();
    expect(health).toMatchObject({ ok: true, task: 'classification', columns: ['weight', 'height', 'habitat'], classes: ['cat', 'dog', 'fish, small'] });
  });
});
