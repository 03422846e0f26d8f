/**
 * metrics.ts — evaluation metrics, as plain functions over (prediction, target) and as streaming
 * `Metric` objects that `fit` and `evaluate` update batch by batch.
 *
 * Classification predictions may be logits or probabilities [N, C] (argmax is taken), binary
 * probabilities [N] or [N, 1] (thresholded at 0.5), or class indices (int32 [N]). Targets are
 * class indices (int32 or integral floats) or one-hot / probability rows [N, C] (argmax is taken).
 * Formulas follow scikit-learn (macro averages ignore classes absent from both prediction and
 * target only where sklearn does: precision/recall of a class with no predicted/true samples is 0).
 */
import { checkOptions } from '../check.js';
import { ArgumentError, ShapeError, describe } from '../errors.js';
import { Tensor } from '../tensor.js';
import { argmax } from '../ops/reduce.js';

type Values = Float64Array;

function host(t: Tensor | ArrayLike<number>): Values {
  if (t instanceof Tensor) return Float64Array.from(t.data() as ArrayLike<number>);
  if (t && typeof (t as ArrayLike<number>).length === 'number') return Float64Array.from(t as ArrayLike<number>);
  throw new ArgumentError(`metrics: expected a Tensor or an array of numbers, received ${describe(t)}`);
}

/** Class indices from logits/probabilities/one-hot rows, binary probabilities, or indices. */
export function toLabels(t: Tensor | ArrayLike<number>, threshold = 0.5): Values {
  if (t instanceof Tensor) {
    if (t.ndim === 2 && t.shape[1] > 1) {
      const idx = argmax(t, 1);
      const v = host(idx);
      idx.dispose();
      return v;
    }
    const v = host(t);
    if (t.dtype !== 'int32' && v.some((x) => x !== Math.round(x))) return v.map((x) => (x >= threshold ? 1 : 0));
    return v;
  }
  return host(t);
}

function sameLength(a: Values, b: Values, where: string): void {
  if (a.length !== b.length) throw new ShapeError(`${where}: prediction has ${a.length} samples, target has ${b.length}`);
}

/**
 * Fraction of samples whose predicted class equals the target class.
 * @example accuracy(logits, labels) // 0.93
 */
export function accuracy(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const p = toLabels(prediction), t = toLabels(target);
  sameLength(p, t, 'accuracy');
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === t[i]) ok++;
  return p.length ? ok / p.length : NaN;
}

/**
 * Confusion matrix: rows are true classes, columns predicted classes (as sklearn).
 * @example confusionMatrix(pred, target, 3) // [[5, 0, 1], ...]
 */
export function confusionMatrix(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, numClasses?: number): number[][] {
  const p = toLabels(prediction), t = toLabels(target);
  sameLength(p, t, 'confusionMatrix');
  const k = numClasses ?? Math.max(0, ...Array.from(p), ...Array.from(t)) + 1;
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < p.length; i++) {
    if (t[i] < 0 || t[i] >= k || p[i] < 0 || p[i] >= k) throw new ArgumentError(`confusionMatrix: class ${t[i]} or ${p[i]} is outside [0, ${k})`);
    m[t[i]][p[i]]++;
  }
  return m;
}

type Average = 'macro' | 'micro';
function prf(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, average: Average) {
  const m = confusionMatrix(prediction, target);
  const k = m.length;
  let tpSum = 0, fpSum = 0, fnSum = 0;
  const per: { p: number; r: number; f: number }[] = [];
  for (let c = 0; c < k; c++) {
    const tp = m[c][c];
    let fp = 0, fn = 0;
    for (let j = 0; j < k; j++) {
      if (j !== c) { fp += m[j][c]; fn += m[c][j]; }
    }
    tpSum += tp; fpSum += fp; fnSum += fn;
    const p = tp + fp ? tp / (tp + fp) : 0, r = tp + fn ? tp / (tp + fn) : 0;
    per.push({ p, r, f: p + r ? (2 * p * r) / (p + r) : 0 });
  }
  if (average === 'micro') {
    const p = tpSum + fpSum ? tpSum / (tpSum + fpSum) : 0, r = tpSum + fnSum ? tpSum / (tpSum + fnSum) : 0;
    return { p, r, f: p + r ? (2 * p * r) / (p + r) : 0 };
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return { p: mean(per.map((x) => x.p)), r: mean(per.map((x) => x.r)), f: mean(per.map((x) => x.f)) };
}

function checkAverage(options: { average?: Average }, where: string): Average {
  const a = checkOptions<{ average?: Average }>(options, where, ['average']).average ?? 'macro';
  if (a !== 'macro' && a !== 'micro') throw new ArgumentError(`${where}: expected average 'macro' or 'micro', received ${describe(a)}`);
  return a;
}

/** Precision, macro-averaged over classes by default. */
export function precision(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, options: { average?: Average } = {}): number {
  return prf(prediction, target, checkAverage(options, 'precision')).p;
}
/** Recall, macro-averaged by default. */
export function recall(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, options: { average?: Average } = {}): number {
  return prf(prediction, target, checkAverage(options, 'recall')).r;
}
/** F1 score, macro-averaged by default (`{ average: 'micro' }` for micro). @example f1(logits, labels) */
export function f1(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, options: { average?: Average } = {}): number {
  return prf(prediction, target, checkAverage(options, 'f1')).f;
}

/**
 * Area under the ROC curve for binary targets, from scores (probabilities or logits), with ties
 * handled by the trapezoid rule (as sklearn.metrics.roc_auc_score).
 */
export function rocAuc(scores: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const s = scores instanceof Tensor && scores.ndim === 2 && scores.shape[1] === 2
    ? host(scores).filter((_, i) => i % 2 === 1) : host(scores);
  const t = toLabels(target);
  sameLength(s, t, 'rocAuc');
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
  const pos = t.reduce((n, v) => n + (v === 1 ? 1 : 0), 0), neg = t.length - pos;
  if (!pos || !neg) throw new ArgumentError('rocAuc: needs both positive and negative targets');
  let tp = 0, fp = 0, prevTp = 0, prevFp = 0, area = 0;
  for (let i = 0; i < order.length; i++) {
    if (t[order[i]] === 1) tp++; else fp++;
    if (i === order.length - 1 || s[order[i + 1]] !== s[order[i]]) {
      area += ((fp - prevFp) * (tp + prevTp)) / 2;
      prevTp = tp; prevFp = fp;
    }
  }
  return area / (pos * neg);
}

function regression(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>, where: string): [Values, Values] {
  const p = host(prediction), t = host(target);
  sameLength(p, t, where);
  return [p, t];
}
/** Mean absolute error. */
export function mae(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const [p, t] = regression(prediction, target, 'mae');
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i] - t[i]);
  return s / p.length;
}
/** Mean squared error. */
export function mse(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const [p, t] = regression(prediction, target, 'mse');
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (p[i] - t[i]) ** 2;
  return s / p.length;
}
/** Root mean squared error. */
export function rmse(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  return Math.sqrt(mse(prediction, target));
}
/** Mean absolute percentage error, in percent: mean(|y − ŷ| / max(|y|, eps)) · 100 (eps = 1e-8). */
export function mape(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const [p, t] = regression(prediction, target, 'mape');
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(t[i] - p[i]) / Math.max(Math.abs(t[i]), 1e-8);
  return (s / p.length) * 100;
}
/** Coefficient of determination R² = 1 − SS_res / SS_tot. */
export function r2(prediction: Tensor | ArrayLike<number>, target: Tensor | ArrayLike<number>): number {
  const [p, t] = regression(prediction, target, 'r2');
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  let res = 0, tot = 0;
  for (let i = 0; i < p.length; i++) { res += (t[i] - p[i]) ** 2; tot += (t[i] - mean) ** 2; }
  return tot === 0 ? (res === 0 ? 1 : 0) : 1 - res / tot;
}

// ---- streaming metrics for fit/evaluate ------------------------------------------------------

/** A metric accumulated over batches: `update` per batch, `compute` at the end of an epoch. */
export interface Metric {
  readonly name: string;
  update(prediction: Tensor, target: Tensor): void;
  compute(): number;
  reset(): void;
}

const classification = { accuracy, precision, recall, f1 } as const;
const regressionFns = { mae, mse, rmse, mape, r2 } as const;
export type MetricName = keyof typeof classification | keyof typeof regressionFns | 'rocAuc';

/** A streaming metric by name: the epoch's predictions are kept on the host (labels only for classification). */
export function metric(name: MetricName): Metric {
  const isClass = name in classification;
  const isReg = name in regressionFns;
  if (!isClass && !isReg && name !== 'rocAuc')
    throw new ArgumentError(`metric: unknown metric ${describe(name)}; expected one of ${[...Object.keys(classification), ...Object.keys(regressionFns), 'rocAuc'].join(', ')}`);
  let preds: number[] = [], targets: number[] = [];
  return {
    name,
    update(prediction, target) {
      const p = isClass ? toLabels(prediction) : name === 'rocAuc' ? host(prediction) : host(prediction);
      const t = isClass || name === 'rocAuc' ? toLabels(target) : host(target);
      for (const v of p) preds.push(v);
      for (const v of t) targets.push(v);
    },
    compute() {
      if (isClass) return classification[name as keyof typeof classification](preds, targets);
      if (name === 'rocAuc') return rocAuc(preds, targets);
      return regressionFns[name as keyof typeof regressionFns](preds, targets);
    },
    reset() { preds = []; targets = []; },
  };
}
