// checkpoint.test.ts (stress) — checkpoint durability at length: 40 SIGKILLs at random points of a
// save loop, ENOSPC on a tiny tmpfs at several fill levels, and resume-after-kill compared bit for
// bit with the uninterrupted run at several crash points (first batch, mid-epoch, last epoch).
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../lib/ts/index.js';
import { requireDist } from '../helpers/dist.js';
import { killRounds, resumeMatches, tinyTmpfs } from './checkpoint_harness.js';

const KILLS = Number(process.env.ENTRENA_STRESS_KILLS ?? 40);

describe('checkpoint durability (stress)', () => {
  // The child processes run dist/ (compiled by the globalSetup); missing or stale, it fails this
  // suite (never skips it).
  beforeAll(() => { requireDist(); });
  it(`${KILLS} SIGKILLs during saves: every checkpoint left behind loads and is intact`, async () => {
    const r = await killRounds(KILLS, 7);
    console.log(`checkpoint kills: ${r.epochs.length}/${KILLS} survived intact (epochs found: ${r.epochs.join(', ')}); ${r.leftovers} temporary file(s) left by interrupted writes`);
    expect(r.failures).toEqual([]);
    expect(r.epochs.length).toBe(KILLS);
  }, 300_000);

  it('ENOSPC at several sizes: the previous checkpoint always survives, no temporary file remains', (ctx) => {
    const fs = tinyTmpfs('64k');
    if ('reason' in fs) { console.log(`skipped: ${fs.reason}`); ctx.skip(); return; }
    try {
      const path = join(fs.dir, 'ckpt.safetensors');
      const small = new E.nn.Linear(16, 4);
      E.io.saveCheckpoint({ model: small, epoch: 1 }, path);
      let before = readFileSync(path);
      // Sizes around the free space: some fail at the first write, some part-way.
      for (const n of [4_000, 8_000, 12_000, 14_000, 15_500, 30_000, 100_000]) {
        const big = new E.nn.Linear(n, 1);
        let code: string | undefined;
        // A failed write is an EntrenaError (ERR_IO) carrying the file system's error as its cause.
        try { E.io.saveCheckpoint({ model: big, epoch: 2 }, path); } catch (e) { code = `${(e as NodeJS.ErrnoException).code}/${((e as { cause?: NodeJS.ErrnoException }).cause)?.code}`; }
        if (code === undefined) {
          // It fitted: that is now the checkpoint; restore the small one for the next size (its
          // bytes differ from the first save: the RNG state in the metadata has moved on).
          E.io.saveCheckpoint({ model: small, epoch: 1 }, path);
          before = readFileSync(path);
        } else {
          expect(code).toBe('ERR_IO/ENOSPC');
          expect(readFileSync(path).equals(before), `after failing with ${n} features`).toBe(true);
        }
        expect(readdirSync(fs.dir)).toEqual(['ckpt.safetensors']);
        for (const p of big.parameters()) p.dispose();
      }
      expect(E.io.loadCheckpoint(path, { model: new E.nn.Linear(16, 4) }).epoch).toBe(1);
    } finally { fs.unmount(); }
  });

  for (const [epoch, batch] of [[0, 0], [1, 5], [3, 9], [5, 2]] as const) {
    it(`resume after a kill at epoch ${epoch}, batch ${batch} is bit-for-bit equal to the uninterrupted run`, () => {
      const r = resumeMatches(6, epoch, batch);
      expect(r.equal, r.detail).toBe(true);
    }, 120_000);
  }
});
