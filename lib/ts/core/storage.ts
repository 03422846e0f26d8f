/**
 * storage.ts — one native buffer, shared by the tensors that view it, and the host-buffer pool.
 *
 * Host buffers up to kPoolMaxBuffer are recycled through a per-size pool instead of going back to
 * the allocator. Small ones because creating and finalising an N-API External costs about half a
 * microsecond, which would dominate a small elementwise op; the larger ones (a training step's
 * activations and gradients, 100 KB to a few MB, the same sizes every step) because glibc serves
 * them from fresh pages: above its mmap threshold each is an mmap and munmap, and below it two or
 * three freed at the top of the heap pass the trim threshold and go back to the kernel, so every
 * step pays a page fault per 4 KB again (measured: two 256 KB products in a row took 470 µs instead
 * of 20). The pool is bounded (kPoolBytes) and `emptyCache()` drains it.
 */
import { DEVICE_CODE, native, type Handle } from '../native.js';
import type { DeviceName } from './dtype.js';

const kPoolMaxBuffer = 4 * 1024 * 1024;
const kPoolPerSize = 64;
const kPoolBytes = 64 * 1024 * 1024;
const pool = new Map<number, Storage[]>();
let pooledBytes = 0;

export class Storage {
  refs = 0;
  freed = false;
  /** In-flight collectives reading or writing this buffer: its release waits for them (see `pin`). */
  pins = 0;
  constructor(readonly handle: Handle, readonly bytes: number, readonly device: DeviceName) {}
  static alloc(bytes: number, device: DeviceName): Storage {
    if (device === 'cpu' && bytes <= kPoolMaxBuffer) {
      const s = pool.get(bytes)?.pop();
      if (s) {
        pooledBytes -= bytes;
        s.freed = false;
        s.refs = 0;
        return s;
      }
    }
    return new Storage(native.alloc(DEVICE_CODE[device], bytes), bytes, device);
  }
  /** Keeps the buffer (neither freed nor pooled) until `unpin`, while the communication thread uses it. */
  pin(): void { this.pins++; }
  unpin(): void {
    // The last pin of a buffer whose last tensor went while it was pinned: release it now.
    if (--this.pins === 0 && this.refs <= 0 && !this.freed) this.releaseNow();
  }
  release(): void {
    if (--this.refs > 0 || this.freed || this.pins > 0) return;
    this.releaseNow();
  }
  /** Back to the small-buffer pool, or to the allocator. */
  private releaseNow(): void {
    this.freed = true;
    if (this.device === 'cpu' && this.bytes <= kPoolMaxBuffer && pooledBytes + this.bytes <= kPoolBytes) {
      let list = pool.get(this.bytes);
      if (!list) pool.set(this.bytes, (list = []));
      if (list.length < kPoolPerSize) {
        list.push(this);
        pooledBytes += this.bytes;
        return;
      }
    }
    native.free(this.handle);
  }
}

/** Bytes the host-buffer pool holds for reuse. */
export function poolBytes(): number {
  return pooledBytes;
}

/** Returns the pooled host buffers to the allocator. */
export function emptyCache(): void {
  for (const list of pool.values()) for (const s of list) native.free(s.handle);
  pool.clear();
  pooledBytes = 0;
}
