/**
 * report — learning curves as SVG and a self-contained HTML report of a training run: curves,
 * confusion matrix, the GradientMonitor's per-layer heat map, hyper-parameters and timings.
 * Everything is inline (no scripts, no external assets), so the page opens anywhere, offline.
 */
import { writeFileSync } from 'node:fs';
import { checkOptions } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { History } from '../train/history.js';
import type { LayerStats } from '../train/callbacks.js';
import { escapeXml, heatMap, lineChart, type Series } from './svg.js';

export { lineChart, heatMap } from './svg.js';

function checkHistory(h: unknown, where: string): History {
  if (!(h instanceof History) && !(h && Array.isArray((h as History).epochs))) throw new ArgumentError(`${where}: expected a History (what fit returns), received ${describe(h)}`);
  return h instanceof History ? h : History.fromJSON(h as History);
}

/** The charts of a history: loss (train/validation), each metric, and the learning rate. */
export function curveCharts(history: History): string[] {
  const e = history.epochs;
  const charts: string[] = [];
  const loss: Series[] = [{ name: 'train loss', values: e.map((x) => x.loss) }];
  if (e.some((x) => x.valLoss !== undefined)) loss.push({ name: 'validation loss', values: e.map((x) => x.valLoss ?? NaN), dashed: true });
  charts.push(lineChart(loss, { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' }));
  const names = [...new Set(e.flatMap((x) => Object.keys(x.metrics)))];
  for (const n of names) {
    const s: Series[] = [{ name: `train ${n}`, values: e.map((x) => x.metrics[n] ?? NaN) }];
    if (e.some((x) => x.valMetrics && n in x.valMetrics)) s.push({ name: `validation ${n}`, values: e.map((x) => x.valMetrics?.[n] ?? NaN), dashed: true });
    charts.push(lineChart(s, { title: n, xLabel: 'epoch', yLabel: n }));
  }
  charts.push(lineChart([{ name: 'learning rate', values: e.map((x) => x.lr) }], { title: 'Learning rate', xLabel: 'epoch', yLabel: 'lr', logY: e.every((x) => x.lr > 0) }));
  return charts;
}

/**
 * Writes the learning curves (loss, metrics, learning rate per epoch) as one SVG file.
 * @example report.learningCurves(history, 'runs/curves.svg')
 */
export function learningCurves(history: History, path: string): string {
  const h = checkHistory(history, 'report.learningCurves');
  if (typeof path !== 'string' || !path) throw new ArgumentError(`report.learningCurves: expected a file path, received ${describe(path)}`);
  const charts = curveCharts(h);
  // Stack the charts vertically in one SVG document.
  const H = 320;
  const body = charts.map((c, i) => `<g transform="translate(0 ${i * H})">${c.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '')}</g>`).join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 560 ${charts.length * H}" width="560" height="${charts.length * H}">\n${body}\n</svg>\n`;
  writeFileSync(path, svg);
  return svg;
}

export interface HtmlReportOptions {
  title?: string;
  /** Hyper-parameters and settings to list (any JSON-serialisable values). */
  hyperParameters?: Record<string, unknown>;
  /** A confusion matrix (rows true, columns predicted) and optional class names. */
  confusionMatrix?: number[][];
  classNames?: string[];
  /** Free-form figures (test accuracy, samples/s). */
  summary?: Record<string, string | number>;
}

/**
 * Writes a self-contained HTML page: curves, confusion matrix, the gradient-monitor heat map
 * (when the history carries one), hyper-parameters and timings.
 * @example report.html(history, 'runs/report.html', { hyperParameters: { lr: 1e-3 } })
 */
export function html(history: History, path: string, options: HtmlReportOptions = {}): string {
  options = checkOptions<typeof options>(options, 'report.html', ['title', 'hyperParameters', 'confusionMatrix', 'classNames', 'summary']);
  const h = checkHistory(history, 'report.html');
  if (typeof path !== 'string' || !path) throw new ArgumentError(`report.html: expected a file path, received ${describe(path)}`);
  const title = options.title ?? 'entrena training report';
  const sections: string[] = [];
  const total = h.epochs.reduce((s, e) => s + e.seconds, 0);
  const last = h.last;
  const summary: Record<string, string | number> = {
    epochs: h.epochs.length,
    'stopped because': h.stopReason,
    'total time (s)': total.toFixed(1),
    ...(last ? { 'final loss': last.loss.toFixed(4) } : {}),
    ...(last?.valLoss !== undefined ? { 'final validation loss': last.valLoss.toFixed(4) } : {}),
    ...options.summary,
  };
  sections.push(`<section><h2>Summary</h2>${table(Object.entries(summary))}</section>`);
  sections.push(`<section><h2>Learning curves</h2><div class="charts">${curveCharts(h).join('\n')}</div></section>`);
  if (options.confusionMatrix) {
    const names = options.classNames ?? options.confusionMatrix.map((_, i) => String(i));
    sections.push(`<section><h2>Confusion matrix</h2><p>rows: true class, columns: predicted class</p>${heatMap(options.confusionMatrix, { rowLabels: names, colLabels: names })}</section>`);
  }
  const gm = h.extras.gradientMonitor as LayerStats[][] | undefined;
  if (gm && gm.length) {
    // Rows for the layers that have parameters (the others have no gradient norm).
    const rows = gm[0].map((l, i) => [l.name, i] as const).filter(([, i]) => gm.some((ep) => Number.isFinite(ep[i]?.gradNorm)));
    const layers = rows.map(([n]) => n);
    const matrix = rows.map(([, li]) => gm.map((ep) => ep[li]?.gradNorm ?? NaN));
    sections.push(`<section><h2>Gradient norms per layer and epoch</h2><p>Vanishing gradients show as norms shrinking towards the first layers; exploding ones as norms growing.</p>${heatMap(matrix, { rowLabels: layers, colLabels: gm.map((_, i) => `epoch ${i + 1}`), log: true })}
      <h3>Last epoch</h3>${table(gm[gm.length - 1].map((l) => [l.name, [
        Number.isFinite(l.gradNorm) ? `grad ${l.gradNorm.toExponential(2)}` : '',
        `activation mean ${l.activationMean.toFixed(3)} std ${l.activationStd.toFixed(3)}`,
        Number.isFinite(l.saturated) ? `saturated ${(100 * l.saturated).toFixed(1)}%` : '',
        Number.isFinite(l.dead) ? `dead ${(100 * l.dead).toFixed(1)}%` : '',
      ].filter(Boolean).join(' · ')]))}</section>`);
  }
  if (options.hyperParameters) sections.push(`<section><h2>Hyper-parameters</h2>${table(Object.entries(options.hyperParameters).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))}</section>`);
  sections.push(`<section><h2>Epochs</h2>${epochTable(h)}</section>`);
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
</style></head>
<body><h1>${escapeXml(title)}</h1>
${sections.join('\n')}
</body></html>
`;
  writeFileSync(path, page);
  return page;
}

function table(rows: [string, unknown][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><td>${escapeXml(String(k))}</td><td>${escapeXml(String(v))}</td></tr>`).join('')}</table>`;
}

function epochTable(h: History): string {
  const metricNames = [...new Set(h.epochs.flatMap((e) => Object.keys(e.metrics)))];
  const head = ['epoch', 'loss', 'valLoss', ...metricNames, ...metricNames.map((m) => 'val ' + m), 'lr', 'seconds'];
  const rows = h.epochs.map((e) => [e.epoch + 1, e.loss, e.valLoss, ...metricNames.map((m) => e.metrics[m]), ...metricNames.map((m) => e.valMetrics?.[m]), e.lr, e.seconds]
    .map((v) => (v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v))));
  return `<table><tr>${head.map((x) => `<th>${escapeXml(x)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
}
