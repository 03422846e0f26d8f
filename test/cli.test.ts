// cli.test.ts — `entrena train` on the built-in spirals config writes its model, report, curves and
// history (and preprocess.json, so io.loadRun serves it); configs with unknown names are rejected with the valid choices; `info` describes the build.
import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../lib/ts/cli/main.js';
import * as E from '../lib/ts/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'entrena-cli-'));

describe('entrena CLI', () => {
  it('train (default spirals config) writes model.safetensors, report.html, curves.svg and history.json', async () => {
    const out = tmp();
    const code = await main(['train', '--epochs', '3', '--out', out, '--quiet']);
    expect(code).toBe(0);
    for (const f of ['model.safetensors', 'report.html', 'curves.svg', 'history.json', 'config.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
    expect(history.epochs.length).toBe(3);
    expect(history.epochs[2].valMetrics.accuracy).toBeGreaterThan(0.8);
    const { tensors } = E.io.readSafetensors(join(out, 'model.safetensors'));
    expect(Object.keys(tensors)).toContain('1.running_mean');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('test accuracy');
    // A run on built-in data loads with io.loadRun too: a pass-through preprocess, class indices as names.
    const run = E.io.loadRun(out);
    expect(run.classes).toEqual(['0', '1', '2']);
    const x = E.tensor([[0.1, 0.2], [-0.5, 0.3]]);
    const { predictions } = E.tidy(() => run.preprocess.decode(E.predict(run.model, x)));
    expect(predictions).toHaveLength(2);
    x.dispose();
    // evaluate reads the config and weights back and reproduces a test accuracy.
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['evaluate', join(out, 'config.json'), '--weights', join(out, 'model.safetensors')])).toBe(0);
      const r = JSON.parse(String(log.mock.calls.at(-1)![0]));
      expect(r.accuracy).toBeGreaterThan(0.8);
    } finally { log.mockRestore(); }
  });

  it('rejects unknown layers, options, commands and flags naming the valid choices', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const dir = tmp();
      const bad = (name: string, cfg: object) => { const p = join(dir, name); writeFileSync(p, JSON.stringify(cfg)); return p; };
      const base = { dataset: { name: 'spirals', samples: 300 }, loss: { type: 'CrossEntropyLoss' }, optimizer: { type: 'Adam' }, epochs: 1 };
      expect(await main(['train', bad('a.json', { ...base, model: [{ type: 'Linar' }] }), '--quiet', '--out', dir])).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/unknown layer type .*Linar.*valid choices: Linear/);
      expect(await main(['train', bad('b.json', { ...base, model: [{ type: 'Linear', in: 2, out: 3, size: 4 }] }), '--quiet', '--out', dir])).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/unknown option 'size'; valid options: in, out, bias, init/);
      expect(await main(['train', bad('c.json', { ...base, model: [{ type: 'Linear', in: 2, out: 3 }], optimizer: { type: 'Adamm' } }), '--quiet', '--out', dir])).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/unknown optimizer .*valid choices: SGD, Adam/);
      expect(await main(['train', bad('d.json', { ...base, model: [], extra: 1 }), '--quiet'])).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/unknown key 'extra'/);
      expect(await main(['fly'])).toBe(2);
      expect(await main(['train', '--bogus'])).toBe(2);
      expect(await main(['train', '--epochs', 'many', '--quiet'])).toBe(1);
    } finally { err.mockRestore(); }
  });

  it('info prints version, threads and CPU features', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['info'])).toBe(0);
      const i = JSON.parse(String(log.mock.calls.at(-1)![0]));
      expect(i.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(i.threads).toBeGreaterThanOrEqual(1);
      expect(typeof i.cpu.avx2).toBe('boolean');
    } finally { log.mockRestore(); }
  });
});
