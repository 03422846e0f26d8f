// bench/peer.mjs — what the benchmarks share about the machine and the PyTorch peer: the
// environment the peer process runs in, the CPU line (model and the SIMD flags that decide which
// kernels run), and the OpenBLAS core PyTorch's BLAS picked.
//
// The peer's environment drops OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so OpenBLAS picks its core
// and block sizes from the CPU itself as it does on a user's machine (a value inherited from the
// shell could pin a slower or faster core than the CPU would get), and sets
// MALLOC_MMAP_THRESHOLD_=268435456 so glibc keeps PyTorch's large temporaries on the heap instead
// of mapping and unmapping them (page faults) on every call. Only the peer's child process gets
// this environment; tests and CI never set these variables.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export const PYTHON = '/usr/bin/python3';

/** The environment of a peer child process with `threads` threads. */
export function peerEnv(threads, extra = {}) {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads), MALLOC_MMAP_THRESHOLD_: '268435456', ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** "AMD EPYC 7B13 (avx2 fma; no avx512f, avx512_bf16)" from /proc/cpuinfo, or the arch when unreadable. */
export function cpuLine() {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { return `${process.arch} (no /proc/cpuinfo)`; }
  const field = (name) => text.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/));
  // aarch64 calls NEON "asimd"; its /proc/cpuinfo names no model, only implementer and part ids.
  const model = field('model name') ?? (field('CPU implementer') ? `ARM implementer ${field('CPU implementer')} part ${field('CPU part')}` : process.arch);
  const wanted = process.arch === 'arm64' ? [['asimd', 'neon'], ['sve', 'sve'], ['bf16', 'bf16']]
    : [['avx2', 'avx2'], ['fma', 'fma'], ['avx512f', 'avx512f'], ['avx512_bf16', 'avx512_bf16']];
  const yes = wanted.filter(([f]) => flags.has(f)).map(([, n]) => n);
  const no = wanted.filter(([f]) => !flags.has(f)).map(([, n]) => n);
  return `${model} (${yes.join(' ') || 'none of the SIMD flags'}${no.length ? `; no ${no.join(', ')}` : ''})`;
}

/**
 * The BLAS behind PyTorch in the peer's environment: OpenBLAS prints "Core: NAME" on stderr when
 * OPENBLAS_VERBOSE=2. Returns e.g. "OpenBLAS core Zen", or a note when it cannot tell.
 */
export function peerBlas(threads) {
  const r = spawnSync(PYTHON, ['-c', 'import torch\na = torch.rand(64, 64)\n(a @ a).sum()\nprint(torch.__version__)'], {
    encoding: 'utf8', env: peerEnv(threads, { OPENBLAS_VERBOSE: '2' }), timeout: 120_000,
  });
  if (r.status !== 0) return 'BLAS unknown (torch did not run)';
  const core = r.stderr.match(/Core:\s*(\S+)/)?.[1];
  return core ? `OpenBLAS core ${core}` : 'BLAS core not reported (not OpenBLAS, or OPENBLAS_VERBOSE ignored)';
}

/**
 * "load average 1.9 on 2 CPUs": printed with the figures, because a busy machine costs a peer whose
 * threads meet at spinning barriers (OpenMP in PyTorch and oneDNN) far more than it costs a
 * dynamically balanced pool, and the ratios move with it.
 */
export function loadLine() {
  return `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`;
}
