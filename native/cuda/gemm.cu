// gemm.cu — CUDA GEMM: our own SGEMM and DGEMM kernels (no cuBLAS, DESIGN principle 9).
//
// Shape legend: C[b] (M×N) = alpha · op(A[b]) (M×K) · op(B[b]) (K×N) + beta · C[b], row-major
// with leading dimensions lda, ldb, ldc and batch strides; trans_a means A is stored K×M, trans_b
// means B is stored N×K (core/backend.h). beta == 0 writes C without reading it, as BLAS does.
// native/cpu/gemm_ref.cc is the oracle these kernels are tested against (test/gpu/cuda.test.mjs).
//
// sgemm_128x128 — the fast float32 path, in the style of the best hand-written SIMT SGEMMs
// (the double-buffered 128×128×8 Maxwell kernel; siboehm, "How to optimize a CUDA matmul kernel
// for cuBLAS-like performance", kernels 6–10):
//   - a 256-thread block owns a 128×128 tile of C and walks K in steps of BK = 8;
//   - each k-step the block stages A (as Aᵀ, so that a thread's 8 rows are one float4 pair) and B
//     in shared memory; two shared buffers and register prefetch of the next step's global loads
//     hide global latency behind the 8 × 64 FMAs of the current step, with one barrier per step;
//   - warp tiling: 8 warps as 2 (M) × 4 (N), each warp a 64×32 tile, each lane an 8×8 micro-tile
//     split into 2×2 blocks of 4×4 (rows lm, lm+32; cols ln, ln+16), so every shared read is a
//     conflict-free float4 (8 lanes of a warp read 32 consecutive floats) and a k-step is 4 LDS.128
//     for 64 FFMA;
//   - global loads and C stores are float4 whenever the leading dimensions and pointers are
//     16-byte aligned (checked on the host), scalar and bounds-checked otherwise and at the edges;
//     the shared rows are padded by 4 floats so the transposing stores do not conflict either;
//   - the four transpose combinations are template instances; only the loads differ;
//   - batches run over gridDim.z, M tiles over gridDim.y (the host slices past the 65535 limit).
// gemm_tiled — a plain 64×64×16 shared-memory kernel (4×4 per thread) for float64, and for float32
// problems too small to fill the GPU with 128×128 tiles. It is also the fallback that
// ENTRENA_CUDA_GEMM=simple selects, which is the first thing to try if the fast kernel is suspect.
// Accumulation is in the element type (float for float32), as cuBLAS does; against the double
// reference the relative error grows like sqrt(K)·2⁻²⁴.
// bfloat16/float16, and float32 when GemmArgs::tf32 allows TF32, go to the tensor-core kernel of
// gemm_tc.cu (float32 accumulation, C rounded once).
#include <climits>
#include <cstdlib>
#include <cstring>

#include "kernels.cuh"

namespace entrena::cuda {
namespace {

template <typename T>
struct Params {
  int m, n, k, batch;
  T alpha, beta;
  const T* a; int64_t lda, stride_a;
  const T* b; int64_t ldb, stride_b;
  T* c; int64_t ldc, stride_c;
  bool vec_a, vec_b, vec_c;  // float4 access allowed (alignment of pointer, ld and batch stride)
};

// ---- sgemm_128x128 ----------------------------------------------------------------------------

constexpr int kBM = 128, kBN = 128, kBK = 8, kPad = 4, kSgemmThreads = 256;

template <bool TA, bool TB>
__global__ void __launch_bounds__(kSgemmThreads, 2) sgemm_128x128(Params<float> p) {
  __shared__ __align__(16) float As[2][kBK][kBM + kPad];  // As[k][m] = op(A)[row0 + m][k0 + k]
  __shared__ __align__(16) float Bs[2][kBK][kBN + kPad];  // Bs[k][n] = op(B)[k0 + k][col0 + n]

  const int t = threadIdx.x;
  const int M = p.m, N = p.n, K = p.k;
  const int row0 = blockIdx.y * kBM, col0 = blockIdx.x * kBN;
  const float* A = p.a + static_cast<int64_t>(blockIdx.z) * p.stride_a;
  const float* B = p.b + static_cast<int64_t>(blockIdx.z) * p.stride_b;
  float* C = p.c + static_cast<int64_t>(blockIdx.z) * p.stride_c;

  // Global load assignment: one float4 of A and one of B per thread per k-step (8×128 = 256 float4
  // each). Along K-contiguous storage a thread takes (row t>>1, k (t&1)*4 .. +3); along M- or
  // N-contiguous storage it takes (k t>>5, rows or cols (t&31)*4 .. +3). `ga`/`gb` point at the
  // thread's first element for k0 = 0 and advance by a fixed step per k-step.
  const int a_m = TA ? (t & 31) * 4 : (t >> 1);   // tile row of the first element
  const int a_k = TA ? (t >> 5) : (t & 1) * 4;    // tile k of the first element
  const int b_n = TB ? (t >> 1) : (t & 31) * 4;
  const int b_k = TB ? (t & 1) * 4 : (t >> 5);
  const float* ga = TA ? A + static_cast<int64_t>(a_k) * p.lda + (row0 + a_m) : A + static_cast<int64_t>(row0 + a_m) * p.lda + a_k;
  const float* gb = TB ? B + static_cast<int64_t>(col0 + b_n) * p.ldb + b_k : B + static_cast<int64_t>(b_k) * p.ldb + (col0 + b_n);
  const int64_t a_step = TA ? kBK * p.lda : kBK;
  const int64_t b_step = TB ? kBK : kBK * p.ldb;
  // Four consecutive elements along the contiguous direction; `lim` is how many are in range.
  auto load4 = [](const float* s, int lim, bool vec) -> float4 {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (vec && lim >= 4) return __ldg(reinterpret_cast<const float4*>(s));
    if (lim > 0) v.x = __ldg(s);
    if (lim > 1) v.y = __ldg(s + 1);
    if (lim > 2) v.z = __ldg(s + 2);
    if (lim > 3) v.w = __ldg(s + 3);
    return v;
  };
  auto load_a = [&](int k0) -> float4 {
    if (TA) return (k0 + a_k < K) ? load4(ga, M - (row0 + a_m), p.vec_a) : make_float4(0.f, 0.f, 0.f, 0.f);
    return (row0 + a_m < M) ? load4(ga, K - (k0 + a_k), p.vec_a) : make_float4(0.f, 0.f, 0.f, 0.f);
  };
  auto load_b = [&](int k0) -> float4 {
    if (TB) return (col0 + b_n < N) ? load4(gb, K - (k0 + b_k), p.vec_b) : make_float4(0.f, 0.f, 0.f, 0.f);
    return (k0 + b_k < K) ? load4(gb, N - (col0 + b_n), p.vec_b) : make_float4(0.f, 0.f, 0.f, 0.f);
  };
  auto store_a = [&](int buf, float4 v) {
    if (TA) {
      *reinterpret_cast<float4*>(&As[buf][a_k][a_m]) = v;
    } else {
      As[buf][a_k + 0][a_m] = v.x;
      As[buf][a_k + 1][a_m] = v.y;
      As[buf][a_k + 2][a_m] = v.z;
      As[buf][a_k + 3][a_m] = v.w;
    }
  };
  auto store_b = [&](int buf, float4 v) {
    if (TB) {
      Bs[buf][b_k + 0][b_n] = v.x;
      Bs[buf][b_k + 1][b_n] = v.y;
      Bs[buf][b_k + 2][b_n] = v.z;
      Bs[buf][b_k + 3][b_n] = v.w;
    } else {
      *reinterpret_cast<float4*>(&Bs[buf][b_k][b_n]) = v;
    }
  };

  // Warp tiling of the compute: 8 warps as 2 (M) × 4 (N), each a 64×32 tile; lane micro-tile rows
  // wm+lm+{0..3} and wm+32+lm+{0..3}, cols wn+ln+{0..3} and wn+16+ln+{0..3}.
  const int warp = t >> 5, lane = t & 31;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  const int lm = (lane >> 2) * 4, ln = (lane & 3) * 4;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  const int k_tiles = (K + kBK - 1) / kBK;
  if (k_tiles > 0) {
    float4 ra = load_a(0), rb = load_b(0);
    store_a(0, ra);
    store_b(0, rb);
    __syncthreads();
    for (int kt = 0; kt < k_tiles; ++kt) {
      const int cur = kt & 1;
      const bool more = kt + 1 < k_tiles;
      if (more) {  // prefetch the next k-step into registers while this one computes
        ga += a_step;
        gb += b_step;
        ra = load_a((kt + 1) * kBK);
        rb = load_b((kt + 1) * kBK);
      }
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][wm + lm]);
        const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][wm + 32 + lm]);
        const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][wn + ln]);
        const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][wn + 16 + ln]);
        const float af[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float bf[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(af[i], bf[j], acc[i][j]);
      }
      if (more) {  // the other buffer was last read before the previous barrier
        store_a(cur ^ 1, ra);
        store_b(cur ^ 1, rb);
      }
      __syncthreads();
    }
  }

  // Epilogue: C = alpha·acc + beta·C (C not read when beta == 0).
  const float alpha = p.alpha, beta = p.beta;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = row0 + wm + (i < 4 ? lm + i : 32 + lm + (i - 4));
    if (r >= M) continue;
    float* crow = C + static_cast<int64_t>(r) * p.ldc;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = col0 + wn + ln + g * 16;
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = alpha * acc[i][g * 4 + j];
      if (p.vec_c && c + 3 < N) {
        float4* dst = reinterpret_cast<float4*>(crow + c);
        if (beta != 0.f) {
          const float4 old = *dst;
          v[0] = fmaf(beta, old.x, v[0]);
          v[1] = fmaf(beta, old.y, v[1]);
          v[2] = fmaf(beta, old.z, v[2]);
          v[3] = fmaf(beta, old.w, v[3]);
        }
        *dst = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (c + j < N) crow[c + j] = beta != 0.f ? fmaf(beta, crow[c + j], v[j]) : v[j];
      }
    }
  }
}

// ---- gemm_tiled (float64, small float32, fallback) ----------------------------------------------

constexpr int kTile = 64, kTK = 16;

template <typename T, bool TA, bool TB>
__global__ void __launch_bounds__(256) gemm_tiled(Params<T> p) {
  __shared__ T As[kTK][kTile + 1];  // As[k][m]
  __shared__ T Bs[kTK][kTile + 1];  // Bs[k][n]
  const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
  const int M = p.m, N = p.n, K = p.k;
  const int col0 = blockIdx.x * kTile, row0 = blockIdx.y * kTile;
  {
    const T* A = p.a + static_cast<int64_t>(blockIdx.z) * p.stride_a;
    const T* B = p.b + static_cast<int64_t>(blockIdx.z) * p.stride_b;
    T* C = p.c + static_cast<int64_t>(blockIdx.z) * p.stride_c;
    {
      T acc[4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = T(0);
      for (int k0 = 0; k0 < K; k0 += kTK) {
        // 64×16 elements of each operand, 4 per thread; consecutive threads follow the stored
        // contiguous direction so that global reads coalesce.
#pragma unroll
        for (int l = 0; l < 4; ++l) {
          const int e = t + l * 256;
          int m, kk;
          if (!TA) { m = e >> 4; kk = e & 15; } else { kk = e >> 6; m = e & 63; }
          const int r = row0 + m, kg = k0 + kk;
          T v = T(0);
          if (r < M && kg < K) v = TA ? A[static_cast<int64_t>(kg) * p.lda + r] : A[static_cast<int64_t>(r) * p.lda + kg];
          As[kk][m] = v;
          int n;
          if (!TB) { kk = e >> 6; n = e & 63; } else { n = e >> 4; kk = e & 15; }
          const int c = col0 + n, kb = k0 + kk;
          T w = T(0);
          if (c < N && kb < K) w = TB ? B[static_cast<int64_t>(c) * p.ldb + kb] : B[static_cast<int64_t>(kb) * p.ldb + c];
          Bs[kk][n] = w;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTK; ++kk) {
          T af[4], bf[4];
#pragma unroll
          for (int i = 0; i < 4; ++i) af[i] = As[kk][ty + 16 * i];
#pragma unroll
          for (int j = 0; j < 4; ++j) bf[j] = Bs[kk][tx + 16 * j];
#pragma unroll
          for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] += af[i] * bf[j];
        }
        __syncthreads();
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = row0 + ty + 16 * i;
        if (r >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int c = col0 + tx + 16 * j;
          if (c >= N) continue;
          T* dst = C + static_cast<int64_t>(r) * p.ldc + c;
          const T v = p.alpha * acc[i][j];
          *dst = p.beta != T(0) ? p.beta * *dst + v : v;
        }
      }
    }
  }
}

// ---- host dispatch ------------------------------------------------------------------------------

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

bool use_simple_kernel() {
  static const bool simple = [] {
    const char* v = std::getenv("ENTRENA_CUDA_GEMM");
    return v && std::strcmp(v, "simple") == 0;
  }();
  return simple;
}

int sm_count() {
  static const int sms = [] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess || v <= 0) {
      cudaGetLastError();
      v = 80;
    }
    return v;
  }();
  return sms;
}

template <typename T>
Params<T> make_params(const GemmArgs& g) {
  Params<T> p{};
  p.m = static_cast<int>(g.m);
  p.n = static_cast<int>(g.n);
  p.k = static_cast<int>(g.k);
  p.batch = static_cast<int>(g.batch);
  p.alpha = static_cast<T>(g.alpha);
  p.beta = static_cast<T>(g.beta);
  p.a = static_cast<const T*>(g.a); p.lda = g.lda; p.stride_a = g.stride_a;
  p.b = static_cast<const T*>(g.b); p.ldb = g.ldb; p.stride_b = g.stride_b;
  p.c = static_cast<T*>(g.c); p.ldc = g.ldc; p.stride_c = g.stride_c;
  const bool one = g.batch <= 1;
  p.vec_a = aligned16(g.a) && g.lda % 4 == 0 && (one || g.stride_a % 4 == 0);
  p.vec_b = aligned16(g.b) && g.ldb % 4 == 0 && (one || g.stride_b % 4 == 0);
  p.vec_c = aligned16(g.c) && g.ldc % 4 == 0 && (one || g.stride_c % 4 == 0);
  return p;
}

dim3 grid_of(int64_t m, int64_t n, int64_t batch, int tile) {
  return dim3(static_cast<unsigned>((n + tile - 1) / tile), static_cast<unsigned>((m + tile - 1) / tile),
              static_cast<unsigned>(batch));
}

template <typename T>
Status launch_tiled(const GemmArgs& g) {
  const Params<T> p = make_params<T>(g);
  const dim3 grid = grid_of(g.m, g.n, g.batch, kTile);
  if (!g.trans_a && !g.trans_b) gemm_tiled<T, false, false><<<grid, 256, 0, stream()>>>(p);
  else if (!g.trans_a && g.trans_b) gemm_tiled<T, false, true><<<grid, 256, 0, stream()>>>(p);
  else if (g.trans_a && !g.trans_b) gemm_tiled<T, true, false><<<grid, 256, 0, stream()>>>(p);
  else gemm_tiled<T, true, true><<<grid, 256, 0, stream()>>>(p);
  return check_launch("gemm_tiled kernel");
}

Status launch_sgemm(const GemmArgs& g) {
  const Params<float> p = make_params<float>(g);
  const dim3 grid = grid_of(g.m, g.n, g.batch, kBM);
  if (!g.trans_a && !g.trans_b) sgemm_128x128<false, false><<<grid, kSgemmThreads, 0, stream()>>>(p);
  else if (!g.trans_a && g.trans_b) sgemm_128x128<false, true><<<grid, kSgemmThreads, 0, stream()>>>(p);
  else if (g.trans_a && !g.trans_b) sgemm_128x128<true, false><<<grid, kSgemmThreads, 0, stream()>>>(p);
  else sgemm_128x128<true, true><<<grid, kSgemmThreads, 0, stream()>>>(p);
  return check_launch("sgemm_128x128 kernel");
}

// gridDim.y and gridDim.z stop at 65535: larger batches and taller matrices are cut into slices,
// each a GEMM of its own on offset pointers (a slice of M rows starts m0 rows into A and C).
template <typename Launch>
Status launch_sliced(const GemmArgs& g, int tile, Launch launch) {
  const int64_t kMaxGrid = 65535;
  const int64_t rows_per_slice = kMaxGrid * tile;
  const size_t es = dtype_size(g.dtype);
  for (int64_t z0 = 0; z0 < g.batch; z0 += kMaxGrid) {
    for (int64_t m0 = 0; m0 < g.m; m0 += rows_per_slice) {
      GemmArgs s = g;
      s.batch = std::min(kMaxGrid, g.batch - z0);
      s.m = std::min(rows_per_slice, g.m - m0);
      const int64_t a_off = z0 * g.stride_a + (g.trans_a ? m0 : m0 * g.lda);
      s.a = static_cast<const char*>(g.a) + a_off * static_cast<int64_t>(es);
      s.b = static_cast<const char*>(g.b) + z0 * g.stride_b * static_cast<int64_t>(es);
      s.c = static_cast<char*>(g.c) + (z0 * g.stride_c + m0 * g.ldc) * static_cast<int64_t>(es);
      ENTRENA_TRY(launch(s));
    }
  }
  return Status::ok;
}

}  // namespace

Status gemm(const GemmArgs& g) {
  if (g.dtype == DType::i32) return set_error(Status::dtype, "matmul needs a floating dtype, received int32");
  if (g.dtype != DType::f32 && g.dtype != DType::f64 && g.dtype != DType::bf16 && g.dtype != DType::f16)
    return set_error(Status::dtype, "unknown dtype");
  if (g.m > INT_MAX || g.n > INT_MAX || g.k > INT_MAX || g.batch > INT_MAX)
    return set_error(Status::shape, "GEMM extent too large for the CUDA kernels (M, N, K and batch must be < 2^31)");
  if (g.m == 0 || g.n == 0 || g.batch == 0) return Status::ok;
  if (g.dtype == DType::f64) return launch_sliced(g, kTile, launch_tiled<double>);
  // bfloat16 / float16: the tensor-core kernel of gemm_tc.cu (its SIMT fallback before sm_80 or
  // under ENTRENA_CUDA_GEMM=simple); float32 with tf32 allowed: the same kernel with TF32 inputs.
  if (g.dtype == DType::bf16 || g.dtype == DType::f16) {
    const bool simple = use_simple_kernel() || !tensor_cores_available();
    return launch_sliced(g, gemm_tc_tile(simple), [simple](const GemmArgs& s) { return gemm_tc_launch(s, simple); });
  }
  if (g.tf32 && !use_simple_kernel() && tensor_cores_available())
    return launch_sliced(g, gemm_tc_tile(false), [](const GemmArgs& s) { return gemm_tc_launch(s, false); });
  // 128×128 tiles when they make at least one wave over the SMs; otherwise the 64×64 kernel's 4×
  // more blocks do better.
  const int64_t tiles = ((g.m + kBM - 1) / kBM) * ((g.n + kBN - 1) / kBN) * g.batch;
  if (use_simple_kernel() || tiles < sm_count()) return launch_sliced(g, kTile, launch_tiled<float>);
  return launch_sliced(g, kBM, launch_sgemm);
}

}  // namespace entrena::cuda
