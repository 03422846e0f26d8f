// reliability_checkpoint.test.ts — checkpoint durability, the fast variant (the long one, with
// dozens of kills and several crash points, is test/stress/checkpoint.test.ts):
//   - a child process saving checkpoints in a loop is SIGKILLed at random points; the checkpoint
//     left behind always loads and holds exactly the values of one complete save;
//   - a save that fails with ENOSPC (a 64 KiB tmpfs) leaves the previous checkpoint intact;
//   - a run killed mid-epoch and resumed from its last checkpoint ends bit for bit where the
//     uninterrupted run ends (CPU; model, Adam, StepLR, Dropout's RNG and the shuffled loader).
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';
import { requireDist } from './helpers/dist.js';
import { killRounds, resumeMatches, tinyTmpfs } from './stress/checkpoint_harness.js';

describe('checkpoint durability (fast)', () => {
  // The child processes run dist/ (compiled by the globalSetup); missing or stale, it fails this
  // suite (never skips it).
  beforeAll(() => { requireDist(); });
  it('SIGKILL at random points during saves: the previous checkpoint always loads intact (4 kills)', async () => {
    const r = await killRounds(4, 42);
    expect(r.failures).toEqual([]);
    expect(r.epochs.length).toBe(4);
  }, 60_000);

  it('a save that fails with ENOSPC leaves the previous checkpoint intact and no temporary file', (ctx) => {
    const fs = tinyTmpfs('64k');
    if ('reason' in fs) { ctx.skip(); return; }
    try {
      const path = join(fs.dir, 'ckpt.safetensors');
      E.manualSeed(3);
      const small = new E.nn.Linear(8, 2);
      E.io.saveCheckpoint({ model: small, epoch: 1 }, path);
      const before = readFileSync(path);
      const big = new E.nn.Linear(100_000, 1); // 400 KB: does not fit in 64 KiB
      let err: NodeJS.ErrnoException | null = null;
      try { E.io.saveCheckpoint({ model: big, epoch: 2 }, path); } catch (e) { err = e as NodeJS.ErrnoException; }
      // An EntrenaError (ERR_IO) whose cause is the file system's ENOSPC.
      expect(err).toBeInstanceOf(E.EntrenaError);
      expect(err?.code).toBe('ERR_IO');
      expect((err as unknown as { cause?: NodeJS.ErrnoException }).cause?.code).toBe('ENOSPC');
      expect(err?.message).toMatch(/previous file, if any, is unchanged/);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(readdirSync(fs.dir)).toEqual(['ckpt.safetensors']);
      const fresh = new E.nn.Linear(8, 2);
      const r = E.io.loadCheckpoint(path, { model: fresh });
      expect(r.epoch).toBe(1);
      for (const [k, t] of Object.entries(small.stateDict())) expect(Array.from(fresh.stateDict()[k].data())).toEqual(Array.from(t.data()));
      for (const m of [small, big, fresh]) for (const p of m.parameters()) p.dispose();
    } finally { fs.unmount(); }
  });

  it('resume after a kill mid-epoch is bit-for-bit equal to the uninterrupted run', () => {
    const r = resumeMatches(5, 2, 3);
    expect(r.equal, r.detail).toBe(true);
  }, 60_000);
});
