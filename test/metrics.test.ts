// metrics.test.ts — metric values against hand-computed (scikit-learn convention) answers.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

const { metrics } = E;

describe('classification metrics', () => {
  // y_true = [0, 1, 2, 2, 1, 0], y_pred = [0, 2, 2, 2, 1, 1]
  const yTrue = E.tensor([0, 1, 2, 2, 1, 0], { dtype: 'int32' });
  const yPred = E.tensor([0, 2, 2, 2, 1, 1], { dtype: 'int32' });
  it('accuracy from labels and from logits', () => {
    expect(metrics.accuracy(yPred, yTrue)).toBeCloseTo(4 / 6, 12);
    const logits = E.oneHot(yPred, 3).mul(5);
    expect(metrics.accuracy(logits, yTrue)).toBeCloseTo(4 / 6, 12);
  });
  it('confusion matrix: rows true, columns predicted', () => {
    expect(metrics.confusionMatrix(yPred, yTrue)).toEqual([[1, 1, 0], [0, 1, 1], [0, 0, 2]]);
  });
  it('precision, recall, f1 macro and micro (sklearn values)', () => {
    // per class precision: 1, 0.5, 0.6667; recall: 0.5, 0.5, 1
    expect(metrics.precision(yPred, yTrue)).toBeCloseTo((1 + 0.5 + 2 / 3) / 3, 10);
    expect(metrics.recall(yPred, yTrue)).toBeCloseTo((0.5 + 0.5 + 1) / 3, 10);
    const f = [2 * 0.5 / 1.5, 0.5, 2 * (2 / 3) / (5 / 3)];
    expect(metrics.f1(yPred, yTrue)).toBeCloseTo((f[0] + f[1] + f[2]) / 3, 10);
    expect(metrics.f1(yPred, yTrue, { average: 'micro' })).toBeCloseTo(4 / 6, 10);
  });
  it('binary ROC AUC with ties (sklearn: 0.75 for this case)', () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    expect(metrics.rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    // ties: roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875
    expect(metrics.rocAuc([0.5, 0.5, 0.2, 0.9], [0, 1, 0, 1])).toBeCloseTo(0.875, 12);
    expect(() => metrics.rocAuc([0.1, 0.2], [1, 1])).toThrow(/both positive and negative/);
  });
  it('binary probabilities are thresholded at 0.5', () => {
    expect(metrics.accuracy(E.tensor([0.2, 0.7, 0.9, 0.4]), E.tensor([0, 1, 0, 0]))).toBeCloseTo(0.75, 12);
  });
  it('mismatched lengths throw ERR_SHAPE', () => {
    expect(() => metrics.accuracy([1, 2], [1])).toThrow(expect.objectContaining({ code: 'ERR_SHAPE' }));
  });
});

describe('regression metrics', () => {
  const p = [2.5, 0.0, 2, 8], t = [3, -0.5, 2, 7];
  it('mae, mse, rmse, r2 (sklearn docs example)', () => {
    expect(metrics.mae(p, t)).toBeCloseTo(0.5, 12);
    expect(metrics.mse(p, t)).toBeCloseTo(0.375, 12);
    expect(metrics.rmse(p, t)).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(metrics.r2(p, t)).toBeCloseTo(0.9486081370449679, 12);
  });
  it('mape in percent with eps guard', () => {
    expect(metrics.mape([110, 190], [100, 200])).toBeCloseTo(7.5, 10);
    expect(Number.isFinite(metrics.mape([1], [0]))).toBe(true);
  });
  it('streaming metric equals the one-shot value', () => {
    const m = metrics.metric('mae');
    m.update(E.tensor([2.5, 0.0]), E.tensor([3, -0.5]));
    m.update(E.tensor([2, 8]), E.tensor([2, 7]));
    expect(m.compute()).toBeCloseTo(0.5, 6);
    expect(() => metrics.metric('nope' as never)).toThrow(/unknown metric/);
  });
});
