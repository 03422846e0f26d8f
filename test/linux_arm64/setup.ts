// test/linux_arm64/setup.ts — setup file of test/linux_arm64/vitest.config.ts: before each suite,
// proves that it runs on linux-arm64 against the cross-built addon, so that a pass cannot come from
// the host's x86-64 build: process.arch is arm64; the addon loaded (ENTRENA_ADDON) is the
// prebuild named by ENTRENA_LINUX_ARM64_ADDON; node-gyp-build resolves the prebuilds/ layout of a
// package without build/ to that file; the CPU reports NEON and the GEMM runs the NEON kernel.
// Writes what it saw to ENTRENA_LINUX_ARM64_PROBE (JSON) for the script's summary.
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonPath, native } from '../../lib/ts/native.js';

const expected = process.env.ENTRENA_LINUX_ARM64_ADDON;
if (process.platform !== 'linux' || process.arch !== 'arm64') throw new Error(`linux-arm64 run: this process is ${process.platform}-${process.arch}, not linux-arm64`);
if (!expected) throw new Error('linux-arm64 run: ENTRENA_LINUX_ARM64_ADDON (the cross-built addon) is not set');
if (realpathSync(addonPath) !== realpathSync(expected)) throw new Error(`linux-arm64 run: loaded ${addonPath}, expected ${expected}`);

// The layout an installed package has: prebuilds/linux-arm64/entrena.node and no build/.
const pkg = mkdtempSync(join(tmpdir(), 'entrena-arm64-'));
let resolved: string;
try {
  mkdirSync(join(pkg, 'prebuilds', 'linux-arm64'), { recursive: true });
  copyFileSync(expected, join(pkg, 'prebuilds', 'linux-arm64', 'entrena.node'));
  writeFileSync(join(pkg, 'package.json'), '{"name":"entrena"}\n');
  const gypBuild = createRequire(import.meta.url)('node-gyp-build') as { resolve(dir: string): string };
  resolved = gypBuild.resolve(pkg);
  if (resolved !== join(pkg, 'prebuilds', 'linux-arm64', 'entrena.node')) throw new Error(`linux-arm64 run: node-gyp-build resolved ${resolved}, not the prebuild`);
} finally {
  rmSync(pkg, { recursive: true, force: true });
}

const cpu = native.cpuFeatures();
if (!cpu.neon || cpu.gemmKernel !== 'neon') throw new Error(`linux-arm64 run: expected NEON and the NEON GEMM kernel, got ${JSON.stringify(cpu)}`);

const probe = process.env.ENTRENA_LINUX_ARM64_PROBE;
if (probe) {
  writeFileSync(probe, JSON.stringify({ node: process.version, arch: process.arch, addon: addonPath, prebuildsResolve: 'ok', ...cpu }) + '\n');
}
