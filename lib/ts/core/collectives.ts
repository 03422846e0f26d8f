/**
 * core/collectives.ts — the native calls behind lib/ts/distributed: tensors become handles,
 * element offsets and counts for the communication thread (native/distributed/comm.h), and their
 * buffers are pinned (neither freed nor pooled, even if disposed) until the request completes.
 * No argument checks beyond the cheap invariants: lib/ts/distributed validates.
 */
import { EntrenaError } from '../errors.js';
import { COLLECTIVE, DTYPE_CODE, REDUCE_OP, native, type Handle } from '../native.js';
import { shapeStr } from '../check.js';
import type { Storage } from './storage.js';
import type { Tensor } from './tensor.js';

export type CollectiveKind = keyof typeof COLLECTIVE;
export type ReduceOpName = keyof typeof REDUCE_OP;

/** What the native side reports at start-up. */
export interface CollectivesInfo { rank: number; size: number; threadLevel: number; library: string }

const pinned = new Map<number, Storage[]>();

function binding(): Required<Pick<typeof native, 'distInit' | 'distSubmit' | 'distWait' | 'distRun' | 'distIsDone' | 'distFinalize' | 'distAbort'>> {
  if (!native.distInit || !native.distSubmit || !native.distWait || !native.distRun || !native.distIsDone || !native.distFinalize || !native.distAbort)
    throw new EntrenaError('ERR_KERNEL_NOT_AVAILABLE', 'distributed: this build of the addon has no collectives; rebuild it (npm run build)');
  return native as ReturnType<typeof binding>;
}

/**
 * Starts the communication thread (and MPI when `useMpi`); `onComplete(id)` hears of awaited
 * requests; `verify` compares a header across ranks before each collective.
 */
export function startCollectives(useMpi: boolean, mpiLib: string, ncclLib: string, timeoutMs: number, onComplete: (id: number) => void, verify = true): CollectivesInfo {
  return binding().distInit(useMpi, mpiLib, ncclLib, timeoutMs, onComplete, verify);
}

/** A collective's parameters besides its tensor. */
export interface CollectiveOptions { op?: ReduceOpName; root?: number; out?: Tensor }

/** The binding's arguments of one collective on `t` (all of it, contiguous). */
function argsOf(kind: CollectiveKind, t: Tensor | null, o: CollectiveOptions):
  [number, number, number, number, Handle | null, number, number, Handle | null, number, string] {
  return [COLLECTIVE[kind], REDUCE_OP[o.op ?? 'sum'], o.root ?? 0, DTYPE_CODE[t?.dtype ?? 'float32'],
    t ? t.storage.handle : null, t ? t.offset : 0, t ? t.size : 0, o.out ? o.out.storage.handle : null,
    o.out ? o.out.offset : 0, t ? `${t.dtype} ${shapeStr(t.shape)}` : ''];
}

/**
 * Runs one collective on `t` to completion (a synchronous call; throws its error). Where nothing
 * is queued, the calling thread makes the MPI calls itself, without the hand-offs to and from the
 * communication thread (native/distributed/comm.h, run). The buffers live through the call.
 */
export function runCollective(kind: CollectiveKind, t: Tensor | null, options: CollectiveOptions = {}): void {
  binding().distRun(...argsOf(kind, t, options));
}

/**
 * Queues one collective on `t` (contiguous; all of it) and returns the request id. `out` is the
 * allGather target ([worldSize, ...t.shape], contiguous). With `notify`, `onComplete` is called
 * with the id on the JavaScript thread once it is done.
 */
export function submitCollective(kind: CollectiveKind, t: Tensor | null, options: CollectiveOptions & { notify?: boolean } = {}): number {
  const b = binding();
  const id = b.distSubmit(...argsOf(kind, t, options), options.notify === true);
  const pins: Storage[] = [];
  for (const x of [t, options.out]) if (x) { x.storage.pin(); pins.push(x.storage); }
  pinned.set(id, pins);
  return id;
}

/**
 * Blocks until request `id` is done and releases its buffers; throws its error. Returns false when
 * it had already been waited.
 */
export function waitCollective(id: number): boolean {
  try {
    return binding().distWait(id);
  } finally {
    const pins = pinned.get(id);
    if (pins) {
      pinned.delete(id);
      for (const s of pins) s.unpin();
    }
  }
}

/** True when request `id` has finished (waiting on it would not block). */
export function collectiveDone(id: number): boolean {
  return binding().distIsDone(id);
}

/** Finishes the queue, finalises MPI and stops the threads. */
export function stopCollectives(): void {
  binding().distFinalize();
}

/** Ends the whole job now (every rank), printing `message` first. */
export function abortJob(code: number, message: string): never {
  return binding().distAbort(code, message);
}
