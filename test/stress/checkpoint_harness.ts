// checkpoint_harness.ts — shared by the checkpoint durability tests (the fast variant in
// test/reliability_checkpoint.test.ts and the long one in test/stress/checkpoint.test.ts). The
// child processes are test/stress/ckpt_child.mjs, running on the compiled dist/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export const child = join(import.meta.dirname, 'ckpt_child.mjs');
export const distReady = existsSync(join(root, 'dist', 'index.js'));
export const tmp = () => mkdtempSync(join(tmpdir(), 'entrena-ckpt-'));

export function run(args: string[]): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts a writer, waits until it has reported `minSaves` checkpoints, waits `delayMs` more and
 * SIGKILLs it. Returns the last epoch it reported saved (the file must hold that one or a later one).
 */
export function killWriter(path: string, minSaves: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, 'writer', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = 0, buf = '', armed = false, err = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = [...buf.matchAll(/saved (\d+)/g)];
      if (m.length) last = Number(m[m.length - 1][1]);
      if (!armed && last >= minSaves) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal} before the kill: ${err}`));
      else resolve(last);
    });
  });
}

/** Runs `kills` kill-and-verify rounds on one checkpoint path; returns the epochs found. */
export async function killRounds(kills: number, seed = 1): Promise<{ epochs: number[]; leftovers: number; failures: string[] }> {
  const dir = tmp();
  const path = join(dir, 'ckpt.safetensors');
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const epochs: number[] = [], failures: string[] = [];
  for (let k = 0; k < kills; k++) {
    const last = await killWriter(path, 1 + Math.floor(rnd() * 4), Math.floor(rnd() * 25));
    const v = run(['verify', path]);
    const m = /intact (\d+)/.exec(v.stdout);
    if (!m) failures.push(`kill ${k}: ${v.stdout.trim() || v.stderr.trim()}`);
    else if (Number(m[1]) < last) failures.push(`kill ${k}: the file holds epoch ${m[1]}, but epoch ${last} was reported saved`);
    else epochs.push(Number(m[1]));
  }
  // Temporary files of writes cut short by the kill (they never replace the checkpoint).
  const leftovers = readdirSync(dir).filter((f) => f !== 'ckpt.safetensors').length;
  rmSync(dir, { recursive: true, force: true });
  return { epochs, leftovers, failures };
}

/** Mounts a tmpfs of `size` at a fresh folder; null (with the reason) when that is not possible. */
export function tinyTmpfs(size = '64k'): { dir: string; unmount: () => void } | { reason: string } {
  const dir = tmp();
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return { reason: `mount -t tmpfs failed: ${(m.stderr || m.error?.message || '').trim()}` };
  return { dir, unmount: () => { spawnSync('umount', [dir]); rmSync(dir, { recursive: true, force: true }); } };
}

/** Trains uninterrupted, then crash-at-(epoch, batch) + resume; true when the weights are bit-for-bit equal. */
export function resumeMatches(epochs: number, crashEpoch: number, crashBatch: number): { equal: boolean; detail: string } {
  const dir = tmp();
  const a = join(dir, 'a'), b = join(dir, 'b');
  mkdirSync(a); mkdirSync(b);
  const full = run(['train', a, 'full', String(epochs)]);
  if (full.status !== 0) return { equal: false, detail: `full run failed: ${full.stderr}` };
  const crash = run(['train', b, 'crash', String(epochs), String(crashEpoch), String(crashBatch)]);
  if (crash.signal !== 'SIGKILL') return { equal: false, detail: `the crash run was not killed (${crash.status}): ${crash.stderr}` };
  const resume = run(['train', b, 'resume', String(epochs)]);
  if (resume.status !== 0) return { equal: false, detail: `resume failed: ${resume.stderr}` };
  const wa = readFileSync(join(a, 'final.bin')), wb = readFileSync(join(b, 'final.bin'));
  const equal = wa.equals(wb);
  const detail = `full: ${full.stdout.trim()}\nresumed: ${resume.stdout.trim()}`;
  rmSync(dir, { recursive: true, force: true });
  return { equal, detail };
}
