/**
 * native.ts — loads the addon and declares the whole native surface in one interface
 * (DESIGN principle 6), with the op-id tables that mirror native/core/ops.h (test/contracts.test.ts
 * checks both sides are equal). Memory and kernels are reached only from lib/ts/core/ (the tensor
 * core and its raw kernel calls), lib/ts/ops/ and lib/ts/optim/fused_host.ts (the optimizers' fused
 * step); layers, losses, optimizers, data and the rest of the library go through those. (The device
 * and thread queries — cudaAvailable, cudaMemory, numThreads, cpuFeatures — are also read by
 * lib/ts/cuda.ts and lib/ts/info.ts.)
 *
 * Which binary: lib/ts/loader.ts decides (`ENTRENA_ADDON`, the CUDA package when a GPU is usable,
 * the local CUDA build, the platform package `@entrena/<platform>-<arch>`, the local build or a
 * prebuild) and says why each other candidate was not used; `info()` reports it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeError } from './errors.js';
import { type CudaDriverInfo, type LoadReport, loadAddon, processHost } from './loader.js';

/** An opaque handle to natively owned memory. */
export type Handle = { readonly __brand: 'entrena.buffer' };

export interface NativeBinding {
  /** Registers the scratch buffer and error factory; returns the scratch buffer in use (the first registered). */
  init(scratch: Float64Array, makeError: (code: string, message: string) => Error): Float64Array | undefined;
  alloc(device: number, bytes: number): Handle;
  free(h: Handle): void;
  write(h: Handle, byteOffset: number, src: ArrayBufferView): void;
  read(h: Handle, byteOffset: number, dst: ArrayBufferView): void;
  unary(op: number, dtype: number, out: Handle, a: Handle, p0: number, p1: number): void;
  binary(op: number, dtype: number, out: Handle, a: Handle | number, b: Handle | number, p0: number, p1: number): void;
  where(dtype: number, condDtype: number, out: Handle, cond: Handle, a: Handle, b: Handle): void;
  cast(outDtype: number, inDtype: number, out: Handle, input: Handle): void;
  fill(dtype: number, out: Handle, value: number): void;
  reduce(op: number, dtype: number, outer: number, n: number, inner: number, input: Handle, inOff: number, out: Handle, outOff: number, p0: number): void;
  softmax(dtype: number, log: boolean, outer: number, n: number, inner: number, input: Handle, inOff: number, out: Handle, outOff: number): void;
  softmaxBackward(dtype: number, log: boolean, outer: number, n: number, inner: number, y: Handle, yOff: number, dy: Handle, dyOff: number, dx: Handle, dxOff: number): void;
  index(kind: number, dtype: number, outer: number, n: number, inner: number, src: Handle, srcOff: number, idx: Handle, idxOff: number, nIdx: number, out: Handle, outOff: number): void;
  random(kind: number, dtype: number, n: number, out: Handle, outOff: number, seed: number, counter: number, a: number, b: number): void;
  gemm(dtype: number, transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Handle, aOff: number, lda: number, strideA: number, b: Handle, bOff: number, ldb: number, strideB: number,
    beta: number, c: Handle, cOff: number, ldc: number, strideC: number, batch: number, reference?: boolean, tf32?: boolean): void;
  synchronize(device: number): void;
  memoryStats(): { cpuBuffers: number; cpuBytes: number; cudaBuffers: number; cudaBytes: number };
  cudaAvailable(): boolean;
  cudaCompiled(): boolean;
  /** The NVIDIA driver as native/core/cuda_driver.cc probes it (any build; optional: older binaries lack it). */
  cudaDriver?(): CudaDriverInfo;
  cudaDeviceCount(): number;
  cudaMemory(): { allocatedBytes: number; cachedBytes: number; freeBytes: number; totalBytes: number };
  cudaEmptyCache(): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  cpuFeatures(): { avx2: boolean; fma: boolean; avx512f: boolean; neon: boolean; gemmKernel: string; physicalCores: number };
  /** The external CBLAS the CPU GEMM hands large products to (ENTRENA_BLAS, Accelerate on macOS), if any. */
  blasInfo(): { library: string | null; error: string | null; calls: number; minWork: number; minK: number; minM: number };
  // Fused training kernels (native/cpu/batchnorm.cc, native/cpu/optim.cc); optional until built.
  batchnormForward?(dtype: number, n: number, c: number, l: number, eps: number, momentum: number, training: boolean,
    x: Handle, xOff: number, y: Handle, yOff: number, weight: Handle | null, bias: Handle | null,
    runningMean: Handle | null, runningVar: Handle | null, saveMean: Handle | null, saveInvstd: Handle | null): void;
  batchnormBackward?(dtype: number, n: number, c: number, l: number, eps: number, training: boolean,
    x: Handle, xOff: number, dy: Handle, dyOff: number, weight: Handle | null, saveMean: Handle | null, saveInvstd: Handle | null,
    runningMean: Handle | null, runningVar: Handle | null, dx: Handle | null, dxOff: number, dweight: Handle | null, dbias: Handle | null): void;
  optimStep?(kind: number, dtype: number, params: Handle[], grads: Handle[], state0: (Handle | null)[] | null,
    state1: (Handle | null)[] | null, state2: (Handle | null)[] | null, sizes: number[], h: Float64Array, flags: number): void;
  // Collectives (native/distributed/comm.h): one communication thread executes them in submission order.
  distInit?(useMpi: boolean, mpiLib: string, ncclLib: string, timeoutMs: number, onComplete: (id: number) => void, verify?: boolean):
    { rank: number; size: number; threadLevel: number; library: string };
  distSubmit?(kind: number, op: number, root: number, dtype: number, data: Handle | null, dataOff: number, count: number,
    out: Handle | null, outOff: number, what: string, notify: boolean): number;
  distWait?(id: number): boolean;
  distRun?(kind: number, op: number, root: number, dtype: number, data: Handle | null, dataOff: number, count: number,
    out: Handle | null, outOff: number, what: string): void;
  distIsDone?(id: number): boolean;
  distFinalize?(): void;
  distAbort?(code: number, message: string): never;
}

/** The project root: the nearest folder above this file whose package.json is entrena's. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'entrena') return dir;
      } catch { /* keep looking */ }
    }
    dir = dirname(dir);
  }
  throw new Error('entrena: cannot find the package root (package.json) above ' + fileURLToPath(import.meta.url));
}

export const root = findRoot();
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const loaded: LoadReport<NativeBinding> = loadAddon(processHost<NativeBinding>(root, version));
export const native: NativeBinding = loaded.binding;
export const addonPath: string = loaded.path;
/** Where the addon came from, every candidate considered and why it was not used, and the CUDA package's state. */
export const addonReport: Omit<LoadReport<NativeBinding>, 'binding'> = {
  path: loaded.path, source: loaded.source, candidates: loaded.candidates, cuda: loaded.cuda,
};

/**
 * The scratch buffer through which elementwise ops pass their iteration shape and operand strides
 * (layout in native/bindings.cc, written by `setIter` in lib/ts/core/iter.ts): [0] ndim,
 * [1..8] shape, operand o at 16 + 16·o: [0] element offset, [1..8] strides.
 */
const ownScratch = new Float64Array(128);
export const scratch: Float64Array = native.init(ownScratch, makeError) ?? ownScratch;

export const DTYPE_CODE = { float32: 0, float64: 1, int32: 2, bfloat16: 3, float16: 4 } as const;
export const DEVICE_CODE = { cpu: 0, cuda: 1 } as const;

/** Unary op ids: mirror ENTRENA_UNARY_OPS in native/core/ops.h (ids of removed ops are not reused). */
export const UNARY = {
  neg: 1, abs: 2, exp: 3, log: 4, sqrt: 5, rsqrt: 6, square: 7, sign: 8, sigmoid: 9,
  tanh: 10, relu: 11, leaky_relu: 12, elu: 13, selu: 14, gelu: 15, gelu_tanh: 16, silu: 17, mish: 18,
  softplus: 19, log1p: 20, expm1: 21, sin: 22, cos: 23, reciprocal: 24, clamp: 25,
  floor: 27, ceil: 28, round: 29, add_scalar: 30, mul_scalar: 31, affine: 32, rsub_scalar: 33,
  isnan: 36, isfinite: 37, hardtanh: 38, log_sigmoid: 39,
} as const;
export type UnaryName = keyof typeof UNARY;

/** Binary op ids: mirror ENTRENA_BINARY_OPS in native/core/ops.h. */
export const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, eq: 7, ne: 8, gt: 9, ge: 10, lt: 11,
  le: 12, atan2: 13, relu_backward: 20, leaky_relu_backward: 21, sigmoid_backward: 22,
  tanh_backward: 23, elu_backward: 24, selu_backward: 25, gelu_backward: 26, gelu_tanh_backward: 27,
  silu_backward: 28, mish_backward: 29, softplus_backward: 30, sign_mul: 31, clamp_backward: 32,
  log_sigmoid_backward: 33, hardtanh_backward: 34, dropout_apply: 35,
} as const;
export type BinaryName = keyof typeof BINARY;

/** Reduction ids: mirror `ReduceOp` in native/core/ops.h. */
export const REDUCE = { sum: 0, mean: 1, max: 2, min: 3, argmax: 4, argmin: 5, var: 6, prod: 7 } as const;
/** Collective kinds and reductions: mirror `dist::Collective` and `dist::ReduceOp` in native/distributed/comm.h. */
export const COLLECTIVE = { allReduce: 0, broadcast: 1, allGather: 2, barrier: 3 } as const;
export const REDUCE_OP = { sum: 0, avg: 1, max: 2, min: 3 } as const;
/** Index kinds: mirror `IndexKind` in native/core/ops.h (scatter_add there). */
export const INDEX = { select: 0, add: 1, gather: 2, scatterAdd: 3 } as const;
