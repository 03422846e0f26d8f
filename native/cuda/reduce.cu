// reduce.cu — CUDA reductions and softmax over the middle axis of a contiguous [outer, n, inner].
//
// Shape legend: row r ∈ [0, outer·inner) is (o, i) = (r / inner, r % inner); its n elements sit at
// in[o·n·inner + k·inner + i], k ∈ [0, n). Semantics mirror native/cpu/reduce.cc exactly:
//   - sum, mean, prod and var accumulate in double (float inputs included), so the result is as
//     good as the CPU's; the only difference is the order of the (tree) summation;
//   - var is two-pass (a mean pass, then squared deviations from it), p0 = correction;
//   - max/min/argmax/argmin propagate NaN (the first NaN wins), ties go to the smallest index,
//     argmax/argmin write int32.
// Block layout: a block of bx × by = 256 threads owns bx consecutive rows; the by threads of a
// row stride over k and meet in a shared-memory tree. bx is 32 when inner ≥ 32 (a warp reads 32
// consecutive i of one k: coalesced); when inner = 1, rows are n apart and the by threads of a row
// read consecutive k instead. When there are too few rows to fill the GPU (a full reduction of a
// big tensor), n is also split into chunks over blockIdx.y, each chunk writes a partial state and
// a second small kernel combines them in order.
// Softmax keeps the CPU's stable form (subtract the row max; an all −∞ row uses 0) and sums
// exp in double; float rows exponentiate in float (expf), within 1 ulp of the CPU's double exp.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels.cuh"

namespace entrena::cuda {
namespace {

constexpr int kBlock = 256;

enum Mode : int { kSum = 0, kProd = 1, kSqDev = 2, kMax = 3, kMin = 4 };
enum Finish : int { kOutSum = 0, kOutMean = 1, kOutVar = 2, kOutValue = 3, kOutIndex = 4, kOutMeanF64 = 5 };

struct Acc {
  double v;
  long long i;
};

template <int M>
__device__ __forceinline__ Acc identity() {
  if (M == kProd) return {1.0, 0};
  if (M == kMax) return {-INFINITY, LLONG_MAX};
  if (M == kMin) return {INFINITY, LLONG_MAX};
  return {0.0, 0};
}

// For max/min: true when a should be kept over b. A total order (NaN first, then the better value,
// then the smaller index), so the tree gives the same answer as the CPU's left-to-right scan.
template <int M>
__device__ __forceinline__ bool better(const Acc& a, const Acc& b) {
  const bool an = a.v != a.v, bn = b.v != b.v;
  if (an || bn) return (an && bn) ? a.i < b.i : an;
  if (a.v == b.v) return a.i < b.i;
  return M == kMax ? a.v > b.v : a.v < b.v;
}

template <int M>
__device__ __forceinline__ Acc combine(const Acc& a, const Acc& b) {
  if (M == kMax || M == kMin) return better<M>(a, b) ? a : b;
  if (M == kProd) return {a.v * b.v, 0};
  return {a.v + b.v, 0};
}

template <int M, typename T>
__device__ __forceinline__ Acc step(Acc acc, T x, long long k, double mean) {
  if (M == kSum) acc.v += static_cast<double>(x);
  else if (M == kProd) acc.v *= static_cast<double>(x);
  else if (M == kSqDev) {
    double d = static_cast<double>(x) - mean;
    acc.v += d * d;
  } else {
    Acc c{static_cast<double>(x), k};
    if (better<M>(c, acc)) acc = c;
  }
  return acc;
}

struct Layout {
  int64_t rows, n, inner;
  int bx, by;
  int64_t groups;  // ceil(rows / bx)
};

Layout make_layout(int64_t outer, int64_t n, int64_t inner) {
  Layout L{outer * inner, n, inner, 1, kBlock, 0};
  if (inner == 1) {
    int by = 32;
    while (by < kBlock && by < n) by *= 2;
    L.by = by;
    L.bx = kBlock / by;
  } else {
    int bx = 1;
    while (bx < 32 && bx < inner) bx *= 2;
    L.bx = bx;
    L.by = kBlock / bx;
  }
  L.groups = (L.rows + L.bx - 1) / L.bx;
  return L;
}

__device__ __forceinline__ int64_t row_base(int64_t r, int64_t n, int64_t inner) {
  return (r / inner) * n * inner + (r % inner);
}

template <typename T>
__device__ __forceinline__ void write_out(int F, void* out, int64_t r, const Acc& a, int64_t n, double p0) {
  switch (F) {
    case kOutSum: static_cast<T*>(out)[r] = static_cast<T>(a.v); break;
    case kOutMean: static_cast<T*>(out)[r] = static_cast<T>(a.v / static_cast<double>(n)); break;
    case kOutVar: {
      double denom = static_cast<double>(n) - p0;
      static_cast<T*>(out)[r] = static_cast<T>(denom > 0 ? a.v / denom : NAN);
      break;
    }
    case kOutValue: static_cast<T*>(out)[r] = static_cast<T>(a.v); break;
    case kOutIndex: static_cast<int32_t*>(out)[r] = static_cast<int32_t>(a.i); break;
    case kOutMeanF64: static_cast<double*>(out)[r] = a.v / static_cast<double>(n); break;
  }
}

// One pass. chunk: elements of k per blockIdx.y (= n when not split). partial: null to finish in
// place, else [rows, gridDim.y] states for reduce_finish. mean: per-row means for kSqDev.
template <typename T, int M>
__global__ void __launch_bounds__(kBlock) reduce_pass(Layout L, const T* __restrict__ in, int64_t chunk,
                                                      const double* __restrict__ mean, Acc* __restrict__ partial,
                                                      int finish, void* out, double p0) {
  __shared__ Acc sm[kBlock];
  const int tx = threadIdx.x % L.bx, ty = threadIdx.x / L.bx;
  const int64_t k_begin = static_cast<int64_t>(blockIdx.y) * chunk;
  const int64_t k_end = min(L.n, k_begin + chunk);
  for (int64_t g = blockIdx.x; g < L.groups; g += gridDim.x) {
    const int64_t r = g * L.bx + tx;
    Acc acc = identity<M>();
    if (r < L.rows) {
      const T* x = in + row_base(r, L.n, L.inner);
      const double mu = M == kSqDev ? mean[r] : 0.0;
      for (int64_t k = k_begin + ty; k < k_end; k += L.by) acc = step<M>(acc, x[k * L.inner], k, mu);
    }
    sm[threadIdx.x] = acc;
    __syncthreads();
    for (int s = L.by / 2; s > 0; s >>= 1) {
      if (ty < s) sm[threadIdx.x] = combine<M>(sm[threadIdx.x], sm[threadIdx.x + s * L.bx]);
      __syncthreads();
    }
    if (ty == 0 && r < L.rows) {
      if (partial) partial[r * gridDim.y + blockIdx.y] = sm[tx];
      else write_out<T>(finish, out, r, sm[tx], L.n, p0);
    }
    __syncthreads();  // sm is reused by the next group
  }
}

// Combines the chunk states of each row, in chunk order.
template <typename T, int M>
__global__ void reduce_finish(int64_t rows, int chunks, const Acc* __restrict__ partial, int finish, void* out,
                              int64_t n, double p0) {

  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    Acc acc = partial[r * chunks];
    for (int c = 1; c < chunks; ++c) acc = combine<M>(acc, partial[r * chunks + c]);
    write_out<T>(finish, out, r, acc, n, p0);
  }
}

int sm_count() {
  static int sms = [] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess || v <= 0) {
      cudaGetLastError();
      v = 80;
    }
    return v;
  }();
  return sms;
}

template <typename T, int M>
Status run_pass(const Layout& L, const T* in, const double* mean, int finish, void* out, double p0) {
  const int64_t blocks = std::min<int64_t>(L.groups, 65536);
  // Split n when the rows alone cannot fill the GPU and each thread would still get ≥ 4 elements.
  int64_t chunks = 1;
  const int64_t want = 4LL * sm_count();
  if (blocks < want && L.n > 4LL * L.by) {
    chunks = std::min<int64_t>((want + blocks - 1) / blocks, (L.n + 4LL * L.by - 1) / (4LL * L.by));
    chunks = std::max<int64_t>(1, std::min<int64_t>(chunks, 1024));
  }
  int64_t chunk = (L.n + chunks - 1) / chunks;
  chunks = (L.n + chunk - 1) / chunk;  // every chunk non-empty
  dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(chunks));
  if (chunks == 1) {
    reduce_pass<T, M><<<grid, kBlock, 0, stream()>>>(L, in, L.n, mean, nullptr, finish, out, p0);
    return check_launch("reduce kernel");
  }
  Scratch part;
  ENTRENA_TRY(part.take(sizeof(Acc) * static_cast<size_t>(L.rows * chunks)));
  Acc* partial = static_cast<Acc*>(part.ptr);
  reduce_pass<T, M><<<grid, kBlock, 0, stream()>>>(L, in, chunk, mean, partial, finish, out, p0);
  ENTRENA_TRY(check_launch("reduce kernel"));
  reduce_finish<T, M><<<grid_for(L.rows), kThreads, 0, stream()>>>(L.rows, static_cast<int>(chunks), partial, finish,
                                                                   out, L.n, p0);
  return check_launch("reduce finish kernel");
}

template <typename T>
__global__ void fill_value(T* out, int64_t n, T v) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    out[i] = v;
}

template <typename T>
Status reduce_typed(ReduceOp op, int64_t outer, int64_t n, int64_t inner, const T* in, void* out, double p0) {
  const int64_t rows = outer * inner;
  if (rows == 0) return Status::ok;
  if (n == 0) {
    T v;
    if (op == ReduceOp::sum) v = T(0);
    else if (op == ReduceOp::prod) v = T(1);
    else if (op == ReduceOp::mean || op == ReduceOp::var) v = std::numeric_limits<T>::quiet_NaN();  // int32 refused earlier
    else return set_error(Status::shape, "cannot reduce (max/min/argmax/argmin) over an empty dimension");
    fill_value<T><<<grid_for(rows), kThreads, 0, stream()>>>(static_cast<T*>(out), rows, v);
    return check_launch("reduce fill kernel");
  }
  const Layout L = make_layout(outer, n, inner);
  switch (op) {
    case ReduceOp::sum: return run_pass<T, kSum>(L, in, nullptr, kOutSum, out, p0);
    case ReduceOp::mean: return run_pass<T, kSum>(L, in, nullptr, kOutMean, out, p0);
    case ReduceOp::prod: return run_pass<T, kProd>(L, in, nullptr, kOutSum, out, p0);
    case ReduceOp::max: return run_pass<T, kMax>(L, in, nullptr, kOutValue, out, p0);
    case ReduceOp::min: return run_pass<T, kMin>(L, in, nullptr, kOutValue, out, p0);
    case ReduceOp::argmax: return run_pass<T, kMax>(L, in, nullptr, kOutIndex, out, p0);
    case ReduceOp::argmin: return run_pass<T, kMin>(L, in, nullptr, kOutIndex, out, p0);
    case ReduceOp::var: {
      // Two passes: the row means (in double), then the squared deviations from them.
      Scratch means;
      ENTRENA_TRY(means.take(sizeof(double) * static_cast<size_t>(rows)));
      double* mu = static_cast<double*>(means.ptr);
      ENTRENA_TRY((run_pass<T, kSum>(L, in, nullptr, kOutMeanF64, mu, p0)));
      return run_pass<T, kSqDev>(L, in, mu, kOutVar, out, p0);
    }
  }
  return set_error(Status::invalid_argument, "unknown reduction %d", static_cast<int>(op));
}

// ---- softmax ----------------------------------------------------------------------------------

template <typename T> __device__ __forceinline__ T exp_t(T x);
template <> __device__ __forceinline__ float exp_t<float>(float x) { return expf(x); }
template <> __device__ __forceinline__ double exp_t<double>(double x) { return exp(x); }

// Shared-memory tree over the by threads of each row (double values), result broadcast to all.
template <bool IsMax>
__device__ __forceinline__ double block_row_reduce(double* sm, double v, int tx, int ty, int bx, int by) {
  sm[threadIdx.x] = v;
  __syncthreads();
  for (int s = by / 2; s > 0; s >>= 1) {
    if (ty < s) {
      double a = sm[threadIdx.x], b = sm[threadIdx.x + s * bx];
      sm[threadIdx.x] = IsMax ? (a != a ? a : b != b ? b : (a > b ? a : b)) : a + b;
    }
    __syncthreads();
  }
  double r = sm[tx];
  __syncthreads();
  return r;
}

template <typename T>
__global__ void __launch_bounds__(kBlock) softmax_kernel(Layout L, bool log, const T* __restrict__ in, T* __restrict__ out) {
  __shared__ double sm[kBlock];
  const int tx = threadIdx.x % L.bx, ty = threadIdx.x / L.bx;
  for (int64_t g = blockIdx.x; g < L.groups; g += gridDim.x) {
    const int64_t r = g * L.bx + tx;
    const bool live = r < L.rows;
    const int64_t base = live ? row_base(r, L.n, L.inner) : 0;
    const T* x = in + base;
    T* y = out + base;
    // 1. the row maximum (NaN propagates)
    T m = -INFINITY;
    if (live)
      for (int64_t k = ty; k < L.n; k += L.by) {
        T v = x[k * L.inner];
        if (v != v || v > m) m = v;
      }
    m = static_cast<T>(block_row_reduce<true>(sm, static_cast<double>(m), tx, ty, L.bx, L.by));
    if (m == -INFINITY) m = T(0);  // an all −∞ row stays NaN-free in the max
    // 2. Σ exp(x − m) in double
    double s = 0;
    if (live)
      for (int64_t k = ty; k < L.n; k += L.by) s += static_cast<double>(exp_t<T>(x[k * L.inner] - m));
    s = block_row_reduce<false>(sm, s, tx, ty, L.bx, L.by);
    // 3. write
    if (live) {
      if (log) {
        const T lse = static_cast<T>(::log(s));
        for (int64_t k = ty; k < L.n; k += L.by) y[k * L.inner] = x[k * L.inner] - m - lse;
      } else {
        const double inv = 1.0 / s;
        for (int64_t k = ty; k < L.n; k += L.by)
          y[k * L.inner] = static_cast<T>(static_cast<double>(exp_t<T>(x[k * L.inner] - m)) * inv);
      }
    }
  }
}

// softmax:     dx = y ⊙ (dy − Σ dy⊙y)
// log_softmax: dx = dy − exp(y) ⊙ Σ dy
template <typename T>
__global__ void __launch_bounds__(kBlock) softmax_backward_kernel(Layout L, bool log, const T* __restrict__ y,
                                                                   const T* __restrict__ dy, T* __restrict__ dx) {
  __shared__ double sm[kBlock];
  const int tx = threadIdx.x % L.bx, ty = threadIdx.x / L.bx;
  for (int64_t g = blockIdx.x; g < L.groups; g += gridDim.x) {
    const int64_t r = g * L.bx + tx;
    const bool live = r < L.rows;
    const int64_t base = live ? row_base(r, L.n, L.inner) : 0;
    double s = 0;
    if (live)
      for (int64_t k = ty; k < L.n; k += L.by) {
        const int64_t e = base + k * L.inner;
        s += log ? static_cast<double>(dy[e]) : static_cast<double>(dy[e]) * static_cast<double>(y[e]);
      }
    s = block_row_reduce<false>(sm, s, tx, ty, L.bx, L.by);
    if (live)
      for (int64_t k = ty; k < L.n; k += L.by) {
        const int64_t e = base + k * L.inner;
        if (log) dx[e] = static_cast<T>(static_cast<double>(dy[e]) - ::exp(static_cast<double>(y[e])) * s);
        else dx[e] = static_cast<T>(static_cast<double>(y[e]) * (static_cast<double>(dy[e]) - s));
      }
  }
}

unsigned blocks_for(const Layout& L) { return static_cast<unsigned>(std::min<int64_t>(L.groups, 65536)); }

}  // namespace

Status reduce(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in, void* out, double p0) {
  switch (dt) {
    case DType::f32: return reduce_typed<float>(op, outer, n, inner, static_cast<const float*>(in), out, p0);
    case DType::f64: return reduce_typed<double>(op, outer, n, inner, static_cast<const double*>(in), out, p0);
    case DType::i32:
      if (op == ReduceOp::mean || op == ReduceOp::var)
        return set_error(Status::dtype, "reduction needs a floating dtype, received int32");
      return reduce_typed<int32_t>(op, outer, n, inner, static_cast<const int32_t*>(in), out, p0);
    default: break;
  }
  return set_error(Status::dtype, "reduction needs float32, float64 or int32, received %s", dtype_name(dt));
}

Status softmax(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in, void* out) {
  if (dt == DType::i32) return set_error(Status::dtype, "softmax needs a floating dtype, received int32");
  if (dt != DType::f32 && dt != DType::f64) return set_error(Status::dtype, "unknown dtype");
  if (outer * inner == 0 || n == 0) return Status::ok;
  const Layout L = make_layout(outer, n, inner);
  if (dt == DType::f32)
    softmax_kernel<float><<<blocks_for(L), kBlock, 0, stream()>>>(L, log, static_cast<const float*>(in), static_cast<float*>(out));
  else
    softmax_kernel<double><<<blocks_for(L), kBlock, 0, stream()>>>(L, log, static_cast<const double*>(in), static_cast<double*>(out));
  return check_launch("softmax kernel");
}

Status softmax_backward(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* y, const void* dy, void* dx) {
  if (dt == DType::i32) return set_error(Status::dtype, "softmax needs a floating dtype, received int32");
  if (dt != DType::f32 && dt != DType::f64) return set_error(Status::dtype, "unknown dtype");
  if (outer * inner == 0 || n == 0) return Status::ok;
  const Layout L = make_layout(outer, n, inner);
  if (dt == DType::f32)
    softmax_backward_kernel<float><<<blocks_for(L), kBlock, 0, stream()>>>(
        L, log, static_cast<const float*>(y), static_cast<const float*>(dy), static_cast<float*>(dx));
  else
    softmax_backward_kernel<double><<<blocks_for(L), kBlock, 0, stream()>>>(
        L, log, static_cast<const double*>(y), static_cast<const double*>(dy), static_cast<double*>(dx));
  return check_launch("softmax backward kernel");
}

}  // namespace entrena::cuda
