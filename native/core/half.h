// half.h — the two 16-bit floating-point storage types, bfloat16 and IEEE float16, and their exact
// conversions to and from float32, for host and device code alike.
//
// Both are storage formats: a kernel loads an element as float32, computes in float32 (or wider)
// and rounds once when it stores (PyTorch's rule for its CPU kernels and for accumulation). The
// conversions are written with integer operations only, so that they give the same bits on every
// CPU, under every compiler flag (no dependence on the FPU's rounding mode or flush-to-zero) and in
// CUDA device code; they match c10::BFloat16 / c10::Half bit for bit (test/half.test.ts checks them
// against PyTorch's casts, NaN, ±Inf, subnormals and overflow included):
//   float32 → bfloat16: round to nearest even on the upper 16 bits; every NaN becomes 0x7FC0
//                       (c10::detail::round_to_nearest_even);
//   float32 → float16:  round to nearest even, subnormals kept, |x| ≥ 65520 becomes ±Inf, a NaN
//                       becomes sign | 0x7E00 (fp16_ieee_from_fp32_value of the FP16 library);
//   16 → 32 bits:       exact.
// Wider and integer types go through float32 (double → float → half), as PyTorch's casts do.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "view.h"

namespace entrena {

struct bf16_t { uint16_t bits; };
struct f16_t { uint16_t bits; };

ENTRENA_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
ENTRENA_HD float f32_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

ENTRENA_HD uint16_t bf16_from_f32(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN (any payload, either sign)
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
ENTRENA_HD float f32_from_bf16(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

ENTRENA_HD uint16_t f16_from_f32(float f) {
  const uint32_t u = f32_bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u, ax = u & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return static_cast<uint16_t>(sign | (ax > 0x7F800000u ? 0x7E00u : 0x7C00u));
  // 65520 (0x477FF000) lies halfway between 65504, the largest float16, and 65536: even is up, ∞.
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  if (ax < 0x38800000u) {
    // Below 2^-14, the smallest normal float16: a subnormal, in units of 2^-24. 2^-25 and less
    // round to zero (2^-25 itself is the halfway case, and zero is even).
    if (ax <= 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = ax >> 23, m = (ax & 0x7FFFFFu) | 0x800000u;   // |x| = m·2^(e−150)
    const uint32_t shift = 126 - e;                                  // 14 … 24
    uint32_t r = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (r & 1u))) ++r;               // may carry into 0x400: 2^-14
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias the exponent (127 → 15) and round the 23-bit mantissa to 10 bits; a carry out of
  // the mantissa steps the exponent, as it should.
  const uint32_t r = ax - 0x38000000u;
  uint32_t h = r >> 13;
  const uint32_t rest = r & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}
ENTRENA_HD float f32_from_f16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1Fu) return f32_from_bits(sign | 0x7F800000u | (m << 13));      // ±Inf, NaN (payload kept)
  if (e == 0) {
    if (m == 0) return f32_from_bits(sign);                                  // ±0
    // Subnormal m·2^-24: normalise.
    e = 113;
    while ((m & 0x400u) == 0) { m <<= 1; --e; }
    return f32_from_bits(sign | (e << 23) | ((m & 0x3FFu) << 13));
  }
  return f32_from_bits(sign | ((e + 112) << 23) | (m << 13));
}

// The element-type conversions of view.h's convert<Out, In>, extended to the 16-bit types: every
// conversion involving one goes through float32.
template <typename T> struct HalfOf { static constexpr bool value = false; };
template <> struct HalfOf<bf16_t> { static constexpr bool value = true; };
template <> struct HalfOf<f16_t> { static constexpr bool value = true; };

ENTRENA_HD float to_f32(bf16_t v) { return f32_from_bf16(v.bits); }
ENTRENA_HD float to_f32(f16_t v) { return f32_from_f16(v.bits); }
template <typename H> ENTRENA_HD H half_from_f32(float f);
template <> ENTRENA_HD bf16_t half_from_f32<bf16_t>(float f) { return bf16_t{bf16_from_f32(f)}; }
template <> ENTRENA_HD f16_t half_from_f32<f16_t>(float f) { return f16_t{f16_from_f32(f)}; }

// A value of any element type (float, double, int32_t, bf16_t, f16_t) as `Out`.
template <typename Out, typename In> ENTRENA_HD Out convert_any(In v) {
  if constexpr (HalfOf<In>::value && HalfOf<Out>::value) {
    if constexpr (std::is_same<In, Out>::value) return v;
    else return half_from_f32<Out>(to_f32(v));
  } else if constexpr (HalfOf<In>::value) {
    return convert<Out, float>(to_f32(v));
  } else if constexpr (HalfOf<Out>::value) {
    return half_from_f32<Out>(static_cast<float>(v));
  } else {
    return convert<Out, In>(v);
  }
}

}  // namespace entrena
