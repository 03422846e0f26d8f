/**
 * svg.ts — small, dependency-free SVG line charts and heat maps for the training reports.
 * Charts are plain SVG 1.1 (viewBox, polylines, text), so they render in any browser and embed
 * directly into the HTML report.
 */

import { checkOptions } from '../check.js';

export interface Series { name: string; values: number[]; color?: string; dashed?: boolean }

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

/**
 * A line chart of one or more series against x = 1…n (epochs), with axes, ticks and a legend.
 * `logY` plots log10 of positive values (learning rates, loss sweeps).
 */
export function lineChart(series: Series[], options: { title?: string; xLabel?: string; yLabel?: string; width?: number; height?: number; logY?: boolean; x?: number[] } = {}): string {
  options = checkOptions<typeof options>(options, 'lineChart', ['title', 'xLabel', 'yLabel', 'width', 'height', 'logY', 'x']);
  const W = options.width ?? 560, H = options.height ?? 320;
  const m = { l: 64, r: 16, t: options.title ? 34 : 14, b: 44 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const tr = (v: number) => (options.logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const all = series.flatMap((s) => s.values.map(tr)).filter((v) => Number.isFinite(v));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const xs = options.x ?? Array.from({ length: n }, (_, i) => i + 1);
  let ylo = all.length ? Math.min(...all) : 0, yhi = all.length ? Math.max(...all) : 1;
  if (ylo === yhi) { ylo -= 0.5; yhi += 0.5; }
  const pad = (yhi - ylo) * 0.05;
  ylo -= pad; yhi += pad;
  const xlo = Math.min(...xs), xhi = Math.max(...xs) === xlo ? xlo + 1 : Math.max(...xs);
  const X = (v: number) => m.l + ((v - xlo) / (xhi - xlo)) * pw;
  const Y = (v: number) => m.t + ph - ((v - ylo) / (yhi - ylo)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  if (options.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const t of niceTicks(ylo, yhi)) {
    if (t < ylo || t > yhi) continue;
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end">${options.logY ? fmt(10 ** t) : fmt(t)}</text>`);
  }
  for (const t of niceTicks(xlo, xhi, Math.min(10, n))) {
    if (t < xlo || t > xhi) continue;
    parts.push(`<text x="${X(t).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle">${options.x ? fmt(t) : t}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (options.xLabel) parts.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) parts.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.values.map((v, k) => [xs[k], tr(v)] as const).filter(([, v]) => Number.isFinite(v));
    if (!pts.length) return;
    const d = pts.map(([x, v]) => `${X(x).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`);
    if (pts.length === 1) parts.push(`<circle cx="${X(pts[0][0]).toFixed(1)}" cy="${Y(pts[0][1]).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = m.t + 14 + i * 15;
    parts.push(`<line x1="${m.l + pw - 150}" x2="${m.l + pw - 130}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${m.l + pw - 126}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** A heat map of a matrix (rows × columns) with labels and values, colour by value. */
export function heatMap(matrix: number[][], options: { title?: string; rowLabels?: string[]; colLabels?: string[]; cell?: number; log?: boolean } = {}): string {
  options = checkOptions<typeof options>(options, 'heatMap', ['title', 'rowLabels', 'colLabels', 'cell', 'log']);
  const rows = matrix.length, cols = rows ? matrix[0].length : 0;
  const cell = options.cell ?? 36;
  const left = options.rowLabels ? 150 : 30, top = (options.title ? 30 : 8) + (options.colLabels ? 60 : 10);
  const W = left + cols * cell + 10, H = top + rows * cell + 10;
  const tr = (v: number) => (options.log ? Math.log10(Math.max(v, 1e-12)) : v);
  const vals = matrix.flat().map(tr).filter(Number.isFinite);
  const lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
  const color = (v: number) => {
    const t = hi > lo ? (tr(v) - lo) / (hi - lo) : 0.5;
    if (!Number.isFinite(t)) return '#ccc';
    const r = Math.round(255 - t * 200), g = Math.round(255 - t * 120), b = 255;
    return `rgb(${r},${g},${b})`;
  };
  const p: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="10">`];
  if (options.title) p.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  options.colLabels?.forEach((l, j) => p.push(`<text transform="translate(${left + j * cell + cell / 2} ${top - 6}) rotate(-45)">${escapeXml(l)}</text>`));
  matrix.forEach((row, i) => {
    if (options.rowLabels) p.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 3}" text-anchor="end">${escapeXml(options.rowLabels[i] ?? '')}</text>`);
    row.forEach((v, j) => {
      p.push(`<rect class="cell" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${color(v)}" stroke="#fff"/>`);
      p.push(`<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 3}" text-anchor="middle">${fmt(v)}</text>`);
    });
  });
  p.push('</svg>');
  return p.join('\n');
}
