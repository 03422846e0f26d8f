// loader.test.ts — lib/ts/loader.ts, every branch, with a fake host: which addon is chosen (the
// CUDA package, the local CUDA build, the platform package, the local build) and the exact reason
// given for each one not used — including the CUDA cases this machine cannot show for real (a
// driver too old for the package, a driver without a GPU, a usable GPU). The real host is checked
// at the end: this checkout loads its local build, and `info()` says why the packages were not used.
import { describe, expect, it } from 'vitest';
import { type CudaDriverInfo, type InstalledPackage, type LoadableBinding, type LoaderHost, cudaDriverVerdict, loadAddon } from '../lib/ts/loader.js';
import { info } from '../lib/ts/info.js';

type Fake = LoadableBinding & { id: string };
const noDriver: CudaDriverInfo = { loaded: false, library: null, error: 'libcuda.so.1: cannot open shared object file: No such file or directory', initResult: -1, initError: null, driverVersion: 0, deviceCount: 0 };
const driver = (v: number, devices: number, initResult = 0, initError: string | null = null): CudaDriverInfo =>
  ({ loaded: true, library: 'libcuda.so.1', error: initResult ? `cuInit failed with ${initResult}` : null, initResult, initError, driverVersion: v, deviceCount: devices });

function host(opts: {
  packages?: Record<string, InstalledPackage>; files?: Record<string, number>; env?: Record<string, string>;
  cudaDriver?: CudaDriverInfo; cudaAvailable?: boolean; failing?: string[]; localBuild?: boolean; platform?: string;
}): LoaderHost<Fake> {
  const files = { ...(opts.localBuild ? { '/e/build/Release/entrena.node': 1 } : {}), ...opts.files };
  return {
    env: opts.env ?? {}, platform: opts.platform ?? 'linux', arch: 'x64', version: '0.1.0', root: '/e',
    findPackage: (name) => opts.packages?.[name] ?? null,
    requireAddon(path) {
      if (opts.failing?.includes(path)) throw new Error(`${path}: cannot open shared object file`);
      const isCuda = path.includes('cuda');
      return {
        id: path, cudaCompiled: () => isCuda, cudaAvailable: () => isCuda && (opts.cudaAvailable ?? true),
        cudaDriver: () => opts.cudaDriver ?? noDriver,
      };
    },
    exists: (p) => p in files,
    mtimeMs: (p) => files[p] ?? 0,
    nodeGypBuild(root) {
      if (!opts.localBuild) throw new Error('No native build was found for platform=linux arch=x64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2');
      return { binding: this.requireAddon(`${root}/build/Release/entrena.node`), path: `${root}/build/Release/entrena.node` };
    },
  };
}
const cpuPkg = { '@entrena/linux-x64': { dir: '/app/node_modules/@entrena/linux-x64', version: '0.1.0' } };
const cudaPkg = { '@entrena/cuda13-linux-x64': { dir: '/app/node_modules/@entrena/cuda13-linux-x64', version: '0.1.0', config: { cuda: '13.0', minDriver: { linux: '580.65.06' } } } };

describe('the addon loader', () => {
  it('takes the platform package, and says the CUDA package is not installed', () => {
    const r = loadAddon(host({ packages: cpuPkg }));
    expect(r.source).toBe('platform-package');
    expect(r.path).toBe('/app/node_modules/@entrena/linux-x64/entrena.node');
    expect(r.cuda).toMatchObject({ package: '@entrena/cuda13-linux-x64', status: 'not-installed' });
    expect(r.cuda.reason).toContain('npm install @entrena/cuda13-linux-x64');
    expect(r.candidates.map((c) => [c.source, c.used])).toEqual([['cuda-package', false], ['platform-package', true]]);
  });

  it('takes a local build (a checkout\'s, or one compiled at install) before the platform package', () => {
    const r = loadAddon(host({ packages: cpuPkg, localBuild: true }));
    expect(r.source).toBe('local-build');
    expect(r.path).toBe('/e/build/Release/entrena.node');
    expect(r.candidates.some((c) => c.source === 'platform-package')).toBe(false);
  });

  it('takes a prebuild of the checkout (node-gyp-build) when there is neither a local build nor a package', () => {
    const h = host({});
    h.nodeGypBuild = (root) => ({ binding: h.requireAddon(`${root}/prebuilds/linux-x64/entrena.node`), path: `${root}/prebuilds/linux-x64/entrena.node` });
    const r = loadAddon(h);
    expect(r.source).toBe('local-build');
    expect(r.path).toBe('/e/prebuilds/linux-x64/entrena.node');
    expect(r.candidates.find((c) => c.source === 'platform-package')?.reason).toBe('not installed');
  });

  it('skips a platform package of another version, or one that fails to load, for what follows', () => {
    const h = (packages: Record<string, InstalledPackage>, failing: string[] = []) => {
      const x = host({ packages, failing });
      x.nodeGypBuild = (root) => ({ binding: x.requireAddon(`${root}/prebuilds/linux-x64/entrena.node`), path: `${root}/prebuilds/linux-x64/entrena.node` });
      return x;
    };
    let r = loadAddon(h({ '@entrena/linux-x64': { dir: '/p', version: '0.0.9' } }));
    expect(r.source).toBe('local-build');
    expect(r.candidates.find((c) => c.source === 'platform-package')?.reason).toBe('version 0.0.9 installed, entrena is 0.1.0');
    r = loadAddon(h(cpuPkg, ['/app/node_modules/@entrena/linux-x64/entrena.node']));
    expect(r.source).toBe('local-build');
    expect(r.candidates.find((c) => c.source === 'platform-package')?.reason).toMatch(/^failed to load: .*cannot open shared object file/);
  });

  it('throws, naming every candidate and the fixes, when nothing loads', () => {
    expect(() => loadAddon(host({}))).toThrow(/no native addon could be loaded for linux-x64[\s\S]*platform-package @entrena\/linux-x64: not installed[\s\S]*local-build node-gyp-build: No native build was found[\s\S]*npm install @entrena\/linux-x64@0.1.0/);
  });

  it('ENTRENA_ADDON wins and its failure is the error', () => {
    const r = loadAddon(host({ env: { ENTRENA_ADDON: '/x/entrena.node' }, packages: { ...cpuPkg, ...cudaPkg } }));
    expect(r.source).toBe('ENTRENA_ADDON');
    expect(r.cuda.status).toBe('not-tried');
    expect(() => loadAddon(host({ env: { ENTRENA_ADDON: '/x/entrena.node' }, failing: ['/x/entrena.node'] }))).toThrow(/cannot open shared object/);
  });

  it('the CUDA package with a usable GPU is loaded', () => {
    const r = loadAddon(host({ packages: { ...cpuPkg, ...cudaPkg }, cudaDriver: driver(13000, 2) }));
    expect(r.source).toBe('cuda-package');
    expect(r.cuda).toEqual({ package: '@entrena/cuda13-linux-x64', status: 'loaded', reason: 'loaded: 2 GPU(s), driver for CUDA 13.0' });
  });

  const cases: Array<[string, CudaDriverInfo, string, RegExp]> = [
    ['no driver', noDriver, 'no-driver', /^no NVIDIA driver: libcuda\.so\.1: cannot open shared object file/],
    ['a driver too old', driver(12040, 1), 'driver-too-old', /^driver too old: it supports CUDA 12\.4, the package needs CUDA 13\.0 \(NVIDIA driver 580\.65\.06 or newer\)$/],
    ['no GPU (cuInit: CUDA_ERROR_NO_DEVICE)', driver(13000, 0, 100, 'CUDA_ERROR_NO_DEVICE'), 'no-gpu', /^no GPU: the driver \(CUDA 13\.0\) sees no CUDA device$/],
    ['no GPU (0 devices)', driver(13010, 0), 'no-gpu', /^no GPU/],
    ['a driver that fails to start', driver(13000, 0, 999, 'CUDA_ERROR_UNKNOWN'), 'driver-error', /^the driver did not start: cuInit failed with 999/],
  ];
  for (const [what, d, status, reason] of cases) {
    it(`the CUDA package with ${what}: the platform package is used, and the reason is '${status}'`, () => {
      const r = loadAddon(host({ packages: { ...cpuPkg, ...cudaPkg }, cudaDriver: d }));
      expect(r.source).toBe('platform-package');
      expect(r.cuda.status).toBe(status);
      expect(r.cuda.reason).toMatch(reason);
      expect(r.candidates[0]).toMatchObject({ source: 'cuda-package', used: false });
    });
  }

  it('the CUDA package whose runtime finds no device despite the driver: driver-error', () => {
    const r = loadAddon(host({ packages: { ...cpuPkg, ...cudaPkg }, cudaDriver: driver(13000, 1), cudaAvailable: false }));
    expect(r.source).toBe('platform-package');
    expect(r.cuda.status).toBe('driver-error');
  });

  it('the CUDA package without a GPU is still used when no CPU addon loads (it has the CPU kernels)', () => {
    const r = loadAddon(host({ packages: cudaPkg, cudaDriver: noDriver }));
    expect(r.source).toBe('cuda-package');
    expect(r.cuda.status).toBe('no-driver');
    expect(r.candidates.at(-1)?.reason).toMatch(/runs on the CPU/);
  });

  it('a CUDA package of another version or failing to load is named as such', () => {
    let r = loadAddon(host({ packages: { ...cpuPkg, '@entrena/cuda13-linux-x64': { ...cudaPkg['@entrena/cuda13-linux-x64'], version: '0.2.0' } }, cudaDriver: driver(13000, 1) }));
    expect(r.cuda.status).toBe('version-mismatch');
    expect(r.source).toBe('platform-package');
    r = loadAddon(host({ packages: { ...cpuPkg, ...cudaPkg }, failing: ['/app/node_modules/@entrena/cuda13-linux-x64/entrena.node'] }));
    expect(r.cuda.status).toBe('load-failed');
    expect(r.source).toBe('platform-package');
  });

  it('ENTRENA_CPU_ONLY=1 skips the CUDA package and the local CUDA build', () => {
    const files = { '/e/build-cuda/Release/entrena.node': 2 };
    const r = loadAddon(host({ env: { ENTRENA_CPU_ONLY: '1' }, packages: { ...cpuPkg, ...cudaPkg }, cudaDriver: driver(13000, 1), files }));
    expect(r.source).toBe('platform-package');
    expect(r.cuda).toEqual({ package: null, status: 'disabled', reason: 'ENTRENA_CPU_ONLY=1' });
    expect(r.candidates.find((c) => c.source === 'local-cuda-build')?.reason).toBe('ENTRENA_CPU_ONLY=1');
  });

  it('the local CUDA build is taken over the platform package unless the local CPU build is newer', () => {
    let r = loadAddon(host({ packages: cpuPkg, files: { '/e/build-cuda/Release/entrena.node': 2 } }));
    expect(r.source).toBe('local-cuda-build');
    r = loadAddon(host({ localBuild: true, files: { '/e/build-cuda/Release/entrena.node': 1, '/e/build/Release/entrena.node': 2 } }));
    expect(r.source).toBe('local-build');
    expect(r.candidates.find((c) => c.source === 'local-cuda-build')?.reason).toBe('older than the local CPU build build/Release');
  });

  it('macOS has no CUDA package', () => {
    const r = loadAddon(host({ platform: 'darwin', localBuild: true }));
    expect(r.cuda).toEqual({ package: null, status: 'unsupported-platform', reason: 'no CUDA package exists for darwin-x64' });
  });

  it('cudaDriverVerdict accepts a newer driver', () => {
    expect(cudaDriverVerdict(driver(13020, 1), '13.0')).toBeNull();
  });
});

describe('info() on this machine', () => {
  it('says which addon was loaded and why the packages were not', () => {
    const i = info();
    expect(i.addon).toBe(i.addonCandidates.find((c) => c.used)?.path);
    expect(i.addonCandidates.filter((c) => c.used)).toHaveLength(1);
    expect(['ENTRENA_ADDON', 'local-build', 'local-cuda-build', 'platform-package', 'cuda-package']).toContain(i.addonSource);
    expect(i.cudaPackage.reason.length).toBeGreaterThan(0);
    if (i.cudaDriver && !i.cudaDriver.loaded && i.cudaPackage.status === 'not-installed') expect(i.cudaPackage.reason).toMatch(/no NVIDIA driver here either/);
  });
});
