// gemm.cc — the fast CPU GEMM (float32, float64, and bfloat16 / float16 with float32 accumulation):
// packed, cache-blocked, register-tiled, threaded.
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
// (no -march=native in the build); NEON micro-kernels on aarch64 (f32 8×12, f64 6×8: 24 of the 32
// q registers accumulate, FMA by lane), compiled only there (NEON is part of the base ISA); and a
// portable blocked kernel that the compiler vectorises for whatever ISA the build targets (SSE2 on
// x86-64, NEON on arm64). All share the packed panel format. ENTRENA_GEMM=portable forces the
// portable kernel (read once, at the first GEMM), so the tests cover it on any machine;
// gemm_kernel_name() says which one runs. The NEON kernels are checked under qemu-aarch64 by
// `npm run test:arm64` (native/test/kernel_check.cc): correctness only, their speed is unmeasured.
//
// Threads (gemm_shared): C is cut into many small tasks (a row block × a few NR-column panels,
// about 16 per thread) that the threads take from a shared counter, so a thread that starts late
// or loses its core on a shared machine takes fewer of them. Every A panel and B panel is packed
// once per call into buffers shared by the threads, by whichever thread needs it first (per-panel
// state bytes; a thread waits only for a panel that another is packing at that moment); when M fits
// one row block, as in the M = 128 products of an MLP, each B panel has a single user and is packed
// into a small per-thread buffer instead. One fork/join per call, or per super-block of a product
// whose packed operands would pass 32 MB. Batches that divide evenly among the threads run whole
// entries per thread instead (gemm_blocked, with per-thread packing buffers).
//
// Products with M·N·K ≤ 16³ skip packing and threads altogether (gemm_small); float32 products up
// to 72³ with K ≤ 320 run unpacked on the calling thread with the AVX2 tiles (gemm_direct_f32);
// other products under 64³ multiply-adds stay on the calling thread.
//
// Numerics: float32 accumulates in float32, as every BLAS does (a float64 accumulator would halve
// the vector width): the error is bounded by K·ε·Σ|a·b| and in practice grows like √K·ε·Σ|a·b|;
// the reference accumulates in float64 and the tests hold the fast kernels to that bound.
// beta == 0 writes C without reading it, so NaN or garbage in an uninitialised C does not leak;
// alpha == 0 or K == 0 gives C = beta·C without reading A or B, as BLAS specifies.
//
// bfloat16 and float16 (the storage type S differs from the compute type T = float): the packing
// routines read the 16-bit source and write float32 panels (AVX2: bf16 → f32 is a 16-bit shift of
// each lane, f16 → f32 is F16C's vcvtph2ps where CPUID reports it; otherwise half.h's scalar
// conversions), so no float32 copy of A or B is made beyond the packed panels the float32 path
// makes anyway, and the float32 plans, blocking, threads and micro-kernels run unchanged. Only the
// C update differs: the micro-kernel accumulates a tile in float32 (over every K block: into a
// per-thread float32 workspace that holds one task's C rectangle when K spans several blocks), and
// C is written once, C = round16(alpha·acc + beta·float(C)), rounding to nearest even with half.h's
// conversions (bit for bit the scalar ones, also in the AVX2 store). The result is therefore the
// float32 product rounded once to 16 bits: within one 16-bit unit of the exact product, save where
// float32's own accumulation error (above) exceeds half a 16-bit unit, i.e. under heavy cancellation.
// The external BLAS (blas.cc) never sees the 16-bit types. AVX512_BF16 (vdpbf16ps) would multiply
// bf16 pairs without the conversion; no micro-kernel for it yet.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>

#include "../core/half.h"
#include "blas.h"
#include "kernels.h"
#include "threads.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#define ENTRENA_GEMM_X86 1
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define ENTRENA_GEMM_NEON 1
#endif

namespace entrena::cpu {
namespace {

// ---- micro-kernel interface --------------------------------------------------------------------

// C (MR×NR, leading dimension ldc) = alpha · Ap·Bp + beta · C, where Ap is an MR-tall packed panel
// (kc columns of MR values) and Bp an NR-wide packed panel (kc rows of NR values), both 64-byte
// aligned. beta == 0 must not read C. b_next, when not null, is the B panel the next call will use
// (kc rows of NR values): the kernel pulls it into L1 one row per k, which callers ask for only on
// the last call that reads bp, so the lines it evicts are ones this call has finished with.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, T alpha, T beta,
                             const T* b_next);

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
void micro_portable(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, T alpha, T beta, const T*) {
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
// Prefetches: the C tile at the start (both ends of each row, which may straddle two lines), A two
// lines ahead (it streams from L2), and with b_next the next B panel (it comes from L3: without
// this the first call on each B panel waits on L3 for every row). Paired runs on one Zen 3 core:
// 2048³ 9–15% faster with b_next, 1024³ 2–4%; on two cores 1–7% (the threaded path's B panels
// are more often still in L2).
template <bool kNextB>
ENTRENA_AVX2 inline void micro_avx2_f32_t(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                                          float alpha, float beta, const float* bn) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int i = 0; i < 6; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 48), _MM_HINT_T0);  // A comes from L2
    if constexpr (kNextB) _mm_prefetch(reinterpret_cast<const char*>(bn + p * 16), _MM_HINT_T0);
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

ENTRENA_AVX2 void micro_avx2_f32(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                                 float alpha, float beta, const float* b_next) {
  if (b_next) micro_avx2_f32_t<true>(kc, ap, bp, c, ldc, alpha, beta, b_next);
  else micro_avx2_f32_t<false>(kc, ap, bp, c, ldc, alpha, beta, nullptr);
}

// f64, MR=6 × NR=8: the same register budget with four doubles per ymm.
template <bool kNextB>
ENTRENA_AVX2 inline void micro_avx2_f64_t(int64_t kc, const double* ap, const double* bp, double* c, int64_t ldc,
                                          double alpha, double beta, const double* bn) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (int i = 0; i < 6; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 7), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 24), _MM_HINT_T0);  // A comes from L2
    if constexpr (kNextB) _mm_prefetch(reinterpret_cast<const char*>(bn + p * 8), _MM_HINT_T0);
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

ENTRENA_AVX2 void micro_avx2_f64(int64_t kc, const double* ap, const double* bp, double* c, int64_t ldc,
                                 double alpha, double beta, const double* b_next) {
  if (b_next) micro_avx2_f64_t<true>(kc, ap, bp, c, ldc, alpha, beta, b_next);
  else micro_avx2_f64_t<false>(kc, ap, bp, c, ldc, alpha, beta, nullptr);
}
#endif  // ENTRENA_GEMM_X86

// ---- NEON micro-kernels (aarch64) --------------------------------------------------------------

#if defined(ENTRENA_GEMM_NEON)
// NEON (Advanced SIMD) is part of the aarch64 base ISA, so these need no run-time check and no
// target attributes. 32 registers of 128 bits: the tiles are BLIS's for ARMv8-A.
// f32, MR=8 × NR=12: 24 accumulators (8 rows × 3 vectors of 4) + 3 B vectors + 2 A vectors = 29 of
// 32 registers; each k is 2 + 3 loads and 24 FMAs by lane (vfmaq_laneq_f32 takes A's value from
// a lane, so A needs no broadcast). Packing is the generic panel format of pack_a/pack_b.
#define ENTRENA_NEON_ROW_F32(i, av, lane)             \
  c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, lane); \
  c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, lane); \
  c##i##2 = vfmaq_laneq_f32(c##i##2, b2, av, lane)

void micro_neon_f32(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, float alpha, float beta,
                    const float* bn) {
  const float32x4_t z = vdupq_n_f32(0.0f);
  float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z;
  float32x4_t c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z;
  float32x4_t c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z;
  for (int i = 0; i < 8; ++i) __builtin_prefetch(c + i * ldc, 1, 3);
  for (int64_t p = 0; p < kc; ++p) {
    __builtin_prefetch(ap + 64, 0, 3);  // A comes from L2
    if (bn) __builtin_prefetch(bn + p * 12, 0, 3);
    const float32x4_t a0 = vld1q_f32(ap), a1 = vld1q_f32(ap + 4);
    const float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8);
    ENTRENA_NEON_ROW_F32(0, a0, 0); ENTRENA_NEON_ROW_F32(1, a0, 1);
    ENTRENA_NEON_ROW_F32(2, a0, 2); ENTRENA_NEON_ROW_F32(3, a0, 3);
    ENTRENA_NEON_ROW_F32(4, a1, 0); ENTRENA_NEON_ROW_F32(5, a1, 1);
    ENTRENA_NEON_ROW_F32(6, a1, 2); ENTRENA_NEON_ROW_F32(7, a1, 3);
    ap += 8;
    bp += 12;
  }
  const float32x4_t rows[8][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32},
                                  {c40, c41, c42}, {c50, c51, c52}, {c60, c61, c62}, {c70, c71, c72}};
  const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 3; ++j) {
      float* ct = c + i * ldc + 4 * j;
      const float32x4_t ab = vmulq_f32(va, rows[i][j]);
      vst1q_f32(ct, beta == 0.0f ? ab : vfmaq_f32(ab, vb, vld1q_f32(ct)));
    }
}
#undef ENTRENA_NEON_ROW_F32

// f64, MR=6 × NR=8: 24 accumulators (6 rows × 4 vectors of 2) + 4 B vectors + 3 A vectors = 31 of
// 32 registers.
#define ENTRENA_NEON_ROW_F64(i, av, lane)             \
  c##i##0 = vfmaq_laneq_f64(c##i##0, b0, av, lane); \
  c##i##1 = vfmaq_laneq_f64(c##i##1, b1, av, lane); \
  c##i##2 = vfmaq_laneq_f64(c##i##2, b2, av, lane); \
  c##i##3 = vfmaq_laneq_f64(c##i##3, b3, av, lane)

void micro_neon_f64(int64_t kc, const double* ap, const double* bp, double* c, int64_t ldc, double alpha,
                    double beta, const double* bn) {
  const float64x2_t z = vdupq_n_f64(0.0);
  float64x2_t c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  float64x2_t c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  float64x2_t c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
  for (int i = 0; i < 6; ++i) __builtin_prefetch(c + i * ldc, 1, 3);
  for (int64_t p = 0; p < kc; ++p) {
    __builtin_prefetch(ap + 48, 0, 3);
    if (bn) __builtin_prefetch(bn + p * 8, 0, 3);
    const float64x2_t a0 = vld1q_f64(ap), a1 = vld1q_f64(ap + 2), a2 = vld1q_f64(ap + 4);
    const float64x2_t b0 = vld1q_f64(bp), b1 = vld1q_f64(bp + 2), b2 = vld1q_f64(bp + 4), b3 = vld1q_f64(bp + 6);
    ENTRENA_NEON_ROW_F64(0, a0, 0); ENTRENA_NEON_ROW_F64(1, a0, 1);
    ENTRENA_NEON_ROW_F64(2, a1, 0); ENTRENA_NEON_ROW_F64(3, a1, 1);
    ENTRENA_NEON_ROW_F64(4, a2, 0); ENTRENA_NEON_ROW_F64(5, a2, 1);
    ap += 6;
    bp += 8;
  }
  const float64x2_t rows[6][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                                  {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
  const float64x2_t va = vdupq_n_f64(alpha), vb = vdupq_n_f64(beta);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) {
      double* ct = c + i * ldc + 2 * j;
      const float64x2_t ab = vmulq_f64(va, rows[i][j]);
      vst1q_f64(ct, beta == 0.0 ? ab : vfmaq_f64(ab, vb, vld1q_f64(ct)));
    }
}
#undef ENTRENA_NEON_ROW_F64
#endif  // ENTRENA_GEMM_NEON

// ---- plans and dispatch ------------------------------------------------------------------------

// Block sizes for 32 KiB L1d / 512 KiB–1 MiB L2 cores (BLIS's values for Zen, but KC 320 for f32):
// the B micro-panel (KC×NR) takes half to two thirds of L1, the packed A block (MC×KC) about a third
// of L2, the B block (KC×NC) a few MiB of L3. f32 KC 320 rather than BLIS's 256 splits the K = 784
// of an MLP's first layer into 3 blocks instead of 4 (one C pass less): 4–7% faster on that forward
// product in paired runs, neutral on the square sizes (KC 400, two blocks, gained a little more but
// overflows L1 with the A panel). gemm_blocked's packing buffers are per thread and grow to at most
// MC·KC + KC·NC elements (5.4 MB f32); the shared buffers of a threaded call belong to the calling
// thread and grow to at most kSharedBudget (32 MB).
constexpr Plan<float> kPortableF32{4, 8, 128, 256, 4096, micro_portable<float, 4, 8>, "portable"};
constexpr Plan<double> kPortableF64{4, 4, 128, 256, 2048, micro_portable<double, 4, 4>, "portable"};
#if defined(ENTRENA_GEMM_X86)
constexpr Plan<float> kAvx2F32{6, 16, 144, 320, 4080, micro_avx2_f32, "avx2"};
constexpr Plan<double> kAvx2F64{6, 8, 96, 256, 2040, micro_avx2_f64, "avx2"};
static_assert(kAvx2F32.mr * kAvx2F32.nr <= 256 && kAvx2F64.mr * kAvx2F64.nr <= 256, "edge tile buffer");
static_assert(kAvx2F32.mc % 6 == 0 && kAvx2F32.nc % 16 == 0 && kAvx2F64.mc % 6 == 0 && kAvx2F64.nc % 8 == 0);
#endif
#if defined(ENTRENA_GEMM_NEON)
// The same cache blocks as AVX2 (B micro-panel 320×12×4 = 15 KiB f32, 256×8×8 = 16 KiB f64, within
// the 32–128 KiB L1d of ARMv8 cores), with MC and NC rounded to the NEON tiles. Not tuned on
// hardware: they are the cache arithmetic above applied to the NEON tiles.
constexpr Plan<float> kNeonF32{8, 12, 144, 320, 4080, micro_neon_f32, "neon"};
constexpr Plan<double> kNeonF64{6, 8, 96, 256, 2040, micro_neon_f64, "neon"};
static_assert(kNeonF32.mr * kNeonF32.nr <= 256 && kNeonF64.mr * kNeonF64.nr <= 256, "edge tile buffer");
static_assert(kNeonF32.mc % 8 == 0 && kNeonF32.nc % 12 == 0 && kNeonF64.mc % 6 == 0 && kNeonF64.nc % 8 == 0);
#endif
static_assert(kPortableF32.mc % 4 == 0 && kPortableF32.nc % 8 == 0 && kPortableF64.nc % 4 == 0);

// The micro-kernel family, chosen once (at the first GEMM): avx2 on x86-64 CPUs with AVX2+FMA, neon
// on aarch64, portable otherwise. ENTRENA_GEMM=portable forces the portable kernel; any other value
// (avx2, neon) keeps the default, so a setting can never select a kernel the CPU would fault on.
enum class Kernel { portable, avx2, neon };

Kernel choose_kernel() {
  Kernel best = Kernel::portable;
#if defined(ENTRENA_GEMM_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Kernel::avx2;
#elif defined(ENTRENA_GEMM_NEON)
  best = Kernel::neon;
#endif
  const char* env = std::getenv("ENTRENA_GEMM");
  if (env && std::strcmp(env, "portable") == 0) return Kernel::portable;
  return best;
}

Kernel kernel() {
  static const Kernel k = choose_kernel();
  return k;
}

#if defined(ENTRENA_GEMM_X86)
bool use_avx2() { return kernel() == Kernel::avx2; }

// F16C (vcvtph2ps, vcvtps2ph) for the float16 packing and C store, with the AVX2 kernel only. Every
// AVX2 CPU we target has it, but it is a separate CPUID bit (leaf 1, ECX bit 29), read here rather
// than with __builtin_cpu_supports, which clang does not offer for it.
bool use_f16c() {
  static const bool ok = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return use_avx2() && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  }();
  return ok;
}
#endif

template <typename T>
const Plan<T>& plan_for();
template <>
const Plan<float>& plan_for<float>() {
#if defined(ENTRENA_GEMM_X86)
  if (kernel() == Kernel::avx2) return kAvx2F32;
#endif
#if defined(ENTRENA_GEMM_NEON)
  if (kernel() == Kernel::neon) return kNeonF32;
#endif
  return kPortableF32;
}
template <>
const Plan<double>& plan_for<double>() {
#if defined(ENTRENA_GEMM_X86)
  if (kernel() == Kernel::avx2) return kAvx2F64;
#endif
#if defined(ENTRENA_GEMM_NEON)
  if (kernel() == Kernel::neon) return kNeonF64;
#endif
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

// ---- element types -----------------------------------------------------------------------------

// S is the storage type of A, B and C (float, double, bf16_t, f16_t); compute_t<S> is the type of
// the packed panels, the micro-kernels and the accumulators: S itself, or float for the halves.
template <typename S> struct ComputeOf { using type = S; };
template <> struct ComputeOf<bf16_t> { using type = float; };
template <> struct ComputeOf<f16_t> { using type = float; };
template <typename S> using compute_t = typename ComputeOf<S>::type;
template <typename S> constexpr bool kWidened = HalfOf<S>::value;

template <typename S>
inline compute_t<S> widen(S v) {
  if constexpr (kWidened<S>) return to_f32(v);
  else return v;
}
template <typename S>
inline S narrow(compute_t<S> v) {
  if constexpr (kWidened<S>) return half_from_f32<S>(v);
  else return v;
}

// ---- packing -----------------------------------------------------------------------------------

// A view of op(X) for a row-major X: element (r, c) of op(X), where op is identity or transpose.
template <typename S>
struct Op {
  const S* p;
  int64_t ld;
  bool trans;
  compute_t<S> at(int64_t r, int64_t c) const { return widen(trans ? p[c * ld + r] : p[r * ld + c]); }
};

// Fast paths for one full panel, AVX2 only (f32 and the halves: MR 6, NR 16; f64: MR 6, NR 8). The
// packing reads come from L3 or memory with a large stride, so they prefetch a few rows ahead; the
// transposing cases (A stored M×K, B stored N×K) go through 8×8 (f32) or 4×4 (f64) register
// transposes instead of scalar scatters. The f32 routines are templates over the source type, whose
// 8-value load widens bfloat16 and float16 to float32 on the way in. Each pack_*_fast returns
// false when it has no fast path for the case.
#if defined(ENTRENA_GEMM_X86)
constexpr int kPrefetchRows = 32;  // about one L3 latency ahead of a 64-byte row copy

// The packing routines that read halves are compiled with F16C as well (the float16 load needs it);
// they run only when use_avx2() (and, for float16, use_f16c()) holds.
#define ENTRENA_AVX2_PACK __attribute__((target("avx2,fma,f16c")))

// 8 consecutive source values as float32: bf16 → f32 puts the 16 bits at the top of each 32-bit
// lane (exact, NaN payloads kept, as f32_from_bf16); f16 → f32 with vcvtph2ps (exact, as f32_from_f16).
template <typename S> ENTRENA_AVX2_PACK inline __m256 load8(const S* p);
template <> ENTRENA_AVX2_PACK inline __m256 load8<float>(const float* p) { return _mm256_loadu_ps(p); }
template <> ENTRENA_AVX2_PACK inline __m256 load8<bf16_t>(const bf16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
template <> ENTRENA_AVX2_PACK inline __m256 load8<f16_t>(const f16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Whether the AVX2 packing routines may read S (float16 needs F16C).
template <typename S>
bool fast_source() {
  if constexpr (std::is_same<S, f16_t>::value) return use_f16c();
  else return use_avx2();
}

ENTRENA_AVX2 inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5,
                                    __m256& r6, __m256& r7) {
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20); r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20); r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31); r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31); r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

ENTRENA_AVX2 inline void transpose4(__m256d& r0, __m256d& r1, __m256d& r2, __m256d& r3) {
  __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
  __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
  r0 = _mm256_permute2f128_pd(t0, t2, 0x20); r1 = _mm256_permute2f128_pd(t1, t3, 0x20);
  r2 = _mm256_permute2f128_pd(t0, t2, 0x31); r3 = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// A stored M×K (rows at src + i·ld), MR = 6: out[p·6 + i] = src[i·ld + p]; S is float or a half.
template <typename S>
ENTRENA_AVX2_PACK void pack_a_rows6(const S* src, int64_t ld, int64_t kc, float* out) {
  int64_t p = 0;
  // Each 8-wide store spills 2 values into the next k's slot, which a later store overwrites, so the
  // vector loop stops while at least one k remains for the scalar tail.
  for (; p + 8 < kc; p += 8) {
    __m256 r0 = load8(src + p), r1 = load8(src + ld + p);
    __m256 r2 = load8(src + 2 * ld + p), r3 = load8(src + 3 * ld + p);
    __m256 r4 = load8(src + 4 * ld + p), r5 = load8(src + 5 * ld + p);
    __m256 r6 = _mm256_setzero_ps(), r7 = _mm256_setzero_ps();
    transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
    float* o = out + p * 6;
    _mm256_storeu_ps(o, r0); _mm256_storeu_ps(o + 6, r1); _mm256_storeu_ps(o + 12, r2);
    _mm256_storeu_ps(o + 18, r3); _mm256_storeu_ps(o + 24, r4); _mm256_storeu_ps(o + 30, r5);
    _mm256_storeu_ps(o + 36, r6); _mm256_storeu_ps(o + 42, r7);
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = widen(src[i * ld + p]);
}

ENTRENA_AVX2 void pack_a_rows6_f64(const double* src, int64_t ld, int64_t kc, double* out) {
  int64_t p = 0;
  for (; p + 4 < kc; p += 4) {
    __m256d r0 = _mm256_loadu_pd(src + p), r1 = _mm256_loadu_pd(src + ld + p);
    __m256d r2 = _mm256_loadu_pd(src + 2 * ld + p), r3 = _mm256_loadu_pd(src + 3 * ld + p);
    __m256d r4 = _mm256_loadu_pd(src + 4 * ld + p), r5 = _mm256_loadu_pd(src + 5 * ld + p);
    __m256d r6 = _mm256_setzero_pd(), r7 = _mm256_setzero_pd();
    transpose4(r0, r1, r2, r3);
    transpose4(r4, r5, r6, r7);
    double* o = out + p * 6;
    // Row q of the panel: r_q (values of rows 0–3) then the low half of r_{4+q} (rows 4–5).
    _mm256_storeu_pd(o, r0); _mm_storeu_pd(o + 4, _mm256_castpd256_pd128(r4));
    _mm256_storeu_pd(o + 6, r1); _mm_storeu_pd(o + 10, _mm256_castpd256_pd128(r5));
    _mm256_storeu_pd(o + 12, r2); _mm_storeu_pd(o + 16, _mm256_castpd256_pd128(r6));
    _mm256_storeu_pd(o + 18, r3); _mm_storeu_pd(o + 22, _mm256_castpd256_pd128(r7));
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = src[i * ld + p];
}

// B stored N×K (op(B) column j at src + j·ld), NR = 16: out[p·16 + j] = src[j·ld + p]; S is float
// or a half.
template <typename S>
ENTRENA_AVX2_PACK void pack_b_cols16(const S* src, int64_t ld, int64_t kc, float* out) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int h = 0; h < 2; ++h) {
      const S* s = src + h * 8 * ld + p;
      __m256 r0 = load8(s), r1 = load8(s + ld), r2 = load8(s + 2 * ld);
      __m256 r3 = load8(s + 3 * ld), r4 = load8(s + 4 * ld), r5 = load8(s + 5 * ld);
      __m256 r6 = load8(s + 6 * ld), r7 = load8(s + 7 * ld);
      transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
      float* o = out + p * 16 + h * 8;
      _mm256_store_ps(o, r0); _mm256_store_ps(o + 16, r1); _mm256_store_ps(o + 32, r2);
      _mm256_store_ps(o + 48, r3); _mm256_store_ps(o + 64, r4); _mm256_store_ps(o + 80, r5);
      _mm256_store_ps(o + 96, r6); _mm256_store_ps(o + 112, r7);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < 16; ++j) out[p * 16 + j] = widen(src[j * ld + p]);
}

ENTRENA_AVX2 void pack_b_cols8_f64(const double* src, int64_t ld, int64_t kc, double* out) {
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    for (int h = 0; h < 2; ++h) {
      const double* s = src + h * 4 * ld + p;
      __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ld);
      __m256d r2 = _mm256_loadu_pd(s + 2 * ld), r3 = _mm256_loadu_pd(s + 3 * ld);
      transpose4(r0, r1, r2, r3);
      double* o = out + p * 8 + h * 4;
      _mm256_store_pd(o, r0); _mm256_store_pd(o + 8, r1); _mm256_store_pd(o + 16, r2); _mm256_store_pd(o + 24, r3);
    }
  }
  for (; p < kc; ++p)
    for (int j = 0; j < 8; ++j) out[p * 8 + j] = src[j * ld + p];
}

// A stored K×M (op(A) row i at column i of each stored row), MR = 6: a 6-value copy per k (float16:
// converted as 4 + 2 values, reading no further than the panel's 6).
template <typename S>
ENTRENA_AVX2_PACK void pack_a_cols6(const S* src, int64_t ld, int64_t kc, compute_t<S>* out) {
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(src + kPrefetchRows * ld), _MM_HINT_T0);
    if constexpr (std::is_same<S, f16_t>::value) {
      int64_t lo;
      int32_t hi;
      std::memcpy(&lo, src, 8);
      std::memcpy(&hi, src + 4, 4);
      _mm_storeu_ps(out, _mm_cvtph_ps(_mm_cvtsi64_si128(lo)));
      _mm_storel_pi(reinterpret_cast<__m64*>(out + 4), _mm_cvtph_ps(_mm_cvtsi32_si128(hi)));
    } else {
      for (int i = 0; i < 6; ++i) out[i] = widen(src[i]);
    }
    src += ld;
    out += 6;
  }
}

// B stored K×N, NR = 16 (f32) or 8 (f64): a 64-byte row copy per k, prefetching ahead.
ENTRENA_AVX2 void pack_b_rows64(const char* src, int64_t ld_bytes, int64_t kc, char* out) {
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(src + kPrefetchRows * ld_bytes, _MM_HINT_T0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out),
                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + 32),
                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 32)));
    src += ld_bytes;
    out += 64;
  }
}

// B stored K×N in halves, NR = 16: 32 source bytes widened to a 64-byte float32 row per k.
template <typename S>
ENTRENA_AVX2_PACK void pack_b_rows16_half(const S* src, int64_t ld, int64_t kc, float* out) {
  for (int64_t p = 0; p < kc; ++p) {
    _mm_prefetch(reinterpret_cast<const char*>(src + kPrefetchRows * ld), _MM_HINT_T0);
    _mm256_store_ps(out, load8(src));
    _mm256_store_ps(out + 8, load8(src + 8));
    src += ld;
    out += 16;
  }
}

template <typename S>
bool pack_a_fast(const Op<S>& a, int64_t kc, int mr, compute_t<S>* out) {
  if (mr != 6 || !fast_source<S>()) return false;
  if (a.trans) pack_a_cols6(a.p, a.ld, kc, out);
  else if constexpr (std::is_same<S, double>::value) pack_a_rows6_f64(a.p, a.ld, kc, out);
  else pack_a_rows6(a.p, a.ld, kc, out);
  return true;
}
template <typename S>
bool pack_b_fast(const Op<S>& b, int64_t kc, int nr, compute_t<S>* out) {
  if (!fast_source<S>() || nr * sizeof(compute_t<S>) != 64) return false;
  if constexpr (std::is_same<S, double>::value) {
    if (!b.trans) pack_b_rows64(reinterpret_cast<const char*>(b.p), b.ld * 8, kc, reinterpret_cast<char*>(out));
    else pack_b_cols8_f64(b.p, b.ld, kc, out);
  } else if constexpr (std::is_same<S, float>::value) {
    if (!b.trans) pack_b_rows64(reinterpret_cast<const char*>(b.p), b.ld * 4, kc, reinterpret_cast<char*>(out));
    else pack_b_cols16(b.p, b.ld, kc, out);
  } else {
    if (!b.trans) pack_b_rows16_half(b.p, b.ld, kc, out);
    else pack_b_cols16(b.p, b.ld, kc, out);
  }
  return true;
}
#else
template <typename S>
bool pack_a_fast(const Op<S>&, int64_t, int, compute_t<S>*) { return false; }
template <typename S>
bool pack_b_fast(const Op<S>&, int64_t, int, compute_t<S>*) { return false; }
#endif

// Packs op(A)[0:mc, 0:kc] into ceil(mc/MR) panels, each kc columns of MR contiguous values,
// zero-padding the last panel's missing rows (values widened to the compute type).
template <typename S, typename T = compute_t<S>>
void pack_a(const Op<S>& a, int64_t mc, int64_t kc, int mr, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr, out += kc * mr) {
    int64_t rows = std::min<int64_t>(mr, mc - i0);
    if (rows == mr && pack_a_fast(Op<S>{a.trans ? a.p + i0 : a.p + i0 * a.ld, a.ld, a.trans}, kc, mr, out))
      continue;
    if (a.trans) {  // A stored K×M: each k gives `rows` contiguous values.
      for (int64_t p = 0; p < kc; ++p) {
        const S* src = a.p + p * a.ld + i0;
        T* dst = out + p * mr;
        int64_t i = 0;
        for (; i < rows; ++i) dst[i] = widen(src[i]);
        for (; i < mr; ++i) dst[i] = T(0);
      }
    } else {  // A stored M×K: read each row contiguously, write with stride MR.
      for (int64_t i = 0; i < rows; ++i) {
        const S* src = a.p + (i0 + i) * a.ld;
        for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = widen(src[p]);
      }
      for (int64_t i = rows; i < mr; ++i)
        for (int64_t p = 0; p < kc; ++p) out[p * mr + i] = T(0);
    }
  }
}

// Packs op(B)[0:kc, 0:nc] into ceil(nc/NR) panels, each kc rows of NR contiguous values,
// zero-padding the last panel's missing columns (values widened to the compute type).
template <typename S, typename T = compute_t<S>>
void pack_b(const Op<S>& b, int64_t kc, int64_t nc, int nr, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += nr, out += kc * nr) {
    int64_t cols = std::min<int64_t>(nr, nc - j0);
    if (cols == nr && pack_b_fast(Op<S>{b.trans ? b.p + j0 * b.ld : b.p + j0, b.ld, b.trans}, kc, nr, out))
      continue;
    if (!b.trans) {  // B stored K×N: each k gives `cols` contiguous values.
      for (int64_t p = 0; p < kc; ++p) {
        const S* src = b.p + p * b.ld + j0;
        T* dst = out + p * nr;
        int64_t j = 0;
        for (; j < cols; ++j) dst[j] = widen(src[j]);
        for (; j < nr; ++j) dst[j] = T(0);
      }
    } else {  // B stored N×K: read each row of B (a column of op(B)) contiguously.
      for (int64_t j = 0; j < cols; ++j) {
        const S* src = b.p + (j0 + j) * b.ld;
        for (int64_t p = 0; p < kc; ++p) out[p * nr + j] = widen(src[p]);
      }
      for (int64_t j = cols; j < nr; ++j)
        for (int64_t p = 0; p < kc; ++p) out[p * nr + j] = T(0);
    }
  }
}

// ---- the C update of the 16-bit types ----------------------------------------------------------

// C[0:rows, 0:cols] (S, leading dimension ldc) = narrow(alpha·acc + beta·widen(C)), where acc is a
// float32 tile with leading dimension ld_acc; beta == 0 does not read C. For float and double the
// micro-kernels update C themselves (below), so this is only instantiated for the halves.
template <typename S>
void store_tile_scalar(const float* acc, int64_t ld_acc, S* c, int64_t ldc, int64_t rows, int64_t cols,
                       float alpha, float beta, int64_t j0 = 0) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = j0; j < cols; ++j) {
      const float v = alpha * acc[i * ld_acc + j];
      c[i * ldc + j] = narrow<S>(beta == 0.0f ? v : v + beta * widen(c[i * ldc + j]));
    }
}

#if defined(ENTRENA_GEMM_X86)
// 8 float32 values rounded to 16 bits, bit for bit as half.h's scalar conversions: bfloat16 by the
// integer round-to-nearest-even of bf16_from_f32 (NaN → 0x7FC0); float16 by vcvtps2ph with
// round-to-nearest-even (subnormals and overflow to ±Inf as f16_from_f32), its NaN results (which
// keep payload bits) replaced by f16_from_f32's sign | 0x7E00.
template <typename S> ENTRENA_AVX2_PACK inline __m128i narrow8(__m256 v);
template <> ENTRENA_AVX2_PACK inline __m128i narrow8<bf16_t>(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), lsb), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC0), nan);
  // 32-bit lanes (each ≤ 0xFFFF) to 16 bits: packus works within 128-bit halves, so pack the two halves.
  return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
}
template <> ENTRENA_AVX2_PACK inline __m128i narrow8<f16_t>(__m256 v) {
  const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i u = _mm256_castps_si256(v);
  const __m256i qnan = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x8000)),
                                       _mm256_set1_epi32(0x7E00));
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m128i q = _mm_packus_epi32(_mm256_castsi256_si128(qnan), _mm256_extracti128_si256(qnan, 1));
  const __m128i n = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
  return _mm_blendv_epi8(h, q, n);
}

template <typename S>
ENTRENA_AVX2_PACK void store_tile_avx2(const float* acc, int64_t ld_acc, S* c, int64_t ldc, int64_t rows,
                                       int64_t cols, float alpha, float beta) {
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  const int64_t cols8 = cols & ~int64_t(7);
  for (int64_t i = 0; i < rows; ++i) {
    const float* a = acc + i * ld_acc;
    S* ci = c + i * ldc;
    for (int64_t j = 0; j < cols8; j += 8) {
      __m256 v = _mm256_mul_ps(va, _mm256_loadu_ps(a + j));
      if (beta != 0.0f) v = _mm256_add_ps(v, _mm256_mul_ps(vb, load8(ci + j)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(ci + j), narrow8<S>(v));
    }
  }
  if (cols8 < cols) store_tile_scalar(acc, ld_acc, c, ldc, rows, cols, alpha, beta, cols8);
}
#endif

template <typename S>
void store_tile(const float* acc, int64_t ld_acc, S* c, int64_t ldc, int64_t rows, int64_t cols, float alpha,
                float beta) {
#if defined(ENTRENA_GEMM_X86)
  if (fast_source<S>()) return store_tile_avx2(acc, ld_acc, c, ldc, rows, cols, alpha, beta);
#endif
  store_tile_scalar(acc, ld_acc, c, ldc, rows, cols, alpha, beta);
}

// ---- the blocked loop nest for one rectangle of C ----------------------------------------------

// The block size for `len` items, at most `max`, a multiple of `unit`, that splits len evenly.
int64_t balanced_block(int64_t len, int64_t max, int64_t unit) {
  const int64_t blocks = (len + max - 1) / max;
  const int64_t per = (len + blocks - 1) / blocks;
  return std::min(max, (per + unit - 1) / unit * unit);
}

// C[0:m, 0:n] = alpha · op(A)[0:m, :] · op(B)[:, 0:n] + beta · C, with m, n, k ≥ 1 (float, double).
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
            // The last A panel against this B panel pulls the next B panel into L1.
            const T* bnext = ir + mr < mc ? nullptr : jr + nr < nc ? bpanel + nr * kc : ic + mc < m ? bp : nullptr;
            if (rows == mr && cols == nr) {
              pl.micro(kc, apanel, bpanel, ct, ldc, alpha, beta_k, bnext);
            } else {
              pl.micro(kc, apanel, bpanel, edge, nr, T(1), T(0), bnext);
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

// The blocked loop nest for the 16-bit types (S = bf16_t, f16_t; float32 panels and kernels). C
// cannot carry the partial sum from one K block to the next as the float32 nest above does (it
// would be rounded to 16 bits once per block), so the K blocks run innermost, over one row block:
// op(B) is packed for all of K once per column block, op(A) per row block and K block, and each
// MR×NR tile accumulates in a float32 workspace (one row block × one column block) until the last
// K block stores it to C. The column block is narrowed so that the packed K×NC of B stays within
// the float32 nest's KC·NC values and, when K spans several blocks, the workspace within kAccBytes
// (it is then revisited once per K block, as C is by the float32 nest: it should stay in L2).
// A single K block needs no workspace: the tile goes from the micro-kernel to C through `edge`.
constexpr int64_t kAccBytes = int64_t(256) << 10;
thread_local Buffer t_acc;

template <typename S>
bool gemm_blocked_widened(const Plan<float>& pl, Op<S> a, Op<S> b, S* c, int64_t ldc, int64_t m, int64_t n,
                          int64_t k, float alpha, float beta) {
  const int mr = pl.mr, nr = pl.nr;
  const int64_t kc_blk = balanced_block(k, pl.kc, 1);
  const int64_t nk = (k + kc_blk - 1) / kc_blk;
  const int64_t mc_blk = balanced_block(m, pl.mc, mr);
  int64_t nc_max = std::min(pl.nc, std::max<int64_t>(nr, pl.kc * pl.nc / k / nr * nr));
  if (nk > 1) nc_max = std::min(nc_max, std::max<int64_t>(nr, kAccBytes / int64_t(sizeof(float)) / mc_blk / nr * nr));
  const int64_t nc_blk = balanced_block(n, nc_max, nr);
  float* ap = t_pack_a.get<float>(static_cast<size_t>(mc_blk * kc_blk));
  float* bp = t_pack_b.get<float>(static_cast<size_t>(nc_blk * k));
  float* ws = nk > 1 ? t_acc.get<float>(static_cast<size_t>(mc_blk * nc_blk)) : nullptr;
  if (!ap || !bp || (nk > 1 && !ws)) return false;
  alignas(64) float edge[16 * 16];
  for (int64_t jc = 0; jc < n; jc += nc_blk) {
    const int64_t nc = std::min(nc_blk, n - jc);
    // K block p of this column block: kc rows of NR-wide panels at bp + p·kc_blk·nc_blk.
    for (int64_t pc = 0; pc < k; pc += kc_blk) {
      Op<S> bblk{b.trans ? b.p + jc * b.ld + pc : b.p + pc * b.ld + jc, b.ld, b.trans};
      pack_b(bblk, std::min(kc_blk, k - pc), nc, nr, bp + pc * nc_blk);
    }
    for (int64_t ic = 0; ic < m; ic += mc_blk) {
      const int64_t mc = std::min(mc_blk, m - ic);
      for (int64_t pc = 0; pc < k; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, k - pc);
        const bool first = pc == 0, last = pc + kc == k;
        Op<S> ablk{a.trans ? a.p + pc * a.ld + ic : a.p + ic * a.ld + pc, a.ld, a.trans};
        pack_a(ablk, mc, kc, mr, ap);
        const float* bblock = bp + pc * nc_blk;
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = std::min<int64_t>(nr, nc - jr);
          const float* bpanel = bblock + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t rows = std::min<int64_t>(mr, mc - ir);
            float* acc = ws ? ws + ir * nc_blk + jr : edge;
            const int64_t ld_acc = ws ? nc_blk : nr;
            const float* bnext = ir + mr < mc ? nullptr : jr + nr < nc ? bpanel + nr * kc : nullptr;
            pl.micro(kc, ap + ir * kc, bpanel, acc, ld_acc, 1.0f, first ? 0.0f : 1.0f, bnext);
            if (last) store_tile(acc, ld_acc, c + (ic + ir) * ldc + jc + jr, ldc, rows, cols, alpha, beta);
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

template <typename S, typename T = compute_t<S>>
void gemm_small(Op<S> a, Op<S> b, S* c, int64_t ldc, int64_t m, int64_t n, int64_t k, T alpha, T beta) {
  T acc[kSmallMaxN];
  for (int64_t i = 0; i < m; ++i) {
    if (!b.trans) {
      for (int64_t j = 0; j < n; ++j) acc[j] = T(0);
      for (int64_t p = 0; p < k; ++p) {
        const T av = a.at(i, p);
        const S* brow = b.p + p * b.ld;
        for (int64_t j = 0; j < n; ++j) acc[j] += av * widen(brow[j]);
      }
    } else {
      for (int64_t j = 0; j < n; ++j) {
        const S* bcol = b.p + j * b.ld;
        T s = T(0);
        for (int64_t p = 0; p < k; ++p) s += a.at(i, p) * widen(bcol[p]);
        acc[j] = s;
      }
    }
    S* crow = c + i * ldc;
    if (beta == T(0))
      for (int64_t j = 0; j < n; ++j) crow[j] = narrow<S>(alpha * acc[j]);
    else
      for (int64_t j = 0; j < n; ++j) crow[j] = narrow<S>(alpha * acc[j] + beta * widen(crow[j]));
  }
}

// ---- direct path: small float32 products without packing A (AVX2) ------------------------------

// For the small products of an MLP's layers and of batched attention-size matrices, packing costs
// a large share of the work: at 64³ the packed path spends about a quarter of its time outside the
// micro-kernel. Here op(A) is read in place — six broadcasts per k from six row pointers (A stored
// M×K) or from six consecutive values (A stored K×M) — and op(B) is read in place when it is stored
// K×N (a row of 16 values per k, the last panel's missing columns masked), or else its K×16 panel
// is packed once into an L1 buffer and reused by every row panel. C tiles are 6×16 as in the
// micro-kernel, with partial tiles at the borders written through masks (no edge buffer). Used
// below kDirectWork multiply-adds and for K ≤ kDirectMaxK (the B panel, K×16 floats, stays in L1).
// Rows `R` of the tile and vectors `NV` (1 or 2 of 8 columns) are template arguments so that the
// accumulators stay in registers; `mask` holds the valid columns of the last vector.
constexpr int64_t kDirectMaxK = 320;
#if defined(ENTRENA_GEMM_X86)

template <int R, int NV, bool kMasked>
ENTRENA_AVX2 void direct_tile_f32(int64_t k, const float* a, int64_t a_rs, int64_t a_ks, const float* b,
                                  int64_t ldb, float* c, int64_t ldc, __m256i mask, float alpha, float beta) {
  __m256 acc[R][NV];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const float* br = b + p * ldb;
    __m256 bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = (kMasked && v == NV - 1) ? _mm256_maskload_ps(br + 8 * v, mask) : _mm256_loadu_ps(br + 8 * v);
    const float* ap = a + p * a_ks;
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(ap + r * a_rs);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  // The C update rounds as the micro-kernel's does: a tile is bit for bit the packed path's, and so
  // is a border tile when alpha is 1 and beta 0 or 1 (matmul, linear; the packed path merges its
  // border tiles with separate multiplies and adds).
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      float* cp = c + r * ldc + 8 * v;
      const bool masked = kMasked && v == NV - 1;
      __m256 out;
      if (beta == 0.0f) {
        out = _mm256_mul_ps(va, acc[r][v]);
      } else {
        const __m256 old = masked ? _mm256_maskload_ps(cp, mask) : _mm256_loadu_ps(cp);
        out = _mm256_fmadd_ps(va, acc[r][v], beta == 1.0f ? old : _mm256_mul_ps(vb, old));
      }
      if (masked) _mm256_maskstore_ps(cp, mask, out);
      else _mm256_storeu_ps(cp, out);
    }
}

template <int R>
ENTRENA_AVX2 void direct_rows_f32(int cols, int64_t k, const float* a, int64_t a_rs, int64_t a_ks, const float* b,
                                  int64_t ldb, float* c, int64_t ldc, float alpha, float beta) {
  if (cols == 16) return direct_tile_f32<R, 2, false>(k, a, a_rs, a_ks, b, ldb, c, ldc, __m256i{}, alpha, beta);
  if (cols == 8) return direct_tile_f32<R, 1, false>(k, a, a_rs, a_ks, b, ldb, c, ldc, __m256i{}, alpha, beta);
  // Lane l of the last vector is valid when l < cols mod 8 (or all of it when that is 0).
  const int last = cols > 8 ? cols - 8 : cols;
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  if (cols > 8) direct_tile_f32<R, 2, true>(k, a, a_rs, a_ks, b, ldb, c, ldc, mask, alpha, beta);
  else direct_tile_f32<R, 1, true>(k, a, a_rs, a_ks, b, ldb, c, ldc, mask, alpha, beta);
}

// C[0:m, 0:n] = alpha · op(A) · op(B) + beta · C, K ≤ kDirectMaxK, float32, AVX2. Returns false,
// with C untouched, when the B panel buffer cannot be allocated (op(B) stored N×K only).
ENTRENA_AVX2 bool gemm_direct_f32(Op<float> a, Op<float> b, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                                  float alpha, float beta) {
  const int64_t a_rs = a.trans ? 1 : a.ld, a_ks = a.trans ? a.ld : 1;
  float* panel = nullptr;
  if (b.trans) {
    panel = t_pack_b.get<float>(static_cast<size_t>(k * 16));
    if (!panel) return false;
  }
  for (int64_t j = 0; j < n; j += 16) {
    const int cols = static_cast<int>(std::min<int64_t>(16, n - j));
    const float* bp = b.p + j;
    int64_t ldb = b.ld;
    if (b.trans) {  // op(B)'s K×16 panel, zero-padded, packed once for all the row panels
      pack_b(Op<float>{b.p + j * b.ld, b.ld, true}, k, cols, 16, panel);
      bp = panel;
      ldb = 16;
    }
    for (int64_t i = 0; i < m; i += 6) {
      const float* ap = a.p + i * a_rs;
      float* ct = c + i * ldc + j;
      switch (std::min<int64_t>(6, m - i)) {
        case 6: direct_rows_f32<6>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
        case 5: direct_rows_f32<5>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
        case 4: direct_rows_f32<4>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
        case 3: direct_rows_f32<3>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
        case 2: direct_rows_f32<2>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
        default: direct_rows_f32<1>(cols, k, ap, a_rs, a_ks, bp, ldb, ct, ldc, alpha, beta); break;
      }
    }
  }
  return true;
}
#endif

// Whether a product takes the direct path: float32 on the AVX2 kernel, K within the L1 panel, and
// at most kDirectWork multiply-adds, on the calling thread. Measured on a 2-core Zen 3 (paired
// runs, one call from JS each): the direct path runs 85–92 GFLOP/s from 48³ up, against 60–75 for
// the packed path on one thread and 75–98 on two at 64³–72³; from 80³ the packed path on two
// threads is faster (98–128 against 88–92).
// ENTRENA_GEMM_DIRECT_WORK overrides the bound (0 turns the path off), for such measurements.
constexpr int64_t kDirectWork = 72 * 72 * 72;
int64_t direct_work() {
  static const int64_t w = [] {
    const char* env = std::getenv("ENTRENA_GEMM_DIRECT_WORK");
    return env ? std::atoll(env) : kDirectWork;
  }();
  return w;
}
// On when the AVX2 kernel runs and the bound reaches past gemm_small's products.
bool direct_on() {
#if defined(ENTRENA_GEMM_X86)
  return use_avx2() && direct_work() > kSmallWork;
#else
  return false;
#endif
}
template <typename S>
bool direct_fits(int64_t m, int64_t n, int64_t k) {
  if constexpr (std::is_same<S, float>::value)
    return direct_on() && k <= kDirectMaxK && m * n * k <= direct_work();
  (void)m, (void)n, (void)k;
  return false;
}
std::atomic<int64_t> g_direct_calls{0};  // products (batch entries) the direct path ran: for tests
template <typename S, typename T>
bool gemm_direct(Op<S> a, Op<S> b, S* c, int64_t ldc, int64_t m, int64_t n, int64_t k, T alpha, T beta) {
#if defined(ENTRENA_GEMM_X86)
  if constexpr (std::is_same<S, float>::value) {
    g_direct_calls.fetch_add(1, std::memory_order_relaxed);
    return gemm_direct_f32(a, b, c, ldc, m, n, k, alpha, beta);
  }
#endif
  (void)a, (void)b, (void)c, (void)ldc, (void)m, (void)n, (void)k, (void)alpha, (void)beta;
  return false;
}

// C = beta·C (beta == 0 writes zeros without reading C).
template <typename S, typename T = compute_t<S>>
void scale_c(S* c, int64_t ldc, int64_t m, int64_t n, T beta) {
  for (int64_t i = 0; i < m; ++i) {
    S* row = c + i * ldc;
    if (beta == T(0))
      std::fill(row, row + n, S{});
    else if (beta != T(1))
      for (int64_t j = 0; j < n; ++j) row[j] = narrow<S>(beta * widen(row[j]));
  }
}

// ---- threading ---------------------------------------------------------------------------------

// Below this many multiply-adds per call a single thread wins: waking the pool costs a few µs.
constexpr int64_t kParallelWork = 64 * 64 * 64;

// Packed operands shared by all the threads of one call, owned by the calling thread. Every MR-row
// panel of op(A) and NR-column panel of op(B) (per K block) is packed exactly once, by whichever
// thread needs it first; a state byte per panel says unpacked (0), being packed (1) or ready (2).
// A thread that finds a panel being packed waits for it, which cannot deadlock: the packing thread
// is running the packing loop, which waits for nothing. When the pool runs the call serially
// (nested or concurrent calls), the caller simply packs everything itself.
struct SharedPacks {
  Buffer a, b;
  std::unique_ptr<std::atomic<uint8_t>[]> flags;
  size_t flag_cap = 0;
  std::atomic<uint8_t>* get_flags(size_t count) {
    if (count > flag_cap) {
      flags.reset(new (std::nothrow) std::atomic<uint8_t>[count]);
      flag_cap = flags ? count : 0;
      if (!flags) return nullptr;
    }
    for (size_t i = 0; i < count; ++i) flags[i].store(0, std::memory_order_relaxed);
    return flags.get();
  }
};
thread_local SharedPacks t_shared;

enum : uint8_t { kUnpacked = 0, kPacking = 1, kReady = 2 };

// Packs the panel if no thread has claimed it yet; returns false if another thread holds it.
template <typename F>
inline bool try_pack(std::atomic<uint8_t>& f, F&& pack) {
  if (f.load(std::memory_order_acquire) != kUnpacked) return false;
  uint8_t expect = kUnpacked;
  if (!f.compare_exchange_strong(expect, kPacking, std::memory_order_acq_rel)) return false;
  pack();
  f.store(kReady, std::memory_order_release);
  return true;
}
inline void wait_packed(std::atomic<uint8_t>& f) {
  for (int i = 0; f.load(std::memory_order_acquire) != kReady; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
    if (i > 2000) std::this_thread::yield();  // the packing thread lost its core
  }
}

// One GEMM (m, n, k ≥ 1) on the pool: C is cut into tasks of mc_blk rows × nct columns, handed out
// dynamically; each task runs the K blocks in order over its tile, taking its A and B panels from
// the shared packed copies (packing those nobody has packed yet). For the 16-bit types the task's
// tile accumulates in float32 over the K blocks (in a per-thread workspace when there are several,
// its width capped so that the workspace stays within kAccBytes) and is stored to C after the last.
template <typename S, typename T = compute_t<S>>
bool gemm_shared(const Plan<T>& pl, Op<S> a, Op<S> b, S* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                 T alpha, T beta, int threads) {
  const int mr = pl.mr, nr = pl.nr;
  const int64_t kc_blk = balanced_block(k, pl.kc, 1);
  const int64_t mc_blk = balanced_block(m, pl.mc, mr);
  const int64_t nk = (k + kc_blk - 1) / kc_blk;
  const int64_t m_panels = (m + mr - 1) / mr, n_panels = (n + nr - 1) / nr;
  const int64_t n_ic = (m + mc_blk - 1) / mc_blk;
  // Column chunks: enough tasks for dynamic balance (the last task to finish leaves the other
  // threads idle for part of its length, so tasks should be short), at least kMinChunk panels wide.
  // Measured on 2 cores: 4 tasks per thread left 5–13% of the threads' time idle at the end of an
  // M = 128 product, 16 per thread 1–3%. Short tasks cost little: a task re-reads its packed A
  // block from L2 per B panel anyway.
  const int64_t want = 16 * int64_t(threads);
  constexpr int64_t kMinChunk = 1;
  int64_t n_jc = std::min<int64_t>(n_panels, std::max<int64_t>(1, (want + n_ic - 1) / n_ic));
  int64_t nct_panels = (n_panels + n_jc - 1) / n_jc;
  if (nct_panels < kMinChunk) nct_panels = std::min<int64_t>(kMinChunk, n_panels);
  const bool accumulate = kWidened<S> && nk > 1;
  if (accumulate)
    nct_panels = std::min(nct_panels, std::max<int64_t>(1, kAccBytes / int64_t(sizeof(T)) / (mc_blk * nr)));
  n_jc = (n_panels + nct_panels - 1) / nct_panels;
  const int64_t nct = nct_panels * nr;
  const int64_t ntasks = n_ic * n_jc;

  // With a single row block every B panel has one user, which packs it privately (see the task).
  const bool private_b = n_ic == 1;
  T* ap = t_shared.a.get<T>(static_cast<size_t>(m_panels * mr * k));
  T* bp = private_b ? nullptr : t_shared.b.get<T>(static_cast<size_t>(n_panels * nr * k));
  std::atomic<uint8_t>* flags = t_shared.get_flags(static_cast<size_t>(nk * (m_panels + n_panels)));
  if (!ap || (!bp && !private_b) || !flags) return false;
  std::atomic<bool> out_of_memory{false};
  std::atomic<uint8_t>* aflags = flags;                    // [nk][m_panels]
  std::atomic<uint8_t>* bflags = flags + nk * m_panels;     // [nk][n_panels]

  // Packed layout: K block p (rows pc0 .. pc0+kc) of A occupies pc0·m_pad elements onward, panel r
  // at r·mr·kc within it; likewise for B.
  const int64_t m_pad = m_panels * mr, n_pad = n_panels * nr;
  auto a_panel = [&](int64_t p, int64_t r, int64_t kc) { return ap + p * kc_blk * m_pad + r * mr * kc; };
  auto b_panel = [&](int64_t p, int64_t j, int64_t kc) { return bp + p * kc_blk * n_pad + j * nr * kc; };
  auto pack_a_panel = [&](int64_t p, int64_t r, int64_t kc) {
    const int64_t pc = p * kc_blk, i0 = r * mr;
    Op<S> blk{a.trans ? a.p + pc * a.ld + i0 : a.p + i0 * a.ld + pc, a.ld, a.trans};
    pack_a(blk, std::min<int64_t>(mr, m - i0), kc, mr, a_panel(p, r, kc));
  };
  auto pack_b_one = [&](int64_t p, int64_t j, int64_t kc, T* out) {
    const int64_t pc = p * kc_blk, j0 = j * nr;
    Op<S> blk{b.trans ? b.p + j0 * b.ld + pc : b.p + pc * b.ld + j0, b.ld, b.trans};
    pack_b(blk, kc, std::min<int64_t>(nr, n - j0), nr, out);
  };
  auto pack_b_panel = [&](int64_t p, int64_t j, int64_t kc) { pack_b_one(p, j, kc, b_panel(p, j, kc)); };

  // Starts the reads of the next B panel's source into L2 while this panel's micro-kernels run:
  // a panel of B stored K×N is kc rows 64 bytes wide at a large stride, which the hardware
  // prefetchers follow poorly.
  auto prefetch_b_panel = [&](int64_t p, int64_t j, int64_t kc) {
    const int64_t pc = p * kc_blk, j0 = j * nr;
    const int64_t cols = std::min<int64_t>(nr, n - j0);
    if (!b.trans) {
      const char* src = reinterpret_cast<const char*>(b.p + pc * b.ld + j0);
      const int64_t row_bytes = cols * int64_t(sizeof(S)), ld_bytes = b.ld * int64_t(sizeof(S));
      for (int64_t q = 0; q < kc; ++q, src += ld_bytes) {
        __builtin_prefetch(src, 0, 2);
        if (row_bytes > 64 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(src) & 63)) __builtin_prefetch(src + row_bytes - 1, 0, 2);
      }
    } else {
      for (int64_t jj = 0; jj < cols; ++jj) {
        const char* src = reinterpret_cast<const char*>(b.p + (j0 + jj) * b.ld + pc);
        const int64_t bytes = kc * int64_t(sizeof(S));
        for (int64_t o = 0; o < bytes + 63; o += 64) __builtin_prefetch(src + std::min(o, bytes - 1), 0, 2);
      }
    }
  };

  std::atomic<int64_t> next{0};
  auto task = [&](int64_t t) {
    alignas(64) T edge[16 * 16];
    const int64_t ic_i = t % n_ic, jc_i = t / n_ic;
    const int64_t ic = ic_i * mc_blk, mc = std::min(mc_blk, m - ic);
    const int64_t jc = jc_i * nct, nc = std::min(nct, n - jc);
    const int64_t r0 = ic / mr, r1 = (ic + mc + mr - 1) / mr;
    const int64_t j0 = jc / nr, j1 = (jc + nc + nr - 1) / nr;
    // 16-bit C over several K blocks: the float32 sums of this task's tile, (r1 − r0)·MR × nct.
    T* ws = nullptr;
    if (accumulate && !(ws = t_acc.get<T>(static_cast<size_t>((r1 - r0) * mr * nct)))) {
      out_of_memory.store(true, std::memory_order_relaxed);
      return;
    }
    for (int64_t p = 0; p < nk; ++p) {
      const int64_t kc = std::min(kc_blk, k - p * kc_blk);
      const T beta_k = p == 0 ? beta : T(1);
      // A panels of this row block: pack the unclaimed ones, starting at a point that depends on
      // the column chunk so that tasks sharing the block pack different panels, then wait for the
      // rest.
      const int64_t rn = r1 - r0, rs = rn * jc_i / n_jc;
      for (int64_t q = 0; q < rn; ++q) {
        const int64_t r = r0 + (rs + q) % rn;
        try_pack(aflags[p * m_panels + r], [&] { pack_a_panel(p, r, kc); });
      }
      for (int64_t r = r0; r < r1; ++r) wait_packed(aflags[p * m_panels + r]);
      for (int64_t j = j0; j < j1; ++j) {
        const T* bpanel;
        if (private_b) {
          // Only this task uses the panel: pack it into a small per-thread buffer that stays in
          // L1/L2, instead of writing a K×N copy through the caches.
          T* own = t_pack_b.get<T>(static_cast<size_t>(kc_blk * nr));
          if (!own) {
            out_of_memory.store(true, std::memory_order_relaxed);
            return;
          }
          pack_b_one(p, j, kc, own);
          bpanel = own;
          if (j + 1 < j1) prefetch_b_panel(p, j + 1, kc);
        } else {
          std::atomic<uint8_t>& bf = bflags[p * n_panels + j];
          if (!try_pack(bf, [&] { pack_b_panel(p, j, kc); })) wait_packed(bf);
          if (j + 1 < j1 && bf.load(std::memory_order_relaxed) == kUnpacked) prefetch_b_panel(p, j + 1, kc);
          bpanel = b_panel(p, j, kc);
        }
        const int64_t cols = std::min<int64_t>(nr, n - j * nr);
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t rows = std::min<int64_t>(mr, m - r * mr);
          const T* apanel = a_panel(p, r, kc);
          S* ct = c + r * mr * ldc + j * nr;
          // The last A panel against a shared B panel pulls the next one into L1 (a private
          // panel's successor is not packed yet: prefetch_b_panel fetches its source instead).
          const T* bnext = r + 1 == r1 && !private_b && j + 1 < j1 ? b_panel(p, j + 1, kc) : nullptr;
          if constexpr (kWidened<S>) {
            T* acc = ws ? ws + (r - r0) * mr * nct + (j - j0) * nr : edge;
            const int64_t ld_acc = ws ? nct : nr;
            pl.micro(kc, apanel, bpanel, acc, ld_acc, T(1), p == 0 ? T(0) : T(1), bnext);
            if (p + 1 == nk) store_tile(acc, ld_acc, ct, ldc, rows, cols, alpha, beta);
          } else if (rows == mr && cols == nr) {
            pl.micro(kc, apanel, bpanel, ct, ldc, alpha, beta_k, bnext);
          } else {
            pl.micro(kc, apanel, bpanel, edge, nr, T(1), T(0), bnext);
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t jj = 0; jj < cols; ++jj) {
                T v = alpha * edge[i * nr + jj];
                ct[i * ldc + jj] = beta_k == T(0) ? v : v + beta_k * ct[i * ldc + jj];
              }
          }
        }
      }
    }
  };
  // One chunk per thread; each drains the task counter, so a thread that starts late (or loses its
  // core) simply takes fewer tasks.
  parallel_for(threads, 1, [&](int64_t, int64_t) {
    for (;;) {
      const int64_t t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= ntasks) break;
      task(t);
    }
  });
  return !out_of_memory.load();
}

// Splits a large product into super-blocks whose packed operands fit kSharedBudget bytes; each is
// one gemm_shared call (one fork/join, negligible beside its work). Every super-block packs its
// rows of A and columns of B again, so they should be large: 2048³ in f32 runs as two of
// 2048×1024, packing A twice and B once.
constexpr int64_t kSharedBudget = int64_t(32) << 20;

template <typename S, typename T = compute_t<S>>
bool gemm_parallel(const Plan<T>& pl, Op<S> a, Op<S> b, S* c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                   T alpha, T beta, int threads) {
  int64_t ms = m, ns = n;
  const int64_t unit_m = balanced_block(m, pl.mc, pl.mr);
  while ((ms + ns + pl.mr + pl.nr) * k * int64_t(sizeof(T)) > kSharedBudget) {
    if (ns >= ms && ns > pl.nc / 4) ns = (ns / 2 + pl.nr - 1) / pl.nr * pl.nr;
    else if (ms > unit_m) ms = std::max(unit_m, (ms / 2 + unit_m - 1) / unit_m * unit_m);
    else if (ns > 4 * pl.nr) ns = (ns / 2 + pl.nr - 1) / pl.nr * pl.nr;
    else break;
  }
  for (int64_t j = 0; j < n; j += ns)
    for (int64_t i = 0; i < m; i += ms) {
      Op<S> ab{a.trans ? a.p + i : a.p + i * a.ld, a.ld, a.trans};
      Op<S> bb{b.trans ? b.p + j * b.ld : b.p + j, b.ld, b.trans};
      if (!gemm_shared(pl, ab, bb, c + i * ldc + j, ldc, std::min(ms, m - i), std::min(ns, n - j), k, alpha,
                       beta, threads))
        return false;
    }
  return true;
}

// S: the storage type of A, B and C; T: the compute type (float for the 16-bit types, in which
// alpha and beta are applied).
template <typename S, typename T = compute_t<S>>
Status gemm_t(const GemmArgs& g) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return Status::ok;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  const S* A = static_cast<const S*>(g.a);
  const S* B = static_cast<const S*>(g.b);
  S* C = static_cast<S*>(g.c);
  const int64_t m = g.m, n = g.n, k = g.k;

  if (k == 0 || alpha == T(0)) {
    for (int64_t bi = 0; bi < g.batch; ++bi) scale_c(C + bi * g.stride_c, g.ldc, m, n, beta);
    return Status::ok;
  }

  // A CBLAS library, where one is loaded (ENTRENA_BLAS, or Accelerate on macOS), takes the large
  // products (native/cpu/blas.cc). It is never given the 16-bit types.
  if constexpr (!kWidened<S>)
    if (blas_gemm(g)) return Status::ok;

  const Plan<T>& pl = plan_for<T>();
  const bool direct = direct_fits<S>(m, n, k);
  std::atomic<bool> out_of_memory{false};
  auto ops = [&](int64_t bi, Op<S>* a, Op<S>* b) {
    *a = Op<S>{A + bi * g.stride_a, g.lda, g.trans_a};
    *b = Op<S>{B + bi * g.stride_b, g.ldb, g.trans_b};
  };
  // One whole batch entry on the calling thread.
  auto entry = [&](int64_t bi) {
    Op<S> a, b;
    ops(bi, &a, &b);
    S* c0 = C + bi * g.stride_c;
    bool ok = true;
    // gemm_small before the direct path: its separate multiplies and adds are the rounding the tiny
    // float32 parity cases were matched with (L-BFGS's line search, over a few such products per
    // step, moved by 1.3e-3 after five steps with the direct path's fused multiply-adds).
    if (m * n * k <= kSmallWork && n <= kSmallMaxN) gemm_small(a, b, c0, g.ldc, m, n, k, alpha, beta);
    else if (direct) ok = gemm_direct(a, b, c0, g.ldc, m, n, k, alpha, beta);
    else if constexpr (kWidened<S>) ok = gemm_blocked_widened(pl, a, b, c0, g.ldc, m, n, k, alpha, beta);
    else ok = gemm_blocked(pl, a, b, c0, g.ldc, m, n, k, alpha, beta);
    if (!ok) out_of_memory.store(true);
  };
  auto finish = [&]() -> Status {
    return out_of_memory.load()
               ? set_error(Status::out_of_memory, "gemm: cannot allocate the packing buffers (%lld×%lld×%lld)",
                           static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n))
               : Status::ok;
  };

  const int threads = num_threads();
  const int64_t work = m * n * k;  // per batch entry
  if (threads <= 1 || work * g.batch < kParallelWork || (direct && g.batch == 1)) {
    for (int64_t bi = 0; bi < g.batch; ++bi) entry(bi);
    return finish();
  }
  // Whole batch entries per task when they divide evenly among the threads (or are many) or are
  // too small to split; otherwise every entry is shared by all the threads in turn.
  if (g.batch % threads == 0 || g.batch >= 4 * threads || work < kParallelWork) {
    parallel_for(g.batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t bi = b0; bi < b1; ++bi) entry(bi);
    });
    return finish();
  }
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    Op<S> a, b;
    ops(bi, &a, &b);
    if (!gemm_parallel(pl, a, b, C + bi * g.stride_c, g.ldc, m, n, k, alpha, beta, threads))
      out_of_memory.store(true);
  }
  return finish();
}

}  // namespace

const char* gemm_kernel_name() { return plan_for<float>().name; }

GemmDirectInfo gemm_direct_info() {
  return GemmDirectInfo{direct_on() ? direct_work() : 0, g_direct_calls.load(std::memory_order_relaxed)};
}

Status gemm(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::f32: return gemm_t<float>(g);
    case DType::f64: return gemm_t<double>(g);
    case DType::bf16: return gemm_t<bf16_t>(g);
    case DType::f16: return gemm_t<f16_t>(g);
    default: return set_error(Status::dtype, "matmul needs a floating dtype, received int32");
  }
}

}  // namespace entrena::cpu
