// ops.h — the op table: the single place where every native op is named (DESIGN principle 2).
//
// Elementwise ops are scalar functors (one line each, DESIGN principle 4) written once here and
// compiled by every backend: the CPU driver in native/cpu/elementwise.cc and the CUDA driver in
// native/cuda/elementwise.cu instantiate the same expressions. `a`, `b` are the operands, `p0`,
// `p1` the op's scalar parameters (a slope, an alpha, clamp bounds), `T` the element type.
// Derivative functors (`*_backward`) take the incoming gradient as `a` and the saved input (or
// output, where the rule is cheaper in it) as `b`.
//
// The numbering of each enum is part of the boundary: lib/ts/native.ts mirrors it, and
// test/contracts.test.ts reads both files and fails on any difference. Ids of removed ops are not
// reused (unary 0, 26, 34, 35 were identity, pow_scalar, rdiv_scalar, rpow_scalar), so a stale
// caller gets "unknown unary op", never a different op.
#pragma once
#include <cmath>
#include "view.h"

namespace entrena {

// ---- unary: out = f(a; p0, p1) ----------------------------------------------------------------
// GELU: exact erf form and the tanh approximation, as torch.nn.functional.gelu.
// Softplus: (1/β)·log(1+exp(β·a)), linear above the threshold, as torch.nn.Softplus.
// SELU constants are those of Klambauer et al. 2017 (and torch).
#define ENTRENA_UNARY_OPS(X)                                                                      \
  X(neg, 1, -a)                                                                                   \
  X(abs, 2, (a < T(0) ? -a : a))                                                                  \
  X(exp, 3, std::exp(a))                                                                          \
  X(log, 4, std::log(a))                                                                          \
  X(sqrt, 5, std::sqrt(a))                                                                        \
  X(rsqrt, 6, T(1) / std::sqrt(a))                                                                \
  X(square, 7, a * a)                                                                             \
  X(sign, 8, (a > T(0) ? T(1) : a < T(0) ? T(-1) : a))                                            \
  X(sigmoid, 9, sigmoid_(a))                                                                      \
  X(tanh, 10, std::tanh(a))                                                                       \
  X(relu, 11, (a > T(0) ? a : (a != a ? a : T(0))))                                               \
  X(leaky_relu, 12, select_(a > T(0), a, a * T(p0)))                                              \
  X(elu, 13, (a > T(0) ? a : T(p0) * (std::exp(a) - T(1))))                                       \
  X(selu, 14, T(1.0507009873554804934193349852946) *                                              \
                  (a > T(0) ? a : T(1.6732632423543772848170429916717) * (std::exp(a) - T(1))))   \
  X(gelu, 15, T(0.5) * a * (T(1) + std::erf(a * T(0.70710678118654752440))))                      \
  X(gelu_tanh, 16, T(0.5) * a * (T(1) + std::tanh(T(0.79788456080286535588) *                     \
                                                   (a + T(0.044715) * a * a * a))))               \
  X(silu, 17, a * sigmoid_(a))                                                                    \
  X(mish, 18, a * std::tanh(softplus_(a, T(1), T(20))))                                           \
  X(softplus, 19, softplus_(a, T(p0), T(p1)))                                                     \
  X(log1p, 20, std::log1p(a))                                                                     \
  X(expm1, 21, std::expm1(a))                                                                     \
  X(sin, 22, std::sin(a))                                                                         \
  X(cos, 23, std::cos(a))                                                                         \
  X(reciprocal, 24, T(1) / a)                                                                     \
  X(clamp, 25, clamp_(a, T(p0), T(p1)))                                                           \
  X(floor, 27, std::floor(a))                                                                     \
  X(ceil, 28, std::ceil(a))                                                                       \
  X(round, 29, std::nearbyint(a))                                                                 \
  X(add_scalar, 30, a + T(p0))                                                                    \
  X(mul_scalar, 31, a * T(p0))                                                                    \
  X(affine, 32, a * T(p0) + T(p1))                                                                \
  X(rsub_scalar, 33, T(p0) - a)                                                                   \
  X(isnan, 36, (a != a ? T(1) : T(0)))                                                            \
  X(isfinite, 37, (a - a == a - a ? T(1) : T(0)))                                                 \
  X(hardtanh, 38, clamp_(a, T(p0), T(p1)))                                                        \
  X(log_sigmoid, 39, (a < T(0) ? a - std::log1p(std::exp(a)) : -std::log1p(std::exp(-a))))

// ---- binary: out = f(a, b; p0, p1) ------------------------------------------------------------
#define ENTRENA_BINARY_OPS(X)                                                                     \
  X(add, 0, a + b)                                                                                \
  X(sub, 1, a - b)                                                                                \
  X(mul, 2, a * b)                                                                                \
  X(div, 3, a / b)                                                                                \
  X(pow, 4, pow_(a, b))                                                                           \
  X(maximum, 5, (a != a ? a : b != b ? b : a > b ? a : b))                                        \
  X(minimum, 6, (a != a ? a : b != b ? b : a < b ? a : b))                                        \
  X(eq, 7, (a == b ? T(1) : T(0)))                                                                \
  X(ne, 8, (a != b ? T(1) : T(0)))                                                                \
  X(gt, 9, (a > b ? T(1) : T(0)))                                                                 \
  X(ge, 10, (a >= b ? T(1) : T(0)))                                                               \
  X(lt, 11, (a < b ? T(1) : T(0)))                                                                \
  X(le, 12, (a <= b ? T(1) : T(0)))                                                               \
  X(atan2, 13, std::atan2(a, b))                                                                  \
  X(relu_backward, 20, (b > T(0) ? a : T(0)))                                                     \
  X(leaky_relu_backward, 21, select_(b > T(0), a, a * T(p0)))                                     \
  X(sigmoid_backward, 22, a * b * (T(1) - b))                /* b = sigmoid output */             \
  X(tanh_backward, 23, a * (T(1) - b * b))                   /* b = tanh output */                \
  X(elu_backward, 24, (b > T(0) ? a : a * T(p0) * std::exp(b)))                                   \
  X(selu_backward, 25, a * T(1.0507009873554804934193349852946) *                                 \
                           (b > T(0) ? T(1) : T(1.6732632423543772848170429916717) * std::exp(b)))\
  X(gelu_backward, 26, a * gelu_grad_(b))                                                         \
  X(gelu_tanh_backward, 27, a * gelu_tanh_grad_(b))                                               \
  X(silu_backward, 28, a * silu_grad_(b))                                                         \
  X(mish_backward, 29, a * mish_grad_(b))                                                         \
  X(softplus_backward, 30, a * softplus_grad_(b, T(p0), T(p1)))                                   \
  X(sign_mul, 31, (b > T(0) ? a : b < T(0) ? -a : T(0)))    /* abs backward: a·sign(b) */         \
  X(clamp_backward, 32, select_((b >= T(p0)) & (b <= T(p1)), a, T(0)))                            \
  X(log_sigmoid_backward, 33, a * sigmoid_(-b))                                                   \
  X(hardtanh_backward, 34, select_((b > T(p0)) & (b < T(p1)), a, T(0)))                         \
  X(dropout_apply, 35, select_(b >= T(p0), a, T(0)) * T(p1))  /* b = U[0,1) draw, p0 = p, p1 = 1/(1−p) */

enum class UnaryOp : int32_t {
#define ENTRENA_ENUM(name, id, expr) name = id,
  ENTRENA_UNARY_OPS(ENTRENA_ENUM)
#undef ENTRENA_ENUM
};
enum class BinaryOp : int32_t {
#define ENTRENA_ENUM(name, id, expr) name = id,
  ENTRENA_BINARY_OPS(ENTRENA_ENUM)
#undef ENTRENA_ENUM
};

// Reductions over the middle axis of a contiguous [outer, n, inner] array.
enum class ReduceOp : int32_t { sum = 0, mean = 1, max = 2, min = 3, argmax = 4, argmin = 5, var = 6, prod = 7 };

// Indexing along the middle axis of contiguous [outer, n, inner] (the binding's `index` entry):
// select and gather read src into out; add and scatter_add accumulate src into dst.
enum class IndexKind : int32_t { select = 0, add = 1, gather = 2, scatter_add = 3 };

// ---- scalar helpers used by the functors (host and device) --------------------------------------
// c ? x : y with both operands evaluated, and conditions combined with & rather than &&: written
// so, the functors have no branch for the compiler to keep, and GCC vectorises them (with
// -fno-trapping-math, binding.gyp); as branches it kept dropout's mask and the clamp gradient
// scalar (measured on [128, 512]: 140 and 105 µs, against 9 µs vectorised). The values are those
// of the branch forms, −0 and NaN included.
template <typename T> ENTRENA_HD T select_(bool c, T x, T y) { return c ? x : y; }
template <typename T> ENTRENA_HD T sigmoid_(T a) {
  // Two branches so that exp never overflows: both are exact forms of 1/(1+e^-a).
  if (a >= T(0)) return T(1) / (T(1) + std::exp(-a));
  T e = std::exp(a);
  return e / (T(1) + e);
}
template <typename T> ENTRENA_HD T softplus_(T a, T beta, T threshold) {
  T z = a * beta;
  return z > threshold ? a : std::log1p(std::exp(z)) / beta;
}
template <typename T> ENTRENA_HD T softplus_grad_(T a, T beta, T threshold) {
  T z = a * beta;
  return z > threshold ? T(1) : sigmoid_(z);
}
template <typename T> ENTRENA_HD T clamp_(T a, T lo, T hi) {
  // min(max(a, lo), hi) as torch.clamp: when lo > hi every element becomes hi; NaN passes through.
  T r = a < lo ? lo : a;
  return r > hi ? hi : r;
}
template <typename T> ENTRENA_HD T pow_(T a, T b) { return std::pow(a, b); }
template <> ENTRENA_HD int32_t pow_<int32_t>(int32_t a, int32_t b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? (b % 2 ? -1 : 1) : 0);
  // Unsigned arithmetic wraps modulo 2^32, as PyTorch's int32 pow does; signed overflow would be
  // undefined behaviour (UBSan found it under the CUDA emulation, test/stress/cuda_emu.test.ts).
  uint32_t r = 1, x = static_cast<uint32_t>(a);
  while (b) { if (b & 1) r *= x; x *= x; b >>= 1; }
  return static_cast<int32_t>(r);
}
template <typename T> ENTRENA_HD T gelu_grad_(T x) {
  const T kInvSqrt2 = T(0.70710678118654752440), kInvSqrt2Pi = T(0.39894228040143267794);
  T cdf = T(0.5) * (T(1) + std::erf(x * kInvSqrt2));
  return cdf + x * kInvSqrt2Pi * std::exp(T(-0.5) * x * x);
}
template <typename T> ENTRENA_HD T gelu_tanh_grad_(T x) {
  const T k = T(0.79788456080286535588), c = T(0.044715);
  T inner = k * (x + c * x * x * x);
  T t = std::tanh(inner);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3) * c * x * x);
}
template <typename T> ENTRENA_HD T silu_grad_(T x) {
  T s = sigmoid_(x);
  return s * (T(1) + x * (T(1) - s));
}
template <typename T> ENTRENA_HD T mish_grad_(T x) {
  T sp = softplus_(x, T(1), T(20));
  T t = std::tanh(sp);
  return t + x * (T(1) - t * t) * sigmoid_(x);
}

}  // namespace entrena
