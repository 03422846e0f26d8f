/**
 * distributed — data-parallel training across processes, with PyTorch's `torch.distributed` names:
 * `init`, `rank`, `worldSize`, `allReduce`, `broadcast`, `allGather`, `barrier`, `finalize`.
 *
 * Engines: MPI (OpenMPI's libmpi.so.40) for CPU tensors, NCCL (libnccl.so.2) for CUDA tensors,
 * both loaded at run time (`ENTRENA_MPI_LIB` / `ENTRENA_NCCL_LIB` override the paths), so nothing
 * of them is needed to install entrena or to run without them. Processes are started by a
 * launcher (`mpirun -np 4 node train.mjs`, Slurm's `srun`, or `entrena train --nproc 4`), whose
 * environment `init()` reads; outside a launcher `init()` gives a world of one process and needs
 * no MPI, so the same script runs alone.
 *
 * Synchronous by default, as PyTorch's collectives: `allReduce(t)` returns when `t` holds the
 * result (the JavaScript thread waits; the collectives of a training step are short, and the
 * autograd engine and `tidy` are synchronous). `{ asyncOp: true }` returns a `Work` at once:
 * `work.wait()` blocks, `await work` does not (the event loop keeps running and a thread-safe
 * function resolves it). Either way one native communication thread issues every MPI/NCCL call,
 * in the order the collectives were called — every rank must call the same collectives in the
 * same order, with the same sizes. A collective that does not complete within `timeoutMs` (a rank
 * that never reached it, or mismatched sizes) ends the whole job with a message naming the rank,
 * the collective, its sequence number and its shape; so does a rank that throws (uncaught). Before
 * each collective the ranks compare what they are about to do (`verifyCollectives`), so different
 * sizes or collectives fail at once with both sides named.
 *
 * Collectives are not recorded by autograd (they work on values, like PyTorch's in-place ops
 * under `no_grad`).
 */
import { checkNumber, checkOptions, shapeStr } from '../check.js';
import { ArgumentError, DeviceError, EntrenaError, describe } from '../errors.js';
import { native } from '../native.js';
import { setNumThreads } from '../info.js';
import { Tensor } from '../tensor.js';
import { abortJob, collectiveDone, runCollective, startCollectives, stopCollectives, submitCollective, waitCollective, type CollectiveKind, type CollectiveOptions, type ReduceOpName } from '../core/collectives.js';
import { launcherWorld } from './launcher.js';
import { copyAs, copyStrided } from '../core/kernels.js';
import { isHalf } from '../core/dtype.js';

export { launcherWorld, type LauncherWorld } from './launcher.js';
export type ReduceOp = ReduceOpName;
export type Backend = 'mpi' | 'nccl';

export interface InitOptions {
  /** 'mpi' (default; CPU tensors) or 'nccl' (CUDA tensors; MPI is still used to start NCCL across processes). */
  backend?: Backend;
  /** Watchdog limit of one collective, in milliseconds (default 600 000: ten minutes). */
  timeoutMs?: number;
  /**
   * Before each collective, check that every rank makes the same one with the same size (one
   * small allgather, which also carries a collective of up to 1 KB by itself; default true). A
   * mismatch is then an error naming both ranks; without the check it can hang until the
   * watchdog, or make MPI write past a buffer.
   */
  verifyCollectives?: boolean;
}

/** This process's place in the job. */
export interface World {
  rank: number;
  worldSize: number;
  /** Rank among the processes of this machine (which GPU to use). */
  localRank: number;
}

interface State extends World {
  backend: Backend;
  localWorldSize: number;
  library: string;
  usesMpi: boolean;
  finalized: boolean;
}

let state: State | null = null;
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'avg', 'max', 'min'];

/**
 * Joins the job the launcher started (or makes a world of one outside a launcher) and returns this
 * process's rank, the world size and the local rank. Sets the CPU threads of this process to the
 * physical cores divided by the processes on this machine, unless `ENTRENA_NUM_THREADS` is set, and
 * has OpenMPI yield instead of busy-polling while it waits, unless `OMPI_MCA_mpi_yield_when_idle`
 * is set. With `backend: 'nccl'` each local rank gets its GPU (`CUDA_VISIBLE_DEVICES`, if unset).
 * @example
 * // mpirun -np 2 --bind-to none node train.mjs
 * import { distributed } from 'entrena';
 * const { rank, worldSize } = distributed.init();
 */
export function init(options: InitOptions = {}): World {
  const o = checkOptions<InitOptions>(options, 'distributed.init', ['backend', 'timeoutMs', 'verifyCollectives'], { initMethod: 'the launcher (mpirun, srun) starts the processes; init reads its environment' });
  const backend = o.backend ?? 'mpi';
  if (backend !== 'mpi' && backend !== 'nccl') throw new ArgumentError(`distributed.init: expected backend to be 'mpi' or 'nccl', received ${describe(backend)}`);
  const timeoutMs = o.timeoutMs === undefined ? 600_000 : checkNumber(o.timeoutMs, 'distributed.init', 'timeoutMs', { min: 1, integer: true });
  const verify = o.verifyCollectives ?? true;
  if (typeof verify !== 'boolean') throw new ArgumentError(`distributed.init: expected verifyCollectives to be a boolean, received ${describe(verify)}`);
  if (state && !state.finalized) throw new EntrenaError('ERR_INVALID_ARGUMENT', 'distributed.init: already initialised in this process');
  if (state?.finalized) throw new EntrenaError('ERR_INVALID_ARGUMENT', 'distributed.init: this process has finalized; MPI cannot be initialised twice in one process');
  const env = launcherWorld();
  const usesMpi = env.worldSize > 1;
  // One GPU per local rank: CUDA starts lazily, so this takes effect unless CUDA was used already
  // (nothing here may query CUDA before it).
  if (backend === 'nccl' && env.localWorldSize > 1 && process.env.CUDA_VISIBLE_DEVICES === undefined) process.env.CUDA_VISIBLE_DEVICES = String(env.localRank);
  if (!process.env.ENTRENA_NUM_THREADS && env.localWorldSize > 1) {
    setNumThreads(Math.max(1, Math.floor(native.cpuFeatures().physicalCores / env.localWorldSize)));
  }
  // The ranks' CPU threads already fill the cores (above), so MPI's busy polling of the communication
  // thread oversubscribes them: OpenMPI yields while it waits unless the user says otherwise
  // (measured, Fashion-MNIST MLP on 2 ranks of a busy 2-core machine: 31.5 s/epoch polling, 8.1 s yielding).
  if (usesMpi && process.env.OMPI_MCA_mpi_yield_when_idle === undefined) process.env.OMPI_MCA_mpi_yield_when_idle = '1';
  const info = startCollectives(usesMpi, process.env.ENTRENA_MPI_LIB ?? '', process.env.ENTRENA_NCCL_LIB ?? '', timeoutMs, onComplete, verify);
  state = { rank: info.rank, worldSize: info.size, localRank: env.localRank, localWorldSize: env.localWorldSize, backend, library: info.library, usesMpi, finalized: false };
  if (usesMpi) installExitHooks();
  return { rank: state.rank, worldSize: state.worldSize, localRank: state.localRank };
}

/** True between `init()` and `finalize()`. @example if (!distributed.isInitialized()) distributed.init(); */
export function isInitialized(): boolean {
  return state !== null && !state.finalized;
}
/** This process's rank (0 when not initialised: a world of one). @example if (distributed.rank() === 0) console.log('…'); */
export function rank(): number {
  return state && !state.finalized ? state.rank : 0;
}
/** The number of processes (1 when not initialised). @example const n = distributed.worldSize(); */
export function worldSize(): number {
  return state && !state.finalized ? state.worldSize : 1;
}
/** This process's rank on its machine (0 when not initialised). @example const gpu = distributed.localRank(); */
export function localRank(): number {
  return state && !state.finalized ? state.localRank : 0;
}
/** The backend `init` chose, or null. @example distributed.backend() // 'mpi' */
export function backend(): Backend | null {
  return state && !state.finalized ? state.backend : null;
}

function requireInit(where: string): State {
  if (!state || state.finalized) throw new EntrenaError('ERR_INVALID_ARGUMENT', `${where}: distributed.init() has not been called${state?.finalized ? ' (or finalize() was)' : ''}`);
  return state;
}

function checkTensor(t: unknown, where: string, s: State): Tensor {
  if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: expected a Tensor, received ${describe(t)}`);
  t.assertAlive(where);
  if (!t.isContiguous()) throw new ArgumentError(`${where}: expected a contiguous tensor (call .contiguous() and use the result), received a strided view of shape ${shapeStr(t.shape)}`);
  if (t.device === 'cuda' && s.backend !== 'nccl' && s.worldSize > 1)
    throw new DeviceError(`${where}: CUDA tensors need the 'nccl' backend (distributed.init({ backend: 'nccl' })); this process was initialised with 'mpi'`);
  return t;
}

/** Whether a CUDA tensor in a world of one without NCCL: done in JavaScript, no library needed. */
function localCuda(t: Tensor, s: State): boolean {
  return t.device === 'cuda' && s.backend !== 'nccl' && s.worldSize === 1;
}

interface Pending { resolve: (t: Tensor) => void; reject: (e: unknown) => void; work: Work }
const pending = new Map<number, Pending>();

function onComplete(id: number): void {
  const p = pending.get(id);
  if (!p) return;
  pending.delete(id);
  try {
    p.resolve(p.work.wait());
  } catch (e) {
    p.reject(e);
  }
}

/**
 * A collective in flight (`asyncOp: true`): `wait()` blocks until it is done and returns its
 * result; `await work` waits without blocking the event loop.
 * @example
 * const work = distributed.allReduce(t, { op: 'sum', asyncOp: true });
 * // ... other work ...
 * await work; // or work.wait()
 */
export class Work implements PromiseLike<Tensor> {
  private settled: { ok: true } | { ok: false; error: unknown } | null = null;
  private readonly promise: Promise<Tensor>;
  /** @internal */
  constructor(private readonly id: number, readonly result: Tensor, notified = true) {
    this.promise = new Promise<Tensor>((resolve, reject) => {
      if (notified) pending.set(id, { resolve, reject, work: this });
      else resolve(result);
    });
    // A Work used only through wait() must not surface its failure a second time as an unhandled rejection.
    this.promise.catch(() => undefined);
  }
  /** True when the collective has finished (wait() would not block). */
  isCompleted(): boolean {
    return this.settled !== null || this.id === 0 || collectiveDone(this.id);
  }
  /** Blocks until the collective is done; returns its result (the tensor, or allGather's new tensor). */
  wait(): Tensor {
    if (!this.settled && this.id !== 0) {
      try {
        waitCollective(this.id);
        this.settled = { ok: true };
      } catch (e) {
        this.settled = { ok: false, error: e };
      }
    } else if (!this.settled) this.settled = { ok: true };
    if (!this.settled.ok) throw this.settled.error;
    return this.result;
  }
  then<A = Tensor, B = never>(onfulfilled?: ((value: Tensor) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.promise.then(onfulfilled, onrejected);
  }
}

/** One collective on `t`: queued, as a Work (`asyncOp`), or run to completion now. Returns `result`. */
function collective(kind: CollectiveKind, t: Tensor, options: CollectiveOptions, result: Tensor, asyncOp: boolean): Tensor | Work {
  if (asyncOp) return new Work(submitCollective(kind, t, { ...options, notify: true }), result);
  runCollective(kind, t, options);
  return result;
}

/** Options of `allReduce`. */
export interface AllReduceOptions {
  /** 'sum' (default), 'avg' (the sum divided by the world size; truncating for int32), 'max', 'min'. */
  op?: ReduceOp;
  /** Return a `Work` at once instead of waiting (default false). */
  asyncOp?: boolean;
}

/**
 * Reduces `t` across all ranks, in place: afterwards every rank holds the same result. CPU tensors
 * go through MPI, CUDA tensors through NCCL; float32, float64 and int32 natively, bfloat16 and
 * float16 through a float32 copy (summed in float32, rounded once; neither engine is asked to add
 * 16-bit values).
 * @example
 * const g = tensor([distributed.rank() + 1]);
 * distributed.allReduce(g, { op: 'sum' }); // on 2 ranks: [3] everywhere
 */
export function allReduce(t: Tensor, options: AllReduceOptions & { asyncOp: true }): Work;
export function allReduce(t: Tensor, options?: AllReduceOptions): Tensor;
export function allReduce(t: Tensor, options: AllReduceOptions = {}): Tensor | Work {
  const s = requireInit('allReduce');
  const o = checkOptions<AllReduceOptions>(options, 'allReduce', ['op', 'asyncOp'], { asyncOP: "use asyncOp" });
  const op = o.op ?? 'sum';
  if (!REDUCE_OPS.includes(op)) throw new ArgumentError(`allReduce: expected op to be one of 'sum', 'avg', 'max', 'min', received ${describe(op)}`);
  checkTensor(t, 'allReduce', s);
  if (localCuda(t, s)) return o.asyncOp ? new Work(0, t, false) : t;
  if (isHalf(t.dtype)) {
    reduceHalf(t, op);
    return o.asyncOp ? new Work(0, t, false) : t;
  }
  return collective('allReduce', t, { op }, t, o.asyncOp === true);
}

/** A 16-bit tensor's all-reduce: on a float32 copy, written back rounded once (synchronous). */
function reduceHalf(t: Tensor, op: ReduceOp): void {
  const wide = copyAs(t, 'float32');
  try {
    runCollective('allReduce', wide, { op });
    copyStrided(t, wide);
  } finally {
    wide.dispose();
  }
}

/** An all-reduce in flight that only `wait()` completes. */
export interface PendingReduce { wait(): void }

/**
 * @internal For DistributedDataParallel's buckets: starts an all-reduce and returns a handle that
 * only `wait()` completes — no promise and no event-loop callback per call, so a training loop
 * that never yields to the event loop accumulates nothing.
 */
export function startAllReduce(t: Tensor, op: ReduceOp): PendingReduce {
  const s = requireInit('allReduce');
  checkTensor(t, 'allReduce', s);
  if (localCuda(t, s)) return { wait: () => undefined };
  if (isHalf(t.dtype)) { reduceHalf(t, op); return { wait: () => undefined }; }
  const id = submitCollective('allReduce', t, { op, notify: false });
  let done = false;
  return { wait: () => { if (!done) { done = true; waitCollective(id); } } };
}

/**
 * Copies `t` of rank `root` into `t` of every other rank, in place.
 * @example distributed.broadcast(weights, 0); // every rank now has rank 0's weights
 */
export function broadcast(t: Tensor, root: number, options: { asyncOp: true }): Work;
export function broadcast(t: Tensor, root?: number, options?: { asyncOp?: boolean }): Tensor;
export function broadcast(t: Tensor, root = 0, options: { asyncOp?: boolean } = {}): Tensor | Work {
  const s = requireInit('broadcast');
  const o = checkOptions<{ asyncOp?: boolean }>(options, 'broadcast', ['asyncOp']);
  checkNumber(root, 'broadcast', 'root', { min: 0, max: s.worldSize - 1, integer: true });
  checkTensor(t, 'broadcast', s);
  if (localCuda(t, s)) return o.asyncOp ? new Work(0, t, false) : t;
  return collective('broadcast', t, { root }, t, o.asyncOp === true);
}

/**
 * Gathers `t` from every rank into a new tensor of shape [worldSize, ...t.shape], ordered by rank
 * (PyTorch's `all_gather_into_tensor` with a leading rank dimension).
 * @example const all = distributed.allGather(tensor([distributed.rank()])); // [[0], [1]] on 2 ranks
 */
export function allGather(t: Tensor, options: { asyncOp: true }): Work;
export function allGather(t: Tensor, options?: { asyncOp?: boolean }): Tensor;
export function allGather(t: Tensor, options: { asyncOp?: boolean } = {}): Tensor | Work {
  const s = requireInit('allGather');
  const o = checkOptions<{ asyncOp?: boolean }>(options, 'allGather', ['asyncOp']);
  checkTensor(t, 'allGather', s);
  if (localCuda(t, s)) {
    const r = t.reshape([1, ...t.shape]).clone();
    return o.asyncOp ? new Work(0, r, false) : r;
  }
  const out = Tensor.empty([s.worldSize, ...t.shape], t.dtype, t.device);
  try {
    return collective('allGather', t, { out }, out, o.asyncOp === true);
  } catch (e) {
    out.dispose();
    throw e;
  }
}

/**
 * Waits until every rank has reached the barrier.
 * @example distributed.barrier(); // rank 0 has written the checkpoint before anyone reads it
 */
export function barrier(): void {
  requireInit('barrier');
  runCollective('barrier', null);
}

/**
 * Finishes the collectives, finalises MPI and stops the communication thread. Called at exit
 * automatically (mpirun reports a failure for processes that exit without it).
 * @example distributed.finalize();
 */
export function finalize(): void {
  if (!state || state.finalized) return;
  state.finalized = true;
  stopCollectives();
}

let hooksInstalled = false;
/**
 * MPI jobs need MPI_Finalize at a clean exit, and must end as a whole when one rank fails: a rank
 * that exits with an error (or throws uncaught) aborts the job (MPI_Abort), naming its rank and
 * the error, instead of leaving the others blocked in their next collective.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('uncaughtExceptionMonitor', (err: unknown, origin: string) => {
    // With a handler of the user's own, the process may go on: leave the decision to the exit hook.
    if (process.listenerCount('uncaughtException') > 0 || !state || state.finalized) return;
    const text = err instanceof Error ? (err.stack ?? String(err)) : String(err);
    abortJob(1, `entrena.distributed: rank ${state.rank} of ${state.worldSize} failed (${origin}): ${text}\nentrena.distributed: ending the job`);
  });
  process.on('exit', (code: number) => {
    if (!state || state.finalized) return;
    if (code === 0) finalize();
    else abortJob(code, `entrena.distributed: rank ${state.rank} of ${state.worldSize} is exiting with code ${code}; ending the job`);
  });
}

