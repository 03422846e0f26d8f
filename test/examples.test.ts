// examples.test.ts — runs a few of the fastest examples (examples/*.mjs) with --smoke in a child
// process against dist/, and checks that they exit 0 and write their plot into the output folder.
// dist/ is compiled by the globalSetup (test/helpers/build_dist.ts); missing or stale, it fails
// this suite rather than skipping it.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { requireDist } from './helpers/dist.js';

const run = promisify(execFile);
const root = resolve(__dirname, '..');

const cases: [string, string][] = [
  ['05_early_stopping.mjs', '05_early_stopping.svg'],
  ['06_optimizers.mjs', '06_optimizers.svg'],
  ['12_regression_csv.mjs', '12_regression_csv.svg'],
  ['13_second_order.mjs', '13_second_order.svg'],
  ['14_gradient_penalty.mjs', '14_gradient_penalty.svg'],
];

describe('examples (--smoke)', () => {
  beforeAll(() => { requireDist(); });
  for (const [script, plot] of cases) {
    it(`${script} exits 0 and writes ${plot}`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'entrena-examples-'));
      try {
        const { stdout } = await run(process.execPath, [join(root, 'examples', script), '--smoke'], {
          cwd: root, env: { ...process.env, ENTRENA_EXAMPLES_OUT: out }, timeout: 50_000,
        });
        expect(stdout).toContain('plot:');
        const file = join(out, plot);
        expect(existsSync(file)).toBe(true);
        expect(statSync(file).size).toBeGreaterThan(200);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
