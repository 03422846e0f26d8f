/** info.ts — what this build is: version, addon path, CPU features, threads, external BLAS, CUDA devices. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addonPath, native, root } from './native.js';

/**
 * A description of the build and the machine, as printed by `entrena info`.
 * @example console.log(info().cpu.avx2)
 */
export function info(): {
  version: string; addon: string; cudaCompiled: boolean; cudaDevices: number;
  threads: number; cpu: { avx2: boolean; fma: boolean; avx512f: boolean; neon: boolean; gemmKernel: string; physicalCores: number };
  /**
   * The CBLAS library that takes large CPU matrix products — `ENTRENA_BLAS=/path/to/libopenblas.so.0`,
   * or Accelerate on macOS — or null for none; `error` says why `ENTRENA_BLAS` did not load.
   */
  blas: { library: string | null; error: string | null; calls: number };
} {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    version: pkg.version,
    addon: addonPath,
    cudaCompiled: native.cudaCompiled(),
    cudaDevices: native.cudaCompiled() ? native.cudaDeviceCount() : 0,
    threads: native.numThreads(),
    cpu: native.cpuFeatures(),
    blas: (({ library, error, calls }) => ({ library, error, calls }))(native.blasInfo()),
  };
}

/** Sets the CPU thread count (as ENTRENA_NUM_THREADS). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
