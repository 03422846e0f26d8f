// gemm.cc — the fast CPU GEMM (float32 and float64): packed, cache-blocked, register-tiled, threaded.
//
// Shape legend: C[b] (M×N) = alpha · op(A[b]) (M×K) · op(B[b]) (K×N) + beta · C[b], row-major, with
// leading dimensions lda/ldb/ldc and batch strides (core/backend.h, GemmArgs). gemm_ref.cc is the
// oracle this file is tested against (test/gemm_native.test.ts) and timed against (bench/gemm.mjs).
//
// Structure (the BLIS/GotoBLAS loop nest, van Zee & van de Geijn, "BLIS", ACM TOMS 2015):
//   for jc in N step NC:              B block  KC×NC packed into NR-wide panels   (lives in L3)
//     for pc in K step KC:
//       for ic in M step MC:          A block  MC×KC packed into MR-tall panels   (lives in L2)
//         for jr in NC step NR:       one B micro-panel KC×NR                     (lives in L1)
//           for ir in MC step MR:     micro-kernel: MR×NR of C in registers, K-loop of rank-1 updates
// Transposed operands are handled by the packing routines, so op(A) and op(B) never get copied in
// full. Packed panels are zero-padded to MR/NR, so the micro-kernel always runs full tiles; edge
// tiles are computed into a small buffer and merged into C.
//
// Kernels: AVX2+FMA micro-kernels (f32 6×16, f64 6×8: twelve ymm accumulators, two B loads and six
// broadcasts per k) compiled per function with target attributes and chosen at run time from CPUID
// (no -march=native in the build), and a portable blocked kernel that the compiler vectorises for
// whatever ISA the build targets (SSE2 on x86-64, NEON on arm64). ENTRENA_GEMM=portable forces the
// portable kernel (read once, at the first GEMM), so the tests can cover it on an AVX2 machine.
//
// Threads: one parallel_for per call. Each task is a whole batch entry or a rectangle of C (split at
// MR/NR multiples) and packs its own operands in thread-local buffers, so there is a single
// fork/join per GEMM and no barrier between packing and computing.
//
// Products with M·N·K ≤ 16³ skip packing and threads altogether (gemm_small), and products under
// 48³ multiply-adds stay on the calling thread.
//
// Numerics: float32 accumulates in float32, as every BLAS does (a float64 accumulator would halve
// the vector width): the error is bounded by K·ε·Σ|a·b| and in practice grows like √K·ε·Σ|a·b|;
// the reference accumulates in float64 and the tests hold the fast kernels to that bound.
// beta == 0 writes C without reading it, so NaN or garbage in an uninitialised C does not leak;
// alpha == 0 or K == 0 gives C = beta·C without reading A or B, as BLAS specifies.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels.h"
#include "threads.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ENTRENA_GEMM_X86 1
#endif

namespace entrena::cpu {
namespace {

// ---- micro-kernel interface --------------------------------------------------------------------

// C (MR×NR, leading dimension ldc) = alpha · Ap·Bp + beta · C, where Ap is an MR-tall packed panel
// (kc columns of MR values) and Bp an NR-wide packed panel (kc rows of NR values), both 64-byte
// aligned. beta == 0 must not read C.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, T alpha, T beta);

template <typename T>
struct Plan {
  int mr, nr;                 // register tile
  int64_t mc, kc, nc;         // cache blocks (mc a multiple of mr, nc a multiple of nr)
  MicroKernel<T> micro;
  const char* name;
};

// ---- portable micro-kernel ---------------------------------------------------------------------

// Fixed-size loops over a local accumulator tile: GCC and Clang keep it in vector registers and
// vectorise the j loop with the baseline ISA (SSE2 / NEON).
template <typename T, int MR, int NR>
void micro_portable(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, T alpha, T beta) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* a = ap + p * MR;
    const T* b = bp + p * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  if (beta == T(0)) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = alpha * acc[i][j];
  } else {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j];
  }
}

// ---- AVX2 + FMA micro-kernels ------------------------------------------------------------------

#if defined(ENTRENA_GEMM_X86)
#define ENTRENA_AVX2 __attribute__((target("avx2,fma")))

// f32, MR=6 × NR=16: 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers;
// 12 FMAs per 2 loads + 6 broadcasts keeps both FMA pipes busy on Zen and Intel cores.
ENTRENA_AVX2 void micro_avx2_f32(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                                 float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int i = 0; i < 6; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 48), _MM_HINT_T0);  // A comes from L2
    __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += 6;
    bp += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (beta == 0.0f) {
    for (int i = 0; i < 6; ++i) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, rows[i][0]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, rows[i][1]));
    }
  } else if (beta == 1.0f) {
    for (int i = 0; i < 6; ++i) {
      _mm256_storeu_ps(c + i * ldc, _mm256_fmadd_ps(va, rows[i][0], _mm256_loadu_ps(c + i * ldc)));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_fmadd_ps(va, rows[i][1], _mm256_loadu_ps(c + i * ldc + 8)));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
    for (int i = 0; i < 6; ++i) {
      _mm256_storeu_ps(c + i * ldc,
                       _mm256_fmadd_ps(va, rows[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(c + i * ldc))));
      _mm256_storeu_ps(c + i * ldc + 8,
                       _mm256_fmadd_ps(va, rows[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(c + i * ldc + 8))));
    }
  }
}

// f64, MR=6 × NR=8: the same register budget with four doubles per ymm.
ENTRENA_AVX2 void micro_avx2_f64(int64_t kc, const double* ap, const double* bp, double* c, int64_t ldc,
                                 double alpha, double beta) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (int i = 0; i < 6; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 24), _MM_HINT_T0);  // A comes from L2
    __m256d b0 = _mm256_load_pd(bp), b1 = _mm256_load_pd(bp + 4);
    __m256d a;
    a = _mm256_broadcast_sd(ap + 0); c00 = _mm256_fmadd_pd(a, b0, c00); c01 = _mm256_fmadd_pd(a, b1, c01);
    a = _mm256_broadcast_sd(ap + 1); c10 = _mm256_fmadd_pd(a, b0, c10); c11 = _mm256_fmadd_pd(a, b1, c11);
    a = _mm256_broadcast_sd(ap + 2); c20 = _mm256_fmadd_pd(a, b0, c20); c21 = _mm256_fmadd_pd(a, b1, c21);
    a = _mm256_broadcast_sd(ap + 3); c30 = _mm256_fmadd_pd(a, b0, c30); c31 = _mm256_fmadd_pd(a, b1, c31);
    a = _mm256_broadcast_sd(ap + 4); c40 = _mm256_fmadd_pd(a, b0, c40); c41 = _mm256_fmadd_pd(a, b1, c41);
    a = _mm256_broadcast_sd(ap + 5); c50 = _mm256_fmadd_pd(a, b0, c50); c51 = _mm256_fmadd_pd(a, b1, c51);
    ap += 6;
    bp += 8;
  }
  const __m256d va = _mm256_set1_pd(alpha);
  __m256d rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (beta == 0.0) {
    for (int i = 0; i < 6; ++i) {
      _mm256_storeu_pd(c + i * ldc, _mm256_mul_pd(va, rows[i][0]));
      _mm256_storeu_pd(c + i * ldc + 4, _mm256_mul_pd(va, rows[i][1]));
    }
  } else {
    const __m256d vb = _mm256_set1_pd(beta);
    for (int i = 0; i < 6; ++i) {
      _mm256_storeu_pd(c + i * ldc,
                       _mm256_fmadd_pd(va, rows[i][0], _mm256_mul_pd(vb, _mm256_loadu_pd(c + i * ldc))));
      _mm256_storeu_pd(c + i * ldc + 4,
                       _mm256_fmadd_pd(va, rows[i][1], _mm256_mul_pd(vb, _mm256_loadu_pd(c + i * ldc + 4))));
    }
  }
}
#endif  // ENTRENA_GEMM_X86

// ---- plans and dispatch ------------------------------------------------------------------------

// Block sizes for 32 KiB L1d / 512 KiB–1 MiB L2 cores (BLIS's values for Zen): the B micro-panel
// (KC×NR) takes half of L1, the packed A block (MC×KC) about a third of L2, the B block (KC×NC) a few
// MiB of L3. Packing buffers are per thread and grow to at most MC·KC + KC·NC elements (4.2 MB f32).
constexpr Plan<float> kPortableF32{4, 8, 128, 256, 4096, micro_portable<float, 4, 8>, "portable"};
constexpr Plan<double> kPortableF64{4, 4, 128, 256, 2048, micro_portable<double, 4, 4>, "portable"};
#if defined(ENTRENA_GEMM_X86)
constexpr Plan<float> kAvx2F32{6, 16, 144, 256, 4080, micro_avx2_f32, "avx2"};
constexpr Plan<double> kAvx2F64{6, 8, 96, 256, 2040, micro_avx2_f64, "avx2"};
static_assert(kAvx2F32.mr * kAvx2F32.nr <= 256 && kAvx2F64.mr * kAvx2F64.nr <= 256, "edge tile buffer");
static_assert(kAvx2F32.mc % 6 == 0 && kAvx2F32.nc % 16 == 0 && kAvx2F64.mc % 6 == 0 && kAvx2F64.nc % 8 == 0);
#endif
static_assert(kPortableF32.mc % 4 == 0 && kPortableF32.nc % 8 == 0 && kPortableF64.nc % 4 == 0);

bool use_avx2() {
  static const bool yes = [] {
    const char* env = std::getenv("ENTRENA_GEMM");
    if (env && std::strcmp(env, "portable") == 0) return false;
#if defined(ENTRENA_GEMM_X86)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return yes;
}

template <typename T>
const Plan<T>& plan_for();
template <>
const Plan<float>& plan_for<float>() {
  if (use_avx2()) {
#if defined(ENTRENA_GEMM_X86)
    return kAvx2F32;
#endif
  }
  return kPortableF32;
}
template <>
const Plan<double>& plan_for<double>() {
  if (use_avx2()) {
#if defined(ENTRENA_GEMM_X86)
    return kAvx2F64;
#endif
  }
  return kPortableF64;
}

// ---- thread-local packing buffers --------------------------------------------------------------

struct Buffer {
  void* p = nullptr;
  size_t cap = 0;
  ~Buffer() { std::free(p); }
  template <typename T>
  T* get(size_t count) {
    size_t bytes = (count * sizeof(T) + 63) & ~size_t(63);
    if (bytes > cap) {
      std::free(p);
      p = std::aligned_alloc(64, bytes);
      cap = p ? bytes : 0;
    }
    return static_cast<T*>(p);
  }
};
thread_local Buffer t_pack_a, t_pack_b;

// ---- packing -----------------------------------------------------------------------------------

// A view of op(X) for a row-major X: element (r, c) of op(X), where op is identity or transpose.
template <typename T>
struct Op {
  const T* p;
  int64_t ld;
  bool trans;
  T at(int64_t r, int64_t c) const { return trans ? p[c * ld + r] : p[r * ld + c]; }
};

// Packs op(A)[0:mc, 0:kc] into ceil(mc/MR) panels, each kc columns of MR contiguous values,
// zero-padding the last panel's missing rows.
template <typename T>
void pack_a(const Op<T>& a, int64_t mc, int64_t kc, int mr, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr, out += kc * mr) {
    int64_t rows = std::min<int64_t>(mr, mc - i0);
    if (a.trans) {  // A stored K×M: each k gives `rows` contiguous values.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a.p + p * a.ld + i0;
        T* dst = out + p * mr;
        int64_t i = 0;
        for (; i < rows; ++i) dst[i] = src[i];
        for (; i < mr; ++i) dst[i] = T(0);
      }
    } else {  // A stored M×K: read each row contiguously, write with stride MR.
      for (int64_t i = 0; i < rows; ++i) {
        const T* src = a.p + (i0 + i) * a.ld;
        for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = src[p];
      }
      for (int64_t i = rows; i < mr; ++i)
        for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = T(0);
    }
  }
}

// Packs op(B)[0:kc, 0:nc] into ceil(nc/NR) panels, each kc rows of NR contiguous values,
// zero-padding the last panel's missing columns.
template <typename T>
void pack_b(const Op<T>& b, int64_t kc, int64_t nc, int nr, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr, out += kc * nr) {
    int64_t cols = std::min<int64_t>(nr, nc - j0);
    if (!b.trans) {  // B stored K×N: each k gives `cols` contiguous values.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b.p + p * b.ld + j0;
        T* dst = out + p * nr;
        int64_t j = 0;
        for (; j < cols; ++j) dst[j] = src[j];
        for (; j < nr; ++j) dst[j] = T(0);
      }
    } else {  // B stored N×K: read each row of B (a column of op(B)) contiguously.
      for (int64_t j = 0; j < cols; ++j) {
        const T* src = b.p + (j0 + j) * b.ld;
        for (int64_t p = 0; p < kc; ++p) out[p * nr + j] = src[p];
      }
      for (int64_t j = cols; j < nr; ++j)
        for (int64_t p = 0; p < kc; ++p) out[p * nr + j] = T(0);
    }
  }
}

// ---- the blocked loop nest for one rectangle of C ----------------------------------------------

// The block size for `len` items, at most `max`, a multiple of `unit`, that splits len evenly.
int64_t balanced_block(int64_t len, int64_t max, int64_t unit) {
  const int64_t blocks = (len + max - 1) / max;
  const int64_t per = (len + blocks - 1) / blocks;
  return std::min(max, (per + unit - 1) / unit * unit);
}

// C[0:m, 0:n] = alpha · op(A)[0:m, :] · op(B)[:, 0:n] + beta · C, with m, n, k ≥ 1.
// Returns false, with C untouched, when the packing buffers cannot be allocated.
template <typename T>
bool gemm_blocked(const Plan<T>& pl, Op<T> a, Op<T> b, T* c, int64_t ldc, int64_t m, int64_t n,
                  int64_t k, T alpha, T beta) {
  const int mr = pl.mr, nr = pl.nr;
  // Equal blocks rather than full blocks plus a remainder: K = 784 runs as 4×196, not 3×256 + 16
  // (a thin last K block pays a full read-modify-write of C for little arithmetic).
  const int64_t kc_blk = balanced_block(k, pl.kc, 1);
  const int64_t mc_blk = balanced_block(m, pl.mc, mr);
  const int64_t nc_blk = balanced_block(n, pl.nc, nr);
  T* ap = t_pack_a.get<T>(static_cast<size_t>(mc_blk * kc_blk));
  T* bp = t_pack_b.get<T>(static_cast<size_t>(nc_blk * kc_blk));
  if (!ap || !bp) return false;
  alignas(64) T edge[16 * 16];  // one MR×NR tile (MR, NR ≤ 16) for partial tiles at the borders
  for (int64_t jc = 0; jc < n; jc += nc_blk) {
    const int64_t nc = std::min(nc_blk, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, k - pc);
      // After the first K block C already holds this product's partial sum: accumulate into it.
      const T beta_k = pc == 0 ? beta : T(1);
      Op<T> bblk{b.trans ? b.p + jc * b.ld + pc : b.p + pc * b.ld + jc, b.ld, b.trans};
      pack_b(bblk, kc, nc, nr, bp);
      for (int64_t ic = 0; ic < m; ic += mc_blk) {
        const int64_t mc = std::min(mc_blk, m - ic);
        Op<T> ablk{a.trans ? a.p + pc * a.ld + ic : a.p + ic * a.ld + pc, a.ld, a.trans};
        pack_a(ablk, mc, kc, mr, ap);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = std::min<int64_t>(nr, nc - jr);
          const T* bpanel = bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t rows = std::min<int64_t>(mr, mc - ir);
            const T* apanel = ap + ir * kc;
            T* ct = c + (ic + ir) * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              pl.micro(kc, apanel, bpanel, ct, ldc, alpha, beta_k);
            } else {
              pl.micro(kc, apanel, bpanel, edge, nr, T(1), T(0));
              for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < cols; ++j) {
                  T v = alpha * edge[i * nr + j];
                  ct[i * ldc + j] = beta_k == T(0) ? v : v + beta_k * ct[i * ldc + j];
                }
            }
          }
        }
      }
    }
  }
  return true;
}

// Tiny products: packing and threading cost more than they save, so multiply directly.
constexpr int64_t kSmallWork = 16 * 16 * 16;  // m·n·k at or below which the direct loop runs
constexpr int64_t kSmallMaxN = 256;

template <typename T>
void gemm_small(Op<T> a, Op<T> b, T* c, int64_t ldc, int64_t m, int64_t n, int64_t k, T alpha, T beta) {
  T acc[kSmallMaxN];
  for (int64_t i = 0; i < m; ++i) {
    if (!b.trans) {
      for (int64_t j = 0; j < n; ++j) acc[j] = T(0);
      for (int64_t p = 0; p < k; ++p) {
        const T av = a.at(i, p);
        const T* brow = b.p + p * b.ld;
        for (int64_t j = 0; j < n; ++j) acc[j] += av * brow[j];
      }
    } else {
      for (int64_t j = 0; j < n; ++j) {
        const T* bcol = b.p + j * b.ld;
        T s = T(0);
        for (int64_t p = 0; p < k; ++p) s += a.at(i, p) * bcol[p];
        acc[j] = s;
      }
    }
    T* crow = c + i * ldc;
    if (beta == T(0))
      for (int64_t j = 0; j < n; ++j) crow[j] = alpha * acc[j];
    else
      for (int64_t j = 0; j < n; ++j) crow[j] = alpha * acc[j] + beta * crow[j];
  }
}

// C = beta·C (beta == 0 writes zeros without reading C).
template <typename T>
void scale_c(T* c, int64_t ldc, int64_t m, int64_t n, T beta) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, T(0));
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

// ---- threading ---------------------------------------------------------------------------------

// Below this many multiply-adds per call a single thread wins: waking the pool costs a few µs.
constexpr int64_t kParallelWork = 48 * 48 * 48;

// Splits one M×N product into tm×tn rectangles (tm·tn ≤ parts, as close to it as the micro-tiles
// allow), choosing the split whose largest rectangle is smallest and, among equals, that packs the
// least (each rectangle packs its rows of A and its columns of B: cost ∝ m/tm + n/tn).
void choose_split(int64_t m, int64_t n, int mr, int nr, int parts, int* tm, int* tn) {
  const int64_t m_tiles = (m + mr - 1) / mr, n_tiles = (n + nr - 1) / nr;
  for (int p = parts; p >= 1; --p) {
    double best = -1;
    for (int x = 1; x <= p; ++x) {
      if (p % x) continue;
      const int y = p / x;
      if (x > m_tiles || y > n_tiles) continue;
      const double rm = static_cast<double>((m_tiles + x - 1) / x) * mr;
      const double rn = static_cast<double>((n_tiles + y - 1) / y) * nr;
      const double cost = rm * rn * 4.0 + (rm + rn) * 64.0;  // compute dominates; packing breaks ties
      if (best < 0 || cost < best) {
        best = cost;
        *tm = x;
        *tn = y;
      }
    }
    if (best >= 0) return;
  }
  *tm = *tn = 1;
}

template <typename T>
Status gemm_t(const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return Status::ok;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  const T* A = static_cast<const T*>(g.a);
  const T* B = static_cast<const T*>(g.b);
  T* C = static_cast<T*>(g.c);
  const int64_t m = g.m, n = g.n, k = g.k;

  if (k == 0 || alpha == T(0)) {
    for (int64_t bi = 0; bi < g.batch; ++bi) scale_c(C + bi * g.stride_c, g.ldc, m, n, beta);
    return Status::ok;
  }

  const Plan<T>& pl = plan_for<T>();
  std::atomic<bool> out_of_memory{false};
  // Runs the rectangle [m0, m1) × [n0, n1) of batch entry bi.
  auto rect = [&](int64_t bi, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const T* a0 = A + bi * g.stride_a + (g.trans_a ? m0 : m0 * g.lda);
    const T* b0 = B + bi * g.stride_b + (g.trans_b ? n0 * g.ldb : n0);
    T* c0 = C + bi * g.stride_c + m0 * g.ldc + n0;
    Op<T> a{a0, g.lda, g.trans_a}, b{b0, g.ldb, g.trans_b};
    const int64_t mm = m1 - m0, nn = n1 - n0;
    if (mm * nn * k <= kSmallWork && nn <= kSmallMaxN)
      gemm_small(a, b, c0, g.ldc, mm, nn, k, alpha, beta);
    else if (!gemm_blocked(pl, a, b, c0, g.ldc, mm, nn, k, alpha, beta))
      out_of_memory.store(true);
  };
  auto finish = [&]() -> Status {
    return out_of_memory.load()
               ? set_error(Status::out_of_memory, "gemm: cannot allocate the packing buffers (%lld×%lld×%lld)",
                           static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n))
               : Status::ok;
  };

  const int threads = num_threads();
  const int64_t work = m * n * k;  // per batch entry
  if (threads <= 1 || work * g.batch < kParallelWork) {
    for (int64_t bi = 0; bi < g.batch; ++bi) rect(bi, 0, m, 0, n);
    return finish();
  }
  // Whole batch entries per task when they divide evenly among the threads (or are many);
  // otherwise every entry is split into rectangles so that all threads get equal shares.
  if (g.batch % threads == 0 || g.batch >= 4 * threads) {
    parallel_for(g.batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) rect(bi, 0, m, 0, n);
    });
    return finish();
  }
  // Large products get 2 or 4 rectangles per thread: the pool hands them out dynamically, so a
  // thread that loses its core for a while (shared machines) delays the call by one small share
  // only. Each rectangle stays ≥ ~192³ multiply-adds, so the extra packing costs under 1%.
  constexpr int64_t kTaskWork = 192 * 192 * 192;
  int parts = threads;
  while (parts < 4 * threads && work * g.batch >= 2 * parts * kTaskWork) parts *= 2;
  // Rectangles per batch entry, such that the total divides evenly among the threads.
  int64_t per = (parts + g.batch - 1) / g.batch;
  while ((g.batch * per) % threads != 0) ++per;
  parts = static_cast<int>(per);
  int tm, tn;
  choose_split(m, n, pl.mr, pl.nr, parts, &tm, &tn);
  const int64_t m_tiles = (m + pl.mr - 1) / pl.mr, n_tiles = (n + pl.nr - 1) / pl.nr;
  const int64_t m_step = (m_tiles + tm - 1) / tm * pl.mr, n_step = (n_tiles + tn - 1) / tn * pl.nr;
  const int64_t per_entry = static_cast<int64_t>(tm) * tn;
  parallel_for(g.batch * per_entry, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bi = t / per_entry, r = t % per_entry;
      const int64_t m0 = (r / tn) * m_step, n0 = (r % tn) * n_step;
      if (m0 >= m || n0 >= n) continue;
      rect(bi, m0, std::min(m, m0 + m_step), n0, std::min(n, n0 + n_step));
    }
  });
  return finish();
}

}  // namespace

Status gemm(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::f32: return gemm_t<float>(g);
    case DType::f64: return gemm_t<double>(g);
    default: return set_error(Status::dtype, "matmul needs a floating dtype, received int32");
  }
}

}  // namespace entrena::cpu
