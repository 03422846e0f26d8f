// batchnorm.cu — fused CUDA batch normalisation, forward and backward, over contiguous [N, C, L].
//
// What it is: the CUDA twin of native/cpu/batchnorm.cc, with the semantics documented on
// BatchNormArgs in core/backend.h (torch.nn.functional.batch_norm; Ioffe & Szegedy 2015). Every
// formula, the per-channel fold y = x·scale + shift, the two-pass variance, the unbiased running
// variance and which pointers may be null are the CPU's; only the order of the sums differs.
//
// Shape legend: N batch, C channels, L positions per channel and sample, M = N·L elements per
// channel. Element (n, c, l) sits at (n·C + c)·L + l. Every per-channel array holds C elements.
//
// Numerics: per-channel sums accumulate in double (float inputs included): each thread sums its
// elements in double, a block combines its threads in a fixed shared-memory tree into one partial
// per (column, slice), and a finishing kernel (one warp per channel) adds the partials in a fixed
// order — so results are deterministic, independent of timing, and as accurate as the CPU's.
// The per-channel scalar arithmetic (mean, invstd, running-stat update, scale/shift, backward
// coefficients) is done in double with __d*_rn intrinsics so that nvcc's FMA contraction cannot
// change it from the CPU's.
//
// Reduction layout (two kernels, picked by L):
//   L ≥ 32 ("channel" kernel): grid (C, S); block (c, s) reduces slice s of channel c's M
//          elements; the elements of one sample are L contiguous values, so warps read coalesced.
//          Partial layout [C][1][S].
//   L < 32 ("column" kernel; L = 1 is BatchNorm1d on [N, C]): the tensor is seen as N rows of
//          Q = C·L columns; a 32 × 8 block owns 32 consecutive columns (a warp reads one row's
//          32 columns: coalesced) and slice s of the rows. Partial layout [C][L][S] (= [Q][S]).
// S (slices) is chosen to give the GPU ~2k blocks without making a block's share tiny.
//
// Kernel sequence (all on the process stream; scratch from the caching allocator, released in
// stream order):
//   forward, training: Σx → mean → Σ(x − mean)² → var, invstd, save_*, running_*, scale, shift → y
//   forward, eval:     scale, shift from running stats → y
//   backward:          mean, invstd (saved or running) → Σdy, Σdy·(x − mean) → dweight, dbias and
//                      the dx coefficients → dx
#include <cmath>
#include <cstdint>

#include "kernels.cuh"

namespace entrena::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int kColW = 32, kColH = 8;       // column kernel block: 32 columns × 8 row-strides
constexpr int64_t kTargetBlocks = 2048;    // ~16 blocks per SM on an H100: plenty of loads in flight
constexpr int64_t kMaxSlices = 1024;

// No-contraction double arithmetic (the CPU addon is built without FMA).
__device__ __forceinline__ double dadd(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double dsub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double dmul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double ddiv(double a, double b) { return __ddiv_rn(a, b); }

// Per-channel double workspace (scratch), C entries per field.
struct Chan {
  double* mean;    // batch or running mean
  double* invstd;  // forward: unused after finish; backward: invstd (saved, or from running_var)
  double* scale;   // forward: invstd·w; backward: invstd·w
  double* shift;   // forward: bias − mean·scale; backward: Σdy / M
  double* proj;    // backward: Σdy·(x − mean)·invstd² / M
};

// ---- accumulators: what one element adds to the K per-channel sums --------------------------------

template <typename T>
struct SumX {  // Σ x
  static constexpr int K = 1;
  const T* x;
  __device__ __forceinline__ void operator()(int64_t idx, int64_t, double (&acc)[1]) const {
    acc[0] += static_cast<double>(x[idx]);
  }
};

template <typename T>
struct SqDev {  // Σ (x − mean)²
  static constexpr int K = 1;
  const T* x;
  const double* mean;
  __device__ __forceinline__ void operator()(int64_t idx, int64_t c, double (&acc)[1]) const {
    const double d = dsub(static_cast<double>(x[idx]), mean[c]);
    acc[0] = dadd(acc[0], dmul(d, d));
  }
};

template <typename T>
struct DyDot {  // Σ dy and Σ dy·(x − mean)
  static constexpr int K = 2;
  const T* dy;
  const T* x;
  const double* mean;
  __device__ __forceinline__ void operator()(int64_t idx, int64_t c, double (&acc)[2]) const {
    const double g = static_cast<double>(dy[idx]);
    acc[0] += g;
    acc[1] = dadd(acc[1], dmul(g, dsub(static_cast<double>(x[idx]), mean[c])));
  }
};

// ---- partial sums --------------------------------------------------------------------------------

// L ≥ 32: block (c = blockIdx.x, s = blockIdx.y) sums elements m ∈ [s·chunk, (s+1)·chunk) of
// channel c (m = n·L + l). Index is uint32_t when M fits, so the per-element split of m is a
// 32-bit division. Writes partial[(c·S + s)·K + k].
template <typename Index, typename F>
__global__ void __launch_bounds__(kBlock) partial_channel(F f, int64_t C, int64_t L, int64_t M, int64_t chunk, double* partial) {
  constexpr int K = F::K;
  const int64_t c = blockIdx.x;
  const int64_t s = blockIdx.y;
  const int64_t S = gridDim.y;
  double acc[K];
#pragma unroll
  for (int k = 0; k < K; ++k) acc[k] = 0;
  const int64_t m0 = s * chunk;
  const int64_t m1 = m0 + chunk < M ? m0 + chunk : M;
  const Index len = static_cast<Index>(m1 > m0 ? m1 - m0 : 0);
  const Index l = static_cast<Index>(L);
  for (Index t = threadIdx.x; t < len; t += blockDim.x) {
    const Index m = static_cast<Index>(m0) + t;
    const Index n = m / l;
    const Index j = m - n * l;
    f((static_cast<int64_t>(n) * C + c) * L + static_cast<int64_t>(j), c, acc);
  }
  // Block tree in shared memory (fixed order: deterministic).
  __shared__ double sh[K][kBlock];
#pragma unroll
  for (int k = 0; k < K; ++k) sh[k][threadIdx.x] = acc[k];
  __syncthreads();
  for (int w = kBlock / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) {
#pragma unroll
      for (int k = 0; k < K; ++k) sh[k][threadIdx.x] += sh[k][threadIdx.x + w];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
#pragma unroll
    for (int k = 0; k < K; ++k) partial[(c * S + s) * K + k] = sh[k][0];
  }
}

// L < 32: the tensor as N rows of Q = C·L columns. Block (blockIdx.x, s = blockIdx.y) with
// threads (tx, ty) ∈ 32 × 8: column q = blockIdx.x·32 + tx, rows n ∈ [s·rows, (s+1)·rows) with
// stride 8. Writes partial[(q·S + s)·K + k] (q = c·L + l, so the layout is [C][L][S][K]).
template <typename F>
__global__ void __launch_bounds__(kColW * kColH) partial_column(F f, int64_t N, int64_t L, int64_t Q, int64_t rows, double* partial) {
  constexpr int K = F::K;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t q = static_cast<int64_t>(blockIdx.x) * kColW + tx;
  const int64_t s = blockIdx.y;
  const int64_t S = gridDim.y;
  double acc[K];
#pragma unroll
  for (int k = 0; k < K; ++k) acc[k] = 0;
  if (q < Q) {
    const int64_t c = q / L;
    const int64_t n0 = s * rows;
    const int64_t n1 = n0 + rows < N ? n0 + rows : N;
    for (int64_t n = n0 + ty; n < n1; n += kColH) f(n * Q + q, c, acc);
  }
  __shared__ double sh[K][kColH][kColW];
#pragma unroll
  for (int k = 0; k < K; ++k) sh[k][ty][tx] = acc[k];
  __syncthreads();
  if (ty == 0 && q < Q) {
#pragma unroll
    for (int k = 0; k < K; ++k) {
      double v = sh[k][0][tx];
#pragma unroll
      for (int r = 1; r < kColH; ++r) v += sh[k][r][tx];
      partial[(q * S + s) * K + k] = v;
    }
  }
}

// The reduction plan for one call: which kernel, how many slices, and the partial-buffer size.
struct Plan {
  bool column = false;   // L < 32
  int64_t S = 0;         // slices per column / channel; 0 when M = 0 (no partials: sums are 0)
  int64_t J = 1;         // partial groups per channel: L for the column kernel, 1 otherwise
  int64_t chunk = 0;     // channel kernel: elements per slice
  int64_t rows = 0;      // column kernel: rows per slice
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

Plan make_plan(int64_t N, int64_t C, int64_t L) {
  Plan p;
  const int64_t M = N * L;
  if (M == 0 || C == 0) return p;
  if (L >= 32) {
    p.column = false;
    p.J = 1;
    // ≥ 1024 elements (4 per thread) per block.
    p.S = clamp64(ceil_div(kTargetBlocks, C), 1, clamp64(ceil_div(M, 1024), 1, kMaxSlices));
    p.chunk = ceil_div(M, p.S);
    p.S = ceil_div(M, p.chunk);  // no empty trailing slices
  } else {
    p.column = true;
    p.J = L;
    const int64_t gx = ceil_div(C * L, kColW);
    // ≥ 32 rows (4 per thread) per block.
    p.S = clamp64(ceil_div(kTargetBlocks, gx), 1, clamp64(ceil_div(N, 32), 1, kMaxSlices));
    p.rows = ceil_div(N, p.S);
    p.S = ceil_div(N, p.rows);
  }
  return p;
}

// Queues the partial-sum kernel of `f` over all channels. partial holds C·J·S·K doubles.
template <typename F>
Status run_partials(const Plan& p, F f, int64_t N, int64_t C, int64_t L, double* partial) {
  if (p.S == 0) return Status::ok;
  if (p.column) {
    dim3 grid(static_cast<unsigned>(ceil_div(C * L, kColW)), static_cast<unsigned>(p.S));
    partial_column<F><<<grid, dim3(kColW, kColH), 0, stream()>>>(f, N, L, C * L, p.rows, partial);
  } else {
    const int64_t M = N * L;
    dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(p.S));
    if (M <= static_cast<int64_t>(UINT32_MAX) - kBlock)
      partial_channel<uint32_t, F><<<grid, kBlock, 0, stream()>>>(f, C, L, M, p.chunk, partial);
    else
      partial_channel<uint64_t, F><<<grid, kBlock, 0, stream()>>>(f, C, L, M, p.chunk, partial);
  }
  return check_launch("batchnorm partial-sum kernel");
}

// One warp per channel: sums[k] = Σ over the channel's J·S partials (fixed order: lane-strided,
// then a shuffle tree). Returns the sums on every lane.
template <int K>
__device__ __forceinline__ void channel_total(const double* partial, int64_t c, int64_t JS, int lane, double (&sum)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) sum[k] = 0;
  const double* base = partial + c * JS * K;
  for (int64_t e = lane; e < JS; e += 32) {
#pragma unroll
    for (int k = 0; k < K; ++k) sum[k] += base[e * K + k];
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
#pragma unroll
    for (int k = 0; k < K; ++k) sum[k] += __shfl_xor_sync(0xffffffffu, sum[k], off);
  }
}

constexpr int kWarpsPerBlock = 8;
inline unsigned warp_grid(int64_t C) { return static_cast<unsigned>(ceil_div(C, kWarpsPerBlock)); }

// mean[c] = Σx / M.
__global__ void finish_mean(const double* partial, int64_t C, int64_t JS, double M, Chan ch) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (c >= C) return;  // whole warps leave together (c is warp-uniform)
  double sum[1];
  channel_total<1>(partial, c, JS, threadIdx.x % 32, sum);
  if (threadIdx.x % 32 == 0) ch.mean[c] = ddiv(sum[0], M);
}

// Training forward, per channel: var, invstd, save_*, running_* and the y fold (scale, shift).
template <typename T>
__global__ void finish_forward(const double* partial, int64_t C, int64_t JS, double M, double eps, double momentum,
                               const T* weight, const T* bias, T* rm, T* rv, T* save_mean, T* save_invstd, Chan ch) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (c >= C) return;
  double sum[1];
  channel_total<1>(partial, c, JS, threadIdx.x % 32, sum);
  if (threadIdx.x % 32 != 0) return;
  const double ss = sum[0];
  const double mean = ch.mean[c];
  const double var = ddiv(ss, M);
  const double invstd = ddiv(1.0, __dsqrt_rn(dadd(var, eps)));
  if (save_mean) save_mean[c] = static_cast<T>(mean);
  if (save_invstd) save_invstd[c] = static_cast<T>(invstd);
  if (rm) rm[c] = static_cast<T>(dadd(dmul(dsub(1.0, momentum), static_cast<double>(rm[c])), dmul(momentum, mean)));
  if (rv) {
    // Unbiased (Bessel-corrected) variance into the running estimate, as PyTorch (M = 1: NaN/inf).
    const double unbiased = ddiv(ss, dsub(M, 1.0));
    rv[c] = static_cast<T>(dadd(dmul(dsub(1.0, momentum), static_cast<double>(rv[c])), dmul(momentum, unbiased)));
  }
  const double wt = weight ? static_cast<double>(weight[c]) : 1.0;
  const double b = bias ? static_cast<double>(bias[c]) : 0.0;
  const double scale = dmul(invstd, wt);
  ch.scale[c] = scale;
  ch.shift[c] = dsub(b, dmul(mean, scale));
}

// Eval forward, per channel (one thread each): the fold from the running statistics.
template <typename T>
__global__ void prepare_eval_forward(int64_t C, double eps, const T* weight, const T* bias, const T* rm, const T* rv, Chan ch) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double mean = static_cast<double>(rm[c]);
  const double invstd = ddiv(1.0, __dsqrt_rn(dadd(static_cast<double>(rv[c]), eps)));
  const double wt = weight ? static_cast<double>(weight[c]) : 1.0;
  const double b = bias ? static_cast<double>(bias[c]) : 0.0;
  const double scale = dmul(invstd, wt);
  ch.scale[c] = scale;
  ch.shift[c] = dsub(b, dmul(mean, scale));
}

// y = x·scale[c] + shift[c] over every element; c = (idx / L) mod C.
template <typename T, typename Index>
__global__ void apply_forward(const T* __restrict__ x, T* __restrict__ y, Index total, Index C, Index L, const double* __restrict__ scale,
                              const double* __restrict__ shift) {
  const Index step = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Index c = (i / L) % C;
    y[i] = static_cast<T>(dadd(dmul(static_cast<double>(x[i]), scale[c]), shift[c]));
  }
}

// Backward, per channel (one thread each): the statistics the backward pass is taken at.
template <typename T>
__global__ void prepare_backward(int64_t C, bool training, double eps, const T* save_mean, const T* save_invstd, const T* rm,
                                 const T* rv, Chan ch) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  if (training) {
    ch.mean[c] = static_cast<double>(save_mean[c]);
    ch.invstd[c] = static_cast<double>(save_invstd[c]);
  } else {
    ch.mean[c] = static_cast<double>(rm[c]);
    ch.invstd[c] = ddiv(1.0, __dsqrt_rn(dadd(static_cast<double>(rv[c]), eps)));
  }
}

// Backward, per channel: dweight = Σdy·(x − mean)·invstd, dbias = Σdy, and the dx coefficients.
template <typename T>
__global__ void finish_backward(const double* partial, int64_t C, int64_t JS, double M, bool training, const T* weight, T* dw, T* db,
                                Chan ch) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (c >= C) return;
  double sum[2];
  channel_total<2>(partial, c, JS, threadIdx.x % 32, sum);
  if (threadIdx.x % 32 != 0) return;
  const double sum_dy = sum[0], dot = sum[1];
  const double invstd = ch.invstd[c];
  if (dw) dw[c] = static_cast<T>(dmul(dot, invstd));  // Σ dy·xhat
  if (db) db[c] = static_cast<T>(sum_dy);
  const double wt = weight ? static_cast<double>(weight[c]) : 1.0;
  ch.scale[c] = dmul(invstd, wt);
  if (training) {
    // dx = (dy − Σdy/M − (x − mean)·invstd²·Σ(dy·(x − mean))/M)·invstd·w
    ch.shift[c] = ddiv(sum_dy, M);
    ch.proj[c] = ddiv(dmul(dmul(dot, invstd), invstd), M);
  }
}

// dx over every element: training (dy − mean_dy − (x − mean)·proj)·scale, eval dy·scale.
template <typename T, typename Index, bool kTraining>
__global__ void apply_backward(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ dx, Index total, Index C, Index L,
                               Chan ch) {
  const Index step = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Index c = (i / L) % C;
    const double g = static_cast<double>(dy[i]);
    if constexpr (kTraining) {
      const double xm = dsub(static_cast<double>(x[i]), ch.mean[c]);
      dx[i] = static_cast<T>(dmul(dsub(dsub(g, ch.shift[c]), dmul(xm, ch.proj[c])), ch.scale[c]));
    } else {
      dx[i] = static_cast<T>(dmul(g, ch.scale[c]));
    }
  }
}

// Scratch: the Chan fields (5·C doubles) followed by the partials (C·J·S·K doubles).
struct Workspace {
  Scratch mem;
  Chan ch{};
  double* partial = nullptr;
  Status take(int64_t C, const Plan& p, int K) {
    const int64_t chan = 5 * C;
    const int64_t part = p.S == 0 ? 0 : C * p.J * p.S * K;
    ENTRENA_TRY(mem.take(static_cast<size_t>(chan + part) * sizeof(double)));
    double* d = static_cast<double*>(mem.ptr);
    ch = Chan{d, d + C, d + 2 * C, d + 3 * C, d + 4 * C};
    partial = d + chan;
    return Status::ok;
  }
};

inline unsigned chan_grid(int64_t C) { return static_cast<unsigned>(ceil_div(C, kBlock)); }

template <typename T>
Status forward(const BatchNormArgs& a) {
  if (!a.training && (!a.running_mean || !a.running_var))
    return set_error(Status::invalid_argument, "batchnorm_forward: evaluation mode needs running_mean and running_var");
  const int64_t N = a.n, C = a.c, L = a.l, M = N * L, total = N * C * L;
  const T* x = static_cast<const T*>(a.x);
  const T* weight = static_cast<const T*>(a.weight);
  const T* bias = static_cast<const T*>(a.bias);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const Plan p = a.training ? make_plan(N, C, L) : Plan{};
  Workspace ws;
  ENTRENA_TRY(ws.take(C, p, 1));
  const int64_t JS = p.J * p.S;
  if (a.training) {
    ENTRENA_TRY(run_partials(p, SumX<T>{x}, N, C, L, ws.partial));
    finish_mean<<<warp_grid(C), kWarpsPerBlock * 32, 0, stream()>>>(ws.partial, C, JS, static_cast<double>(M), ws.ch);
    ENTRENA_TRY(check_launch("batchnorm finish_mean kernel"));
    ENTRENA_TRY(run_partials(p, SqDev<T>{x, ws.ch.mean}, N, C, L, ws.partial));
    finish_forward<T><<<warp_grid(C), kWarpsPerBlock * 32, 0, stream()>>>(
        ws.partial, C, JS, static_cast<double>(M), a.eps, a.momentum, weight, bias, rm, rv, static_cast<T*>(a.save_mean),
        static_cast<T*>(a.save_invstd), ws.ch);
    ENTRENA_TRY(check_launch("batchnorm finish_forward kernel"));
  } else {
    prepare_eval_forward<T><<<chan_grid(C), kBlock, 0, stream()>>>(C, a.eps, weight, bias, rm, rv, ws.ch);
    ENTRENA_TRY(check_launch("batchnorm prepare_eval_forward kernel"));
  }
  T* y = static_cast<T*>(a.y);
  if (total <= static_cast<int64_t>(UINT32_MAX) - static_cast<int64_t>(grid_for(total)) * kThreads)
    apply_forward<T, uint32_t><<<grid_for(total), kThreads, 0, stream()>>>(x, y, static_cast<uint32_t>(total), static_cast<uint32_t>(C),
                                                                          static_cast<uint32_t>(L), ws.ch.scale, ws.ch.shift);
  else
    apply_forward<T, uint64_t><<<grid_for(total), kThreads, 0, stream()>>>(x, y, static_cast<uint64_t>(total), static_cast<uint64_t>(C),
                                                                          static_cast<uint64_t>(L), ws.ch.scale, ws.ch.shift);
  return check_launch("batchnorm apply_forward kernel");
}

template <typename T, typename Index>
void launch_dx(const BatchNormArgs& a, int64_t total, const Chan& ch) {
  const T* x = static_cast<const T*>(a.x);
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
  if (a.training)
    apply_backward<T, Index, true><<<grid_for(total), kThreads, 0, stream()>>>(x, dy, dx, static_cast<Index>(total), static_cast<Index>(a.c),
                                                                              static_cast<Index>(a.l), ch);
  else
    apply_backward<T, Index, false><<<grid_for(total), kThreads, 0, stream()>>>(x, dy, dx, static_cast<Index>(total), static_cast<Index>(a.c),
                                                                               static_cast<Index>(a.l), ch);
}

template <typename T>
Status backward(const BatchNormArgs& a) {
  if (a.training && (!a.save_mean || !a.save_invstd))
    return set_error(Status::invalid_argument, "batchnorm_backward: training mode needs save_mean and save_invstd from the forward pass");
  if (!a.training && (!a.running_mean || !a.running_var))
    return set_error(Status::invalid_argument, "batchnorm_backward: evaluation mode needs running_mean and running_var");
  const int64_t N = a.n, C = a.c, L = a.l, M = N * L, total = N * C * L;
  const Plan p = make_plan(N, C, L);
  Workspace ws;
  ENTRENA_TRY(ws.take(C, p, 2));
  prepare_backward<T><<<chan_grid(C), kBlock, 0, stream()>>>(C, a.training, a.eps, static_cast<const T*>(a.save_mean),
                                                             static_cast<const T*>(a.save_invstd), static_cast<const T*>(a.running_mean),
                                                             static_cast<const T*>(a.running_var), ws.ch);
  ENTRENA_TRY(check_launch("batchnorm prepare_backward kernel"));
  ENTRENA_TRY(run_partials(p, DyDot<T>{static_cast<const T*>(a.dy), static_cast<const T*>(a.x), ws.ch.mean}, N, C, L, ws.partial));
  finish_backward<T><<<warp_grid(C), kWarpsPerBlock * 32, 0, stream()>>>(ws.partial, C, p.J * p.S, static_cast<double>(M), a.training,
                                                                       static_cast<const T*>(a.weight), static_cast<T*>(a.dweight),
                                                                       static_cast<T*>(a.dbias), ws.ch);
  ENTRENA_TRY(check_launch("batchnorm finish_backward kernel"));
  if (!a.dx || total == 0) return Status::ok;
  if (total <= static_cast<int64_t>(UINT32_MAX) - static_cast<int64_t>(grid_for(total)) * kThreads)
    launch_dx<T, uint32_t>(a, total, ws.ch);
  else
    launch_dx<T, uint64_t>(a, total, ws.ch);
  return check_launch("batchnorm apply_backward kernel");
}

}  // namespace

Status batchnorm_forward(const BatchNormArgs& a) {
  ENTRENA_TRY(check_batchnorm_args(a, "batchnorm_forward"));
  if (a.n * a.c * a.l == 0) return Status::ok;  // as the CPU: nothing written, running stats untouched
  return a.dtype == DType::f32 ? forward<float>(a) : forward<double>(a);
}

Status batchnorm_backward(const BatchNormArgs& a) {
  ENTRENA_TRY(check_batchnorm_args(a, "batchnorm_backward"));
  if (a.c == 0) return Status::ok;  // M = 0 with C > 0: dweight = dbias = 0, as the CPU
  return a.dtype == DType::f32 ? backward<float>(a) : backward<double>(a);
}

}  // namespace entrena::cuda
