// eventloop.test.ts (stress) — a Node HTTP server trains with fit() while a client sends requests
// every 10 ms: every request is answered, and the event-loop delay p99 during training
// (perf_hooks.monitorEventLoopDelay) stays under 50 ms. The figures are printed.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';

const server = join(import.meta.dirname, 'eventloop_server.mjs');
const dist = join(import.meta.dirname, '..', '..', 'dist', 'index.js');

function request(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/status', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

describe.skipIf(!existsSync(dist))('event loop under training', () => {
  it('answers every request during fit(); event-loop delay p99 < 50 ms', async () => {
    // The machines are shared: a neighbour's compile can stall this process for 100 ms. A p99 over
    // the bound is measured once more before it counts as a failure (both figures are printed).
    let r = await measure();
    if (r.p99 >= 50) r = await measure();
    expect(r.p99).toBeLessThan(50);
  });
});

async function measure(): Promise<{ p99: number }> {
    const p = spawn(process.execPath, [server, process.env.ENTRENA_EVENTLOOP_EPOCHS ?? '6'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    let onLine: (() => void) | null = null;
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); onLine?.(); }
    });
    const waitFor = (pred: () => boolean) => new Promise<void>((r) => { if (pred()) r(); else onLine = () => { if (pred()) r(); }; });
    await waitFor(() => lines.length >= 1);
    const port = lines[0].port as number;
    const latencies: number[] = [];
    const failures: string[] = [];
    let sent = 0;
    const timer = setInterval(() => {
      sent++;
      request(port).then((ms) => latencies.push(ms), (e) => failures.push(String(e)));
    }, 10);
    await waitFor(() => lines.some((l) => l.done));
    clearInterval(timer);
    await new Promise((r) => setTimeout(r, 300));
    const result = lines.find((l) => l.done)!;
    latencies.sort((a, b) => a - b);
    const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
    console.log(`event loop: ${result.steps} training steps in ${(result.seconds as number).toFixed(1)} s; event-loop delay p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms; ` +
      `${latencies.length}/${sent} requests answered (${result.answeredDuring} during training), latency p50 ${q(0.5)?.toFixed(1)} ms, p99 ${q(0.99)?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`);
    expect(failures).toEqual([]);
    expect(latencies.length).toBe(sent);
    expect(result.answeredDuring as number).toBeGreaterThan(50);
    await new Promise((r) => p.once('exit', r));
    return { p99: result.p99 as number };
}
