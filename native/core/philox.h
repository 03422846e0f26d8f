// philox.h — Philox4x32-10 counter-based random numbers (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011), shared by the CPU and CUDA backends.
//
// Why counter-based: element i of a random tensor is a pure function of (seed, offset, i), so the
// numbers are the same whatever the thread count or the CUDA launch shape, and the same on both
// devices. Each counter value yields four 32-bit words, i.e. four uniforms or four normals.
#pragma once
#include <cmath>
#include <cstdint>
#include "view.h"

namespace entrena {

struct Philox4 { uint32_t v[4]; };

ENTRENA_HD Philox4 philox4x32_10(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = static_cast<uint32_t>(p1);
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// A uniform in [0, 1) with 24 random bits (float) or, from two words, 53 bits (double).
ENTRENA_HD float u01_f32(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
ENTRENA_HD double u01_f64(uint32_t hi, uint32_t lo) {
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Value k (0..3) of counter group g: uniform in [0,1) for the given element type.
template <typename T> ENTRENA_HD T philox_uniform(uint64_t seed, uint64_t group, int k) {
  Philox4 r = philox4x32_10(group, seed);
  if (sizeof(T) == 8) {
    Philox4 r2 = philox4x32_10(group ^ 0x8000000000000000ull, seed);
    return static_cast<T>(u01_f64(r.v[k], r2.v[k]));
  }
  return static_cast<T>(u01_f32(r.v[k]));
}

// Box–Muller on the pair (k & ~1, k | 1) of the group: two independent N(0,1) values.
template <typename T> ENTRENA_HD T philox_normal(uint64_t seed, uint64_t group, int k) {
  Philox4 r = philox4x32_10(group, seed);
  int j = k & ~1;
  // 1 - u keeps the log argument in (0, 1].
  double u1 = 1.0 - static_cast<double>(r.v[j] >> 8) * (1.0 / 16777216.0);
  double u2 = static_cast<double>(r.v[j + 1] >> 8) * (1.0 / 16777216.0);
  if (sizeof(T) == 8) {
    Philox4 r2 = philox4x32_10(group ^ 0x8000000000000000ull, seed);
    u1 = 1.0 - u01_f64(r.v[j], r2.v[j]);
    u2 = u01_f64(r.v[j + 1], r2.v[j + 1]);
  }
  double radius = std::sqrt(-2.0 * std::log(u1));
  double theta = 6.283185307179586476925 * u2;
  return static_cast<T>((k & 1) ? radius * std::sin(theta) : radius * std::cos(theta));
}

}  // namespace entrena
