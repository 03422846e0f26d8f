// _common.mjs — small helpers shared by the examples (argument flags, the output folder, data
// subsets, charts). Not an example itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { data, report, manualSeed, tidy, keep, indexSelect, tensor } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** `--smoke` (tiny sizes, a few seconds: used by the tests) and `--full` (longer, closer to the paper numbers). */
export function flags(argv = process.argv.slice(2)) {
  const smoke = argv.includes('--smoke');
  const full = !smoke && argv.includes('--full');
  return { smoke, full, mode: smoke ? 'smoke' : full ? 'full' : 'default' };
}

/** Picks a size by mode: pick({ smoke: 200, default: 2000, full: 60000 }). */
export function pick(f, sizes) {
  return sizes[f.mode] ?? sizes.default;
}

/** runs/examples/ under the repository root (created), whatever the working directory. */
export function outDir() {
  const dir = process.env.ENTRENA_EXAMPLES_OUT ?? resolve(here, '..', 'runs', 'examples');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function outPath(name) {
  return join(outDir(), name);
}

/**
 * A stratified-free subset of Fashion-MNIST: the first `train` training images and the first
 * `test` test images (the files are already shuffled), optionally restricted to some classes.
 * Returns { train: { x, y }, test: { x, y } } as fresh contiguous tensors.
 */
let cached = null;
export function fashion({ train = 2000, test = 1000, classes = null } = {}) {
  cached ??= data.datasets.fashionMnist();
  const take = (split, n) => {
    const y = split.y.data();
    const rows = [];
    for (let i = 0; i < y.length && rows.length < n; i++) if (!classes || classes.includes(y[i])) rows.push(i);
    return tidy(() => {
      const idx = tensor(Int32Array.from(rows), { dtype: 'int32' });
      return { x: keep(indexSelect(split.x, 0, idx)), y: keep(indexSelect(split.y, 0, idx)) };
    });
  };
  return { train: take(cached.train, train), test: take(cached.test, test) };
}

/** Several SVG charts (strings from report.lineChart) stacked in one SVG file. */
export function writeCharts(path, charts, { width = 560, height = 320, columns = 1 } = {}) {
  const rows = Math.ceil(charts.length / columns);
  const body = charts.map((c, i) => {
    const x = (i % columns) * width, y = Math.floor(i / columns) * height;
    return `<g transform="translate(${x} ${y})">${c.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '')}</g>`;
  }).join('\n');
  const W = columns * width, H = rows * height;
  writeFileSync(path, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">\n${body}\n</svg>\n`);
  return path;
}

export const chart = report.lineChart;

/** Prints rows (objects) as an aligned text table. */
export function printTable(rows, columns = Object.keys(rows[0] ?? {})) {
  const cell = (v) => (typeof v === 'number' ? (Number.isInteger(v) && Math.abs(v) < 1e6 ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4)) : String(v));
  const w = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  console.log(columns.map((c, i) => c.padEnd(w[i])).join('  '));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(columns.map((c, i) => cell(r[c]).padEnd(w[i])).join('  '));
}

export function seed(s = 0) {
  manualSeed(s);
}

export function seconds(t0) {
  return ((performance.now() - t0) / 1000).toFixed(1);
}
