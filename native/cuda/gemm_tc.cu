// gemm_tc.cu — the tensor-core GEMMs: bfloat16 × bfloat16 and float16 × float16 with float32
// accumulation (mma.sync m16n8k16), and float32 with TF32 inputs (mma.sync m16n8k8) when
// GemmArgs::tf32 is set; plus a plain SIMT kernel for the 16-bit types on devices older than sm_80
// (and under ENTRENA_CUDA_GEMM=simple). gemm.cu's entry dispatches here; the warp-level
// instructions are the wrappers of mma.cuh (emulated on the host by scripts/cuda-emu).
//
// Shape legend (core/backend.h): C[b] (M×N) = alpha · op(A[b]) (M×K) · op(B[b]) (K×N) + beta · C[b],
// row-major, leading dimensions lda/ldb/ldc, batch strides; trans_a: A stored K×M; trans_b: B
// stored N×K. beta == 0 writes C without reading it.
//
// Numerics: products of 16-bit (or tf32) inputs are exact in float32 and are accumulated in float32
// (as cuBLAS and PyTorch do for bf16/f16 matmul), alpha and beta are applied in float32, and the
// 16-bit C is rounded once, by core/half.h's conversion, so that the rounding equals the CPU's.
// TF32 rounds each float32 input to a 10-bit mantissa (cvt.rna: nearest, ties away from zero) —
// PyTorch's allow_tf32 — and writes float32.
//
// gemm_tc_128x128 — the tiled design (CUTLASS's sm80 multistage GEMM, reduced to two stages):
//   - a 256-thread block owns a 128×128 tile of C and walks K in 64-byte steps (BK = 32 elements of
//     a 16-bit type, 16 of float32);
//   - each step a thread issues two 16-byte cp.async of A and two of B into shared memory; two
//     shared buffers: the loads of step k+1 fly while step k computes (one wait and two barriers
//     per step); chunks that cross the matrix edge, or whose rows are not 16-byte aligned, are
//     loaded element by element with zero fill;
//   - the shared tiles keep the stored orientation of A and B (K-contiguous rows for A and Bᵀ,
//     M/N-contiguous rows for Aᵀ and B), padded by 16 or 32 bytes so that ldmatrix and the
//     fragment loads hit 32 distinct banks; the transpose variants differ only in plain vs .trans
//     ldmatrix (16-bit) or in the index of the scalar fragment load (tf32);
//   - warp tiling: 8 warps as 2 (M) × 4 (N), each warp a 64×32 tile = 4 × 4 mma tiles of 16×8,
//     64 float32 accumulators per lane; per 16-wide k-step a warp does 4 + 2 ldmatrix.x4 and 16 mma;
//   - the epilogue writes straight from the accumulator fragments, two adjacent columns per store
//     (32 or 64 bits) where C's alignment allows;
//   - batches over gridDim.z; the 2-D grid of tiles is walked in groups of 8 tile rows (L2 reuse);
//     gemm.cu slices M and the batch past the 65535 limit of gridDim.y/z.
#include <climits>
#include <cstdlib>
#include <cstring>

#include "kernels.cuh"
#include "mma.cuh"

namespace entrena::cuda {
namespace {

using mma::Half16;

constexpr int kBM = 128, kBN = 128, kThreads = 256, kGroupM = 8;

// Element traits: S is the shared/global storage word, BK the k-tile (64 bytes of a row), KS the
// mma's k, kVec the elements of one 16-byte chunk.
template <typename T> struct Tc;
template <> struct Tc<bf16_t> { using S = uint16_t; static constexpr int BK = 32, KS = 16; static constexpr Half16 H = Half16::bf16; };
template <> struct Tc<f16_t> { using S = uint16_t; static constexpr int BK = 32, KS = 16; static constexpr Half16 H = Half16::f16; };
template <> struct Tc<float> { using S = float; static constexpr int BK = 16, KS = 8; };

struct TcParams {
  int m, n, k;
  float alpha, beta;
  const void* a; int64_t lda, stride_a;
  const void* b; int64_t ldb, stride_b;
  void* c; int64_t ldc, stride_c;
  bool vec_a, vec_b;  // 16-byte chunks allowed (pointer, ld and batch stride aligned)
  bool pair_c;        // two adjacent C elements per load/store allowed
};

__device__ __forceinline__ float load_f32(const uint16_t* p, Half16 h) {
  return h == Half16::bf16 ? f32_from_bf16(*p) : f32_from_f16(*p);
}

template <typename T>
__device__ __forceinline__ void store_pair(T* dst, float v0, float v1, float beta, bool pair, bool two) {
  // dst[0] = v0 (+ beta·dst[0]), dst[1] = v1 (+ beta·dst[1]) when `two`; one rounding each.
  using S = typename Tc<T>::S;
  S* d = reinterpret_cast<S*>(dst);
  if constexpr (sizeof(S) == 4) {
    if (pair && two) {
      float2* q = reinterpret_cast<float2*>(d);
      if (beta != 0.f) {
        const float2 old = *q;
        v0 = fmaf(beta, old.x, v0);
        v1 = fmaf(beta, old.y, v1);
      }
      *q = make_float2(v0, v1);
      return;
    }
    d[0] = beta != 0.f ? fmaf(beta, d[0], v0) : v0;
    if (two) d[1] = beta != 0.f ? fmaf(beta, d[1], v1) : v1;
  } else {
    constexpr Half16 H = Tc<T>::H;
    auto round16 = [](float v) -> uint16_t { return H == Half16::bf16 ? bf16_from_f32(v) : f16_from_f32(v); };
    if (pair && two) {
      uint32_t* q = reinterpret_cast<uint32_t*>(d);
      if (beta != 0.f) {
        const uint32_t old = *q;
        v0 = fmaf(beta, load_f32(reinterpret_cast<const uint16_t*>(&old), H), v0);
        const uint16_t hi = static_cast<uint16_t>(old >> 16);
        v1 = fmaf(beta, load_f32(&hi, H), v1);
      }
      *q = static_cast<uint32_t>(round16(v0)) | (static_cast<uint32_t>(round16(v1)) << 16);
      return;
    }
    d[0] = round16(beta != 0.f ? fmaf(beta, load_f32(&d[0], H), v0) : v0);
    if (two) d[1] = round16(beta != 0.f ? fmaf(beta, load_f32(&d[1], H), v1) : v1);
  }
}

template <typename T, bool TA, bool TB>
__global__ void __launch_bounds__(kThreads, 2) gemm_tc_128x128(TcParams p) {
  using S = typename Tc<T>::S;
  constexpr int BK = Tc<T>::BK, KS = Tc<T>::KS;
  constexpr int kVec = 16 / static_cast<int>(sizeof(S));
  // Stored orientation of each tile: rows × contiguous length (+ padding, see the file header).
  constexpr int A_ROWS = TA ? BK : kBM, A_LEN = TA ? kBM : BK, A_LD = A_LEN + (TA ? 8 : kVec);
  constexpr int B_ROWS = TB ? kBN : BK, B_LEN = TB ? BK : kBN, B_LD = B_LEN + (TB ? kVec : 8);
  __shared__ __align__(16) S As[2][A_ROWS][A_LD];
  __shared__ __align__(16) S Bs[2][B_ROWS][B_LD];

  const int t = threadIdx.x;
  const int M = p.m, N = p.n, K = p.k;
  // Tile order: consecutive blocks walk a group of kGroupM tile rows column by column (rather than
  // one whole tile row), so that the blocks resident at one time share their A and B panels in L2.
  int tile_m, tile_n;
  {
    const int64_t gx = gridDim.x, per_group = kGroupM * gx;
    const int64_t linear = static_cast<int64_t>(blockIdx.y) * gx + blockIdx.x;
    const int first = static_cast<int>(linear / per_group) * kGroupM;
    const int rows = min(static_cast<int>(gridDim.y) - first, kGroupM);
    const int64_t in_group = linear % per_group;
    tile_m = first + static_cast<int>(in_group % rows);
    tile_n = static_cast<int>(in_group / rows);
  }
  const int row0 = tile_m * kBM, col0 = tile_n * kBN;
  const S* A = static_cast<const S*>(p.a) + static_cast<int64_t>(blockIdx.z) * p.stride_a;
  const S* B = static_cast<const S*>(p.b) + static_cast<int64_t>(blockIdx.z) * p.stride_b;
  T* C = static_cast<T*>(p.c) + static_cast<int64_t>(blockIdx.z) * p.stride_c;

  // One 16-byte chunk: cp.async when whole and aligned, else element by element with zero fill.
  auto chunk = [](S* dst, const S* src, bool row_ok, int lim, bool vec) {
    if (row_ok && vec && lim >= kVec) {
      mma::cp_async16(dst, src);
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) dst[e] = (row_ok && e < lim) ? src[e] : S(0);
    }
  };
  // A tile and B tile of k-step k0 into buffer buf: 512 chunks each, two per thread.
  auto load_tiles = [&](int buf, int k0) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int c = t + h * kThreads;
      {
        const int r = c / (A_LEN / kVec), e = (c % (A_LEN / kVec)) * kVec;
        // !TA: row r is m, e is k. TA: row r is k, e is m.
        const int gm = TA ? row0 + e : row0 + r, gk = TA ? k0 + r : k0 + e;
        const S* src = TA ? A + static_cast<int64_t>(gk) * p.lda + gm : A + static_cast<int64_t>(gm) * p.lda + gk;
        chunk(&As[buf][r][e], src, TA ? gk < K : gm < M, TA ? M - gm : K - gk, p.vec_a);
      }
      {
        const int r = c / (B_LEN / kVec), e = (c % (B_LEN / kVec)) * kVec;
        // !TB: row r is k, e is n. TB: row r is n, e is k.
        const int gn = TB ? col0 + r : col0 + e, gk = TB ? k0 + e : k0 + r;
        const S* src = TB ? B + static_cast<int64_t>(gn) * p.ldb + gk : B + static_cast<int64_t>(gk) * p.ldb + gn;
        chunk(&Bs[buf][r][e], src, TB ? gn < N : gk < K, TB ? K - gk : N - gn, p.vec_b);
      }
    }
    mma::cp_async_commit();
  };

  const int warp = t >> 5, lane = t & 31;
  const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;
  const int g = lane >> 2, tq = lane & 3;         // fragment coordinates (mma.cuh)
  const int lm = lane >> 3, lr = lane & 7;        // ldmatrix: matrix lm, row lr of it

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.f;

  const int k_tiles = (K + BK - 1) / BK;
  if (k_tiles > 0) load_tiles(0, 0);
  for (int kt = 0; kt < k_tiles; ++kt) {
    const int cur = kt & 1;
    if (kt + 1 < k_tiles) {
      load_tiles(cur ^ 1, (kt + 1) * BK);  // that buffer was last read before the previous barrier
      mma::cp_async_wait<1>();
    } else {
      mma::cp_async_wait<0>();
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk += KS) {
      uint32_t af[4][4], bfr[4][2];
      if constexpr (sizeof(S) == 2) {
        // A: matrices (rows 0-7 | 8-15) × (k 0-7 | 8-15) in the order a[0..3]; lane lm·8 + lr
        // addresses row lr of matrix lm.
        const int am = (lm & 1) * 8, ak = (lm >> 1) * 8;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          if (!TA) mma::ldmatrix_x4(af[i], &As[cur][wm + 16 * i + am + lr][kk + ak]);
          else mma::ldmatrix_x4_trans(af[i], &As[cur][kk + ak + lr][wm + 16 * i + am]);
        }
        // B: two n8 tiles per ldmatrix.x4; matrix lm covers k (lm & 1)·8.., n (lm >> 1)·8..
        const int bk = (lm & 1) * 8, bn = (lm >> 1) * 8;
#pragma unroll
        for (int j = 0; j < 2; ++j) {
          uint32_t r[4];
          if (!TB) mma::ldmatrix_x4_trans(r, &Bs[cur][kk + bk + lr][wn + 16 * j + bn]);
          else mma::ldmatrix_x4(r, &Bs[cur][wn + 16 * j + bn + lr][kk + bk]);
          bfr[2 * j][0] = r[0];
          bfr[2 * j][1] = r[1];
          bfr[2 * j + 1][0] = r[2];
          bfr[2 * j + 1][1] = r[3];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mma::mma_16816<Tc<T>::H>(acc[i][j], af[i], bfr[j], acc[i][j]);
      } else {
        auto a_at = [&](int m, int k) { return TA ? As[cur][kk + k][m] : As[cur][m][kk + k]; };
        auto b_at = [&](int k, int n) { return TB ? Bs[cur][n][kk + k] : Bs[cur][kk + k][n]; };
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int m = wm + 16 * i + g;
          af[i][0] = mma::tf32_round(a_at(m, tq));
          af[i][1] = mma::tf32_round(a_at(m + 8, tq));
          af[i][2] = mma::tf32_round(a_at(m, tq + 4));
          af[i][3] = mma::tf32_round(a_at(m + 8, tq + 4));
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int n = wn + 8 * j + g;
          bfr[j][0] = mma::tf32_round(b_at(tq, n));
          bfr[j][1] = mma::tf32_round(b_at(tq + 4, n));
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mma::mma_1688_tf32(acc[i][j], af[i], bfr[j], acc[i][j]);
      }
    }
    __syncthreads();
  }

  // Epilogue: lane (g, tq) holds rows g and g+8, columns 2tq and 2tq+1 of each 16×8 tile.
  const float alpha = p.alpha, beta = p.beta;
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row0 + wm + 16 * i + g + 8 * h;
      if (r >= M) continue;
      T* crow = C + static_cast<int64_t>(r) * p.ldc;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int c = col0 + wn + 8 * j + 2 * tq;
        if (c >= N) continue;
        store_pair<T>(crow + c, alpha * acc[i][j][2 * h], alpha * acc[i][j][2 * h + 1], beta, p.pair_c, c + 1 < N);
      }
    }
}

// ---- simple SIMT kernel for the 16-bit types (pre-sm_80 devices, ENTRENA_CUDA_GEMM=simple) -------

constexpr int kTile = 64, kTK = 16;

template <typename T, bool TA, bool TB>
__global__ void __launch_bounds__(256) gemm_simple16(TcParams p) {
  constexpr Half16 H = Tc<T>::H;
  __shared__ float As[kTK][kTile + 1];  // As[k][m]
  __shared__ float Bs[kTK][kTile + 1];  // Bs[k][n]
  const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
  const int M = p.m, N = p.n, K = p.k;
  const int col0 = blockIdx.x * kTile, row0 = blockIdx.y * kTile;
  const uint16_t* A = static_cast<const uint16_t*>(p.a) + static_cast<int64_t>(blockIdx.z) * p.stride_a;
  const uint16_t* B = static_cast<const uint16_t*>(p.b) + static_cast<int64_t>(blockIdx.z) * p.stride_b;
  T* C = static_cast<T*>(p.c) + static_cast<int64_t>(blockIdx.z) * p.stride_c;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += kTK) {
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const int e = t + l * 256;
      int m, kk;
      if (!TA) { m = e >> 4; kk = e & 15; } else { kk = e >> 6; m = e & 63; }
      const int r = row0 + m, ka = k0 + kk;
      As[kk][m] = (r < M && ka < K)
          ? load_f32(TA ? &A[static_cast<int64_t>(ka) * p.lda + r] : &A[static_cast<int64_t>(r) * p.lda + ka], H) : 0.f;
      int n;
      if (!TB) { kk = e >> 6; n = e & 63; } else { n = e >> 4; kk = e & 15; }
      const int c = col0 + n, kb = k0 + kk;
      Bs[kk][n] = (c < N && kb < K)
          ? load_f32(TB ? &B[static_cast<int64_t>(c) * p.ldb + kb] : &B[static_cast<int64_t>(kb) * p.ldb + c], H) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTK; ++kk)
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(As[kk][ty + 16 * i], Bs[kk][tx + 16 * j], acc[i][j]);
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty + 16 * i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx + 16 * j;
      if (c < N) store_pair<T>(C + static_cast<int64_t>(r) * p.ldc + c, p.alpha * acc[i][j], 0.f, p.beta, false, false);
    }
  }
}

// ---- host side ------------------------------------------------------------------------------------

bool aligned(const void* ptr, size_t bytes) { return (reinterpret_cast<uintptr_t>(ptr) & (bytes - 1)) == 0; }

TcParams make_params(const GemmArgs& g) {
  TcParams p{};
  p.m = static_cast<int>(g.m);
  p.n = static_cast<int>(g.n);
  p.k = static_cast<int>(g.k);
  p.alpha = static_cast<float>(g.alpha);
  p.beta = static_cast<float>(g.beta);
  p.a = g.a; p.lda = g.lda; p.stride_a = g.stride_a;
  p.b = g.b; p.ldb = g.ldb; p.stride_b = g.stride_b;
  p.c = g.c; p.ldc = g.ldc; p.stride_c = g.stride_c;
  const int64_t es = static_cast<int64_t>(dtype_size(g.dtype)), vec = 16 / es;
  const bool one = g.batch <= 1;
  p.vec_a = aligned(g.a, 16) && g.lda % vec == 0 && (one || g.stride_a % vec == 0);
  p.vec_b = aligned(g.b, 16) && g.ldb % vec == 0 && (one || g.stride_b % vec == 0);
  p.pair_c = aligned(g.c, 2 * es) && g.ldc % 2 == 0 && (one || g.stride_c % 2 == 0);
  return p;
}

template <typename T>
Status launch_typed(const GemmArgs& g, bool simple) {
  const TcParams p = make_params(g);
  const int tile = simple ? kTile : kBM;
  const dim3 grid(static_cast<unsigned>((g.n + tile - 1) / tile), static_cast<unsigned>((g.m + tile - 1) / tile),
                  static_cast<unsigned>(g.batch));
  if constexpr (!std::is_same<T, float>::value) {
    if (simple) {
      if (!g.trans_a && !g.trans_b) gemm_simple16<T, false, false><<<grid, 256, 0, stream()>>>(p);
      else if (!g.trans_a && g.trans_b) gemm_simple16<T, false, true><<<grid, 256, 0, stream()>>>(p);
      else if (g.trans_a && !g.trans_b) gemm_simple16<T, true, false><<<grid, 256, 0, stream()>>>(p);
      else gemm_simple16<T, true, true><<<grid, 256, 0, stream()>>>(p);
      return check_launch("gemm_simple16 kernel");
    }
  }
  if (!g.trans_a && !g.trans_b) gemm_tc_128x128<T, false, false><<<grid, kThreads, 0, stream()>>>(p);
  else if (!g.trans_a && g.trans_b) gemm_tc_128x128<T, false, true><<<grid, kThreads, 0, stream()>>>(p);
  else if (g.trans_a && !g.trans_b) gemm_tc_128x128<T, true, false><<<grid, kThreads, 0, stream()>>>(p);
  else gemm_tc_128x128<T, true, true><<<grid, kThreads, 0, stream()>>>(p);
  return check_launch("gemm_tc_128x128 kernel");
}

}  // namespace

bool tensor_cores_available() {
  static const bool ok = [] {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return major >= 8;
  }();
  return ok;
}

int gemm_tc_tile(bool simple) { return simple ? kTile : kBM; }

Status gemm_tc_launch(const GemmArgs& g, bool simple) {
  switch (g.dtype) {
    case DType::bf16: return launch_typed<bf16_t>(g, simple);
    case DType::f16: return launch_typed<f16_t>(g, simple);
    case DType::f32: return launch_typed<float>(g, false);
    default: return set_error(Status::dtype, "the tensor-core GEMM takes bfloat16, float16 or float32 (tf32), not %s", dtype_name(g.dtype));
  }
}

}  // namespace entrena::cuda
