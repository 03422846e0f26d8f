/** history.ts — what `fit` returns: one log per epoch, and why training stopped. */
import type { EpochLog } from './types.js';

export class History {
  epochs: EpochLog[] = [];
  /** 'completed', 'earlyStopping', 'nan', 'aborted' or a callback's own reason. */
  stopReason = 'completed';
  /** Free-form values callbacks attach (the GradientMonitor's statistics, the LR finder's sweep). */
  extras: Record<string, unknown> = {};

  /** The series of one value across epochs ('loss', 'valLoss', 'lr', or a metric such as 'accuracy' / 'valAccuracy'). */
  series(key: string): number[] {
    return this.epochs.map((e) => valueOf(e, key));
  }
  /** The last epoch's log. */
  get last(): EpochLog | undefined {
    return this.epochs[this.epochs.length - 1];
  }
  toJSON(): { epochs: EpochLog[]; stopReason: string } {
    return { epochs: this.epochs, stopReason: this.stopReason };
  }
  static fromJSON(j: { epochs: EpochLog[]; stopReason?: string }): History {
    const h = new History();
    h.epochs = j.epochs.map((e) => ({ ...e }));
    h.stopReason = j.stopReason ?? 'completed';
    return h;
  }
}

/** Reads 'loss', 'valLoss', 'lr', 'seconds', a metric name, or 'val' + Metric from a log. */
export function valueOf(e: EpochLog, key: string): number {
  if (key === 'loss' || key === 'valLoss' || key === 'lr' || key === 'seconds' || key === 'epoch') return (e[key] as number | undefined) ?? NaN;
  if (key in e.metrics) return e.metrics[key];
  if (key.startsWith('val') && e.valMetrics) {
    const m = key[3].toLowerCase() + key.slice(4);
    if (m in e.valMetrics) return e.valMetrics[m];
  }
  return NaN;
}
