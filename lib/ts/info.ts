/**
 * info.ts — what this build is: version, which addon was loaded and why the others were not, CPU
 * features, threads, external BLAS, CUDA devices and the CUDA package's state.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddonCandidate, type AddonSource, type CudaDriverInfo, type CudaPackageStatus, cudaVersionString } from './loader.js';
import { addonPath, addonReport, native, root } from './native.js';

/**
 * A description of the build and the machine, as printed by `entrena info`.
 * @example console.log(info().addonSource, info().cudaPackage.reason)
 */
export function info(): {
  version: string;
  /** The .node file in use. */
  addon: string;
  /** Where it came from: ENTRENA_ADDON, cuda-package, local-cuda-build, platform-package or local-build. */
  addonSource: AddonSource;
  /** Every candidate the loader considered, in order: the one used, and why each other was not. */
  addonCandidates: AddonCandidate[];
  /**
   * The CUDA package (`@entrena/cuda13-linux-x64`): loaded, or exactly why not — not installed, no
   * driver (libcuda.so.1 missing), driver too old, no GPU, ENTRENA_CPU_ONLY=1, …
   */
  cudaPackage: { name: string | null; status: CudaPackageStatus; reason: string };
  /** The NVIDIA driver as this process sees it (null when the loaded addon cannot probe it). */
  cudaDriver: CudaDriverInfo | null;
  cudaCompiled: boolean; cudaDevices: number;
  threads: number; cpu: { avx2: boolean; fma: boolean; avx512f: boolean; neon: boolean; gemmKernel: string; physicalCores: number };
  /**
   * The CBLAS library that takes large CPU matrix products — `ENTRENA_BLAS=/path/to/libopenblas.so.0`,
   * or Accelerate on macOS — or null for none; `error` says why `ENTRENA_BLAS` did not load.
   */
  blas: { library: string | null; error: string | null; calls: number };
} {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const driver = native.cudaDriver?.() ?? null;
  const { cuda } = addonReport;
  let reason = cuda.reason;
  // "Not installed" alone would hide whether installing it would help: say what the driver sees.
  if (cuda.status === 'not-installed' && driver) {
    reason += driver.loaded
      ? driver.deviceCount > 0
        ? `; this machine has ${driver.deviceCount} GPU(s) and a driver for CUDA ${cudaVersionString(driver.driverVersion)}`
        : `; the driver here sees no GPU (${driver.error ?? 'no CUDA device'})`
      : `; there is no NVIDIA driver here either (${driver.error})`;
  }
  return {
    version: pkg.version,
    addon: addonPath,
    addonSource: addonReport.source,
    addonCandidates: addonReport.candidates,
    cudaPackage: { name: cuda.package, status: cuda.status, reason },
    cudaDriver: driver,
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
