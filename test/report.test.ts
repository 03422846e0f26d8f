// report.test.ts — the SVG learning curves and the HTML report; the page is rendered in headless
// Chromium (Debian's `chromium`), screenshotted, and the PNG is checked for the curves' pixels.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as E from '../lib/ts/index.js';

function sampleHistory(): E.History {
  const h = new E.History();
  for (let e = 0; e < 12; e++) {
    h.epochs.push({
      epoch: e, loss: 2 * Math.exp(-e / 4) + 0.1, valLoss: 2 * Math.exp(-e / 5) + 0.2,
      metrics: { accuracy: 1 - Math.exp(-e / 3) * 0.9 }, valMetrics: { accuracy: 1 - Math.exp(-e / 3.5) * 0.9 },
      lr: 1e-3 * 0.9 ** e, seconds: 1.5,
    });
  }
  h.extras.gradientMonitor = Array.from({ length: 12 }, (_, e) => [
    { name: '0 (Linear)', gradNorm: 1e-4 * (e + 1), activationMean: 0.1, activationStd: 1, saturated: 0.2, dead: 0 },
    { name: '2 (Linear)', gradNorm: 1e-1, activationMean: 0, activationStd: 0.5, saturated: 0, dead: 0.1 },
  ]);
  return h;
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG into RGBA pixels (enough for Chromium's screenshots). */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let pos = 8, width = 0, height = 0, colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); colorType = data[9]; expect(data[8]).toBe(8); }
    if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride), cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
      let p = 0;
      if (f === 1) p = a; else if (f === 2) p = b; else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) { const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c); p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      cur[x] = (v + p) & 255;
    }
    for (let x = 0; x < width; x++) for (let k = 0; k < 4; k++) out[(y * width + x) * 4 + k] = k < bpp ? cur[x * bpp + k] : 255;
    prev.set(cur);
  }
  return { width, height, rgba: out };
}

describe('report', () => {
  it('learningCurves writes an SVG with one polyline per series', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-report-'));
    const svg = E.report.learningCurves(sampleHistory(), join(dir, 'curves.svg'));
    expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toBe(svg);
    const lines = svg.match(/<polyline class="series" data-name="([^"]+)"/g) ?? [];
    expect(lines.map((l) => l.replace(/.*data-name="([^"]+)"/, '$1'))).toEqual(['train loss', 'validation loss', 'train accuracy', 'validation accuracy', 'learning rate']);
    // Twelve epochs: each polyline has twelve points.
    const pts = /data-name="train loss"[^>]*points="([^"]+)"/.exec(svg)![1].trim().split(' ');
    expect(pts.length).toBe(12);
    expect(() => E.report.learningCurves({} as never, 'x.svg')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('html is self-contained and holds curves, confusion matrix, gradient heat map and hyper-parameters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-report-'));
    const page = E.report.html(sampleHistory(), join(dir, 'report.html'), {
      hyperParameters: { lr: 0.001, optimizer: 'Adam' }, confusionMatrix: [[5, 1], [2, 7]], classNames: ['cat', 'dog'],
    });
    expect(page).not.toMatch(/<script|src=|href="http/);
    expect(page).toContain('Confusion matrix');
    expect(page).toContain('Gradient norms per layer');
    expect(page).toContain('optimizer');
    expect((page.match(/<polyline class="series"/g) ?? []).length).toBe(5);
  });

  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  it.skipIf(!chromium)(`renders in headless Chromium with the curves drawn${chromium ? '' : ' (skipped: Debian chromium is not installed — apt-get install chromium)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-report-'));
    const html = join(dir, 'report.html');
    E.report.html(sampleHistory(), html);
    const png = join(dir, 'shot.png');
    const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--hide-scrollbars', '--window-size=1300,1400',
      `--screenshot=${png}`, `file://${html}`], { timeout: 60_000, encoding: 'utf8' });
    expect(existsSync(png), `chromium produced no screenshot: ${r.stderr}`).toBe(true);
    const img = decodePng(readFileSync(png));
    // Count pixels of the first two series colours (#1f77b4 blue, #ff7f0e orange) and of the page.
    let blue = 0, orange = 0;
    for (let i = 0; i < img.width * img.height; i++) {
      const [rr, g, b] = [img.rgba[i * 4], img.rgba[i * 4 + 1], img.rgba[i * 4 + 2]];
      if (Math.abs(rr - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40) blue++;
      if (Math.abs(rr - 0xff) < 30 && Math.abs(g - 0x7f) < 40 && Math.abs(b - 0x0e) < 40) orange++;
    }
    expect(blue).toBeGreaterThan(300);
    expect(orange).toBeGreaterThan(200);
  });
});
