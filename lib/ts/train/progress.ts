/**
 * progress.ts — training progress: on a TTY a one-line bar rewritten in place (batch, loss,
 * metrics, samples/s, ETA); otherwise one plain line per epoch; nothing when disabled.
 */
import type { Metric } from './metrics.js';
import type { EpochLog } from './types.js';

export class Progress {
  private readonly tty: boolean;
  private epoch = 0;
  private epochs = 0;
  private total?: number;
  private start = 0;
  private lastDraw = 0;
  constructor(private readonly enabled: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = enabled && !!stream.isTTY;
  }
  startEpoch(epoch: number, epochs: number, total?: number): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.total = total;
    this.start = performance.now();
  }
  batch(done: number, samples: number, loss: number, metrics: Metric[]): void {
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && done !== this.total) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const rate = samples / Math.max(secs, 1e-9);
    let bar = '';
    let eta = '';
    if (this.total) {
      const width = 24, filled = Math.round((width * done) / this.total);
      bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}] `;
      eta = ` ETA ${Math.max(0, ((this.total - done) * secs) / done).toFixed(0)}s`;
    }
    const m = metrics.length ? ' ' + metrics.map((x) => `${x.name} ${safe(() => x.compute())}`).join(' ') : '';
    this.stream.write(`\r\x1b[2Kepoch ${this.epoch + 1}/${this.epochs} ${bar}${done}${this.total ? '/' + this.total : ''} loss ${loss.toFixed(4)}${m} ${rate.toFixed(0)} samples/s${eta}`);
  }
  endEpoch(log: EpochLog): void {
    if (!this.enabled) return;
    const parts = [`epoch ${log.epoch + 1}/${this.epochs}`, `loss ${log.loss.toFixed(4)}`];
    for (const [k, v] of Object.entries(log.metrics)) parts.push(`${k} ${v.toFixed(4)}`);
    if (log.valLoss !== undefined) parts.push(`valLoss ${log.valLoss.toFixed(4)}`);
    for (const [k, v] of Object.entries(log.valMetrics ?? {})) parts.push(`val ${k} ${v.toFixed(4)}`);
    parts.push(`lr ${log.lr.toPrecision(3)}`, `${log.seconds.toFixed(1)}s`);
    this.stream.write((this.tty ? '\r\x1b[2K' : '') + parts.join('  ') + '\n');
  }
  done(): void {}
}

function safe(f: () => number): string {
  try { return f().toFixed(4); } catch { return '-'; }
}
