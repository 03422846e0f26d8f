/**
 * loader.ts — which native addon entrena loads, and why each other candidate was not used. It
 * decides only; lib/ts/native.ts calls it once at start-up and `info()` reports its answer.
 *
 * Candidates, in order; the first that loads (and, for the CUDA package, finds a usable GPU) wins:
 *   1. `ENTRENA_ADDON=/path/to/entrena.node`: explicit, so a failure to load it is the error (no fallback).
 *   2. The CUDA package `@entrena/cuda<major>-<platform>-<arch>` (opt-in: the user installs it). Used
 *      only when the NVIDIA driver is there, supports the package's CUDA version and sees a GPU;
 *      otherwise the reason is recorded (no driver, driver too old, no GPU) and the CPU build follows.
 *   3. The local CUDA build `build-cuda/Release/entrena.node` (`npm run build:cuda`, built on purpose),
 *      unless a local CPU build (`build/Release`) is newer. 2 and 3 are skipped with ENTRENA_CPU_ONLY=1.
 *   4. The local CPU build `build/Release/entrena.node`. An installed package has one only when its
 *      install compiled from source (no platform package, or one that did not load); a checkout has
 *      one from `npm run build`, and it must not be shadowed by a published binary of the same
 *      version in node_modules (sharp also tries its own build first).
 *   5. The platform package `@entrena/<platform>-<arch>`: an optionalDependency of entrena, pinned to
 *      its version, that npm installs only where its `os`/`cpu`/`libc` fields match.
 *   6. `node-gyp-build`: `prebuilds/<platform>-<arch>/` of a checkout (or build/Debug).
 *   7. Last resort: a CUDA package rejected in 2 for want of a GPU (it holds the same CPU kernels).
 *
 * A package is taken only at exactly entrena's version: the native surface changes between versions.
 * Everything the decision reads comes through `LoaderHost`, so test/loader.test.ts can walk every
 * branch (a driver too old, no GPU, …) on a machine that has neither a GPU nor those packages.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the loaded addon came from. */
export type AddonSource = 'ENTRENA_ADDON' | 'cuda-package' | 'local-cuda-build' | 'platform-package' | 'local-build';

/** One candidate the loader considered: used, or why not. */
export interface AddonCandidate {
  source: AddonSource;
  /** The package name, or a description of the local candidate. */
  name: string;
  /** The .node file, when one was found. */
  path: string | null;
  used: boolean;
  reason: string;
}

/** Why the CUDA package is (not) in use. */
export type CudaPackageStatus =
  | 'loaded' | 'not-installed' | 'no-driver' | 'driver-too-old' | 'no-gpu' | 'driver-error'
  | 'load-failed' | 'version-mismatch' | 'unsupported-platform' | 'disabled' | 'not-tried';

/** The NVIDIA driver as native/core/cuda_driver.cc sees it (`cudaDriver()` of any build). */
export interface CudaDriverInfo {
  loaded: boolean;
  library: string | null;
  error: string | null;
  initResult: number;
  initError: string | null;
  /** The newest CUDA version the driver supports, 1000·major + 10·minor (13000 = CUDA 13.0); 0 unknown. */
  driverVersion: number;
  deviceCount: number;
}

/** The part of the binding the loader itself calls. */
export interface LoadableBinding {
  cudaCompiled(): boolean;
  cudaAvailable(): boolean;
  cudaDriver?(): CudaDriverInfo;
}

export interface LoadReport<B> {
  binding: B;
  path: string;
  source: AddonSource;
  candidates: AddonCandidate[];
  cuda: { package: string | null; status: CudaPackageStatus; reason: string };
}

/** An installed package as the loader needs it. */
export interface InstalledPackage {
  dir: string;
  version: string;
  config?: { cuda?: string; minDriver?: Record<string, string> };
}

/** Everything the decision reads from the process and the file system (tests pass their own). */
export interface LoaderHost<B> {
  env: Record<string, string | undefined>;
  platform: string;
  arch: string;
  /** entrena's own version. */
  version: string;
  /** entrena's package root (where build/, build-cuda/ and prebuilds/ of a checkout are). */
  root: string;
  /** The package's folder and package.json, or null when it is not installed. */
  findPackage(name: string): InstalledPackage | null;
  /** Loads a .node file (throws as `require` does). */
  requireAddon(path: string): B;
  exists(path: string): boolean;
  mtimeMs(path: string): number;
  /** node-gyp-build: the local build or a matching prebuild (throws when there is none). */
  nodeGypBuild(root: string): { binding: B; path: string };
}

/** CUDA majors with a package, newest first. A new major adds its number here and a build recipe. */
export const CUDA_MAJORS = [13] as const;
/** Platforms the CUDA packages exist for (NVIDIA's driver: Linux and Windows). */
// The platforms with a CUDA package (scripts/platform-packages.mjs builds cuda13-linux-x64 only).
const CUDA_PLATFORMS = new Set(['linux-x64']);

export const platformPackageName = (platform: string, arch: string): string => `@entrena/${platform}-${arch}`;
export const cudaPackageName = (major: number, platform: string, arch: string): string => `@entrena/cuda${major}-${platform}-${arch}`;

/** 13020 → "13.2". */
export function cudaVersionString(v: number): string {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/**
 * Whether a CUDA build needing CUDA `needs` ("13.0") can run with this driver; null when it can.
 * Reads only the probe: no CUDA code runs here.
 */
export function cudaDriverVerdict(driver: CudaDriverInfo, needs: string, minDriver?: string): { status: CudaPackageStatus; reason: string } | null {
  if (!driver.loaded) return { status: 'no-driver', reason: `no NVIDIA driver: ${driver.error ?? 'the driver library (libcuda.so.1) was not found'}` };
  const [major, minor = '0'] = needs.split('.');
  const needed = Number(major) * 1000 + Number(minor) * 10;
  if (driver.driverVersion > 0 && driver.driverVersion < needed) {
    return {
      status: 'driver-too-old',
      reason: `driver too old: it supports CUDA ${cudaVersionString(driver.driverVersion)}, the package needs CUDA ${needs}` +
        (minDriver ? ` (NVIDIA driver ${minDriver} or newer)` : ''),
    };
  }
  if (driver.initResult === 100 || (driver.initResult === 0 && driver.deviceCount === 0)) {
    return { status: 'no-gpu', reason: `no GPU: the driver (CUDA ${cudaVersionString(driver.driverVersion)}) sees no CUDA device` };
  }
  if (driver.initResult !== 0) return { status: 'driver-error', reason: `the driver did not start: ${driver.error ?? `cuInit returned ${driver.initResult}`}` };
  return null;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Chooses and loads the addon; throws (listing every candidate and why) when none loads. */
export function loadAddon<B extends LoadableBinding>(host: LoaderHost<B>): LoadReport<B> {
  const { env, platform, arch, version, root } = host;
  const tag = `${platform}-${arch}`;
  const candidates: AddonCandidate[] = [];
  const cpuOnly = env.ENTRENA_CPU_ONLY === '1';
  let cuda: LoadReport<B>['cuda'] = { package: null, status: 'not-tried', reason: 'not tried' };
  const done = (binding: B, path: string, source: AddonSource, name: string, reason: string): LoadReport<B> => {
    candidates.push({ source, name, path, used: true, reason });
    return { binding, path, source, candidates, cuda };
  };

  // 1. An explicit path: its failure is the error.
  const explicit = env.ENTRENA_ADDON;
  if (explicit) {
    cuda = { package: null, status: 'not-tried', reason: 'not tried: ENTRENA_ADDON is set' };
    return done(host.requireAddon(explicit), explicit, 'ENTRENA_ADDON', 'ENTRENA_ADDON', 'ENTRENA_ADDON is set');
  }

  /** An installed package at entrena's version, or why not (recorded as a candidate). */
  const installed = (source: AddonSource, name: string): InstalledPackage | null => {
    const pkg = host.findPackage(name);
    if (!pkg) {
      candidates.push({ source, name, path: null, used: false, reason: 'not installed' });
      return null;
    }
    if (pkg.version !== version) {
      candidates.push({ source, name, path: join(pkg.dir, 'entrena.node'), used: false, reason: `version ${pkg.version} installed, entrena is ${version}` });
      return null;
    }
    return pkg;
  };
  const tryRequire = (source: AddonSource, name: string, path: string): B | null => {
    try {
      return host.requireAddon(path);
    } catch (e) {
      candidates.push({ source, name, path, used: false, reason: `failed to load: ${message(e)}` });
      return null;
    }
  };

  // 2. The CUDA package(s).
  let gpuless: { binding: B; name: string; path: string } | null = null;
  if (cpuOnly) {
    cuda = { package: null, status: 'disabled', reason: 'ENTRENA_CPU_ONLY=1' };
  } else if (!CUDA_PLATFORMS.has(tag)) {
    cuda = { package: null, status: 'unsupported-platform', reason: `no CUDA package exists for ${tag}` };
  } else {
    let first: LoadReport<B>['cuda'] | null = null;
    for (const major of CUDA_MAJORS) {
      const name = cudaPackageName(major, platform, arch);
      const note = (status: CudaPackageStatus, reason: string): void => {
        // Report the first installed package's status; "not installed" only when none is.
        if (!first || (first.status === 'not-installed' && status !== 'not-installed')) first = { package: name, status, reason };
      };
      const pkg = host.findPackage(name);
      if (!pkg) {
        candidates.push({ source: 'cuda-package', name, path: null, used: false, reason: 'not installed' });
        note('not-installed', `not installed (to use an NVIDIA GPU: npm install ${name})`);
        continue;
      }
      const path = join(pkg.dir, 'entrena.node');
      if (pkg.version !== version) {
        const reason = `version ${pkg.version} installed, entrena is ${version} (npm install ${name}@${version})`;
        candidates.push({ source: 'cuda-package', name, path, used: false, reason });
        note('version-mismatch', reason);
        continue;
      }
      const binding = tryRequire('cuda-package', name, path);
      if (!binding) {
        note('load-failed', candidates.at(-1)!.reason);
        continue;
      }
      const driver = binding.cudaDriver?.();
      const verdict = driver
        ? cudaDriverVerdict(driver, pkg.config?.cuda ?? `${major}.0`, pkg.config?.minDriver?.[platform])
        : null;
      const runtimeFailed = !verdict && !binding.cudaAvailable();
      if (verdict || runtimeFailed) {
        const v = verdict ?? { status: 'driver-error' as const, reason: 'the CUDA runtime found no usable device' };
        candidates.push({ source: 'cuda-package', name, path, used: false, reason: v.reason });
        note(v.status, v.reason);
        gpuless ??= { binding, name, path };
        continue;
      }
      cuda = { package: name, status: 'loaded', reason: `loaded: ${driver ? `${driver.deviceCount} GPU(s), driver for CUDA ${cudaVersionString(driver.driverVersion)}` : 'CUDA available'}` };
      return done(binding, path, 'cuda-package', name, cuda.reason);
    }
    if (first) cuda = first;
  }

  // 3. The local CUDA build, unless a newer local CPU build would be shadowed by a stale one.
  const cudaBuild = join(root, 'build-cuda', 'Release', 'entrena.node');
  const cpuBuild = join(root, 'build', 'Release', 'entrena.node');
  if (cpuOnly) {
    if (host.exists(cudaBuild)) candidates.push({ source: 'local-cuda-build', name: 'build-cuda/Release', path: cudaBuild, used: false, reason: 'ENTRENA_CPU_ONLY=1' });
  } else if (host.exists(cudaBuild)) {
    if (host.exists(cpuBuild) && host.mtimeMs(cudaBuild) < host.mtimeMs(cpuBuild)) {
      candidates.push({ source: 'local-cuda-build', name: 'build-cuda/Release', path: cudaBuild, used: false, reason: 'older than the local CPU build build/Release' });
    } else {
      const binding = tryRequire('local-cuda-build', 'build-cuda/Release', cudaBuild);
      if (binding) return done(binding, cudaBuild, 'local-cuda-build', 'build-cuda/Release', 'built with `npm run build:cuda`');
    }
  }

  // 4. The local CPU build.
  if (host.exists(cpuBuild)) {
    const binding = tryRequire('local-build', 'build/Release', cpuBuild);
    if (binding) return done(binding, cpuBuild, 'local-build', 'build/Release', 'built from source (binding.gyp)');
  }

  // 5. The platform package.
  const platformName = platformPackageName(platform, arch);
  const pkg = installed('platform-package', platformName);
  if (pkg) {
    const path = join(pkg.dir, 'entrena.node');
    const binding = tryRequire('platform-package', platformName, path);
    if (binding) return done(binding, path, 'platform-package', platformName, `prebuilt for ${tag}`);
  }

  // 6. A prebuild of a checkout (node-gyp-build also looks at build/ again: harmless).
  try {
    const { binding, path } = host.nodeGypBuild(root);
    return done(binding, path, 'local-build', 'node-gyp-build', 'a prebuild of the checkout (prebuilds/) or a local build');
  } catch (e) {
    candidates.push({ source: 'local-build', name: 'node-gyp-build', path: null, used: false, reason: message(e) });
  }

  // 7. The CUDA package without a GPU still computes on the CPU.
  if (gpuless) return done(gpuless.binding, gpuless.path, 'cuda-package', gpuless.name, 'no CPU build loaded; the CUDA package runs on the CPU');

  const lines = [
    `entrena: no native addon could be loaded for ${tag} (Node ${process.versions.node}). Tried:`,
    ...candidates.map((c) => `  - ${c.source} ${c.name}: ${c.reason}`),
    'Possible fixes:',
    `  - install the prebuilt addon: npm install ${platformName}@${version} (optional dependencies may have been skipped: npm install --include=optional)`,
    `  - a lockfile made on another platform: npm install --os=${platform} --cpu=${arch} entrena`,
    '  - build from source: a C++17 compiler, make and python3 (node-gyp), then npm rebuild entrena',
    '  - or point ENTRENA_ADDON at an entrena.node built for this machine',
  ];
  throw new Error(lines.join('\n'));
}

/** The real host: this process, this file system, Node's module resolution from entrena's root. */
export function processHost<B>(root: string, version: string): LoaderHost<B> {
  const require = createRequire(join(root, 'package.json'));
  return {
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    version,
    root,
    findPackage(name) {
      let file: string;
      try {
        file = require.resolve(`${name}/package.json`);
      } catch {
        return null;
      }
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version: string; config?: InstalledPackage['config'] };
      return { dir: dirname(file), version: pkg.version, config: pkg.config };
    },
    requireAddon: (path) => require(path) as B,
    exists: existsSync,
    mtimeMs: (path) => statSync(path).mtimeMs,
    nodeGypBuild(dir) {
      const gyp = require('node-gyp-build') as { (d: string): B; resolve(d: string): string };
      const path = gyp.resolve(dir);
      return { binding: require(path) as B, path };
    },
  };
}
