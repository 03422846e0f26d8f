/**
 * cuda.ts — the `cuda` namespace: whether a GPU is usable, how many, synchronisation, memory.
 * In a CPU-only build `isAvailable()` is false and the others throw ERR_NOT_COMPILED_WITH_CUDA.
 */
import { EntrenaError } from './errors.js';
import { native } from './native.js';

/** True when entrena was built with CUDA and a device is present. @example if (cuda.isAvailable()) x = x.cuda(); */
export function isAvailable(): boolean {
  return native.cudaAvailable();
}
/** True when the loaded addon was compiled with CUDA (whether or not a GPU is present). */
export function isCompiled(): boolean {
  return native.cudaCompiled();
}
/** Number of CUDA devices (0 without CUDA). */
export function deviceCount(): number {
  return native.cudaCompiled() ? native.cudaDeviceCount() : 0;
}
/** Waits for all queued GPU work. */
export function synchronize(): void {
  if (!native.cudaCompiled()) throw new EntrenaError('ERR_NOT_COMPILED_WITH_CUDA', 'cuda.synchronize: entrena was built without CUDA; run `npm run build:cuda`');
  native.synchronize(1);
}
/** Bytes held by tensors, cached by the allocator, and free/total on the device. */
export function memory(): { allocatedBytes: number; cachedBytes: number; freeBytes: number; totalBytes: number } {
  return native.cudaMemory();
}
/** Returns cached, unused device blocks to the driver. */
export function emptyCache(): void {
  native.cudaEmptyCache();
}
