// batchnorm.cc — fused CPU batch normalisation, forward and backward, over contiguous [N, C, L].
//
// What it is: the kernels behind nn.BatchNorm1d (and 2d, with L = H·W), with the semantics of
// torch.nn.functional.batch_norm documented on BatchNormArgs in core/backend.h (Ioffe & Szegedy
// 2015, arXiv:1502.03167). What it is not: the module (buffers, momentum=None bookkeeping,
// input validation) — that lives in TypeScript; the composed-ops version there is the reference
// these kernels are checked against, alongside the PyTorch fixtures.
//
// Shape legend: N batch, C channels, L positions per channel and sample, M = N·L elements per
// channel. Element (n, c, l) sits at (n·C + c)·L + l.
//
// Numerics: per-channel sums accumulate in double. The variance is two-pass (mean first, then
// Σ(x − mean)²): the one-pass E[x²] − E[x]² cancels catastrophically when |mean| ≫ std. The
// biased variance normalises (it is the variance of the batch being normalised); the unbiased one
// (·M/(M−1)) goes into running_var, because it estimates the population variance — both as PyTorch.
//
// Parallelism: over channels. A task owns a block of channels and walks all N samples for it; for
// L = 1 the inner loop runs across the block's channels, which are contiguous in memory, so every
// pass streams rows instead of striding by C.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "threads.h"

#if defined(__x86_64__) || defined(_M_X64)
#define ENTRENA_BN_X86 1
#endif

namespace entrena::cpu {
namespace {

// The block bodies below are force-inlined into two wrappers: one compiled for the build's base ISA
// and one with target("avx2,fma"), chosen at run time from CPUID (as gemm.cc does). With AVX2 the
// float→double widening loops run four lanes wide instead of two: ~1.7× at [128, 512].
#define ENTRENA_INLINE inline __attribute__((always_inline))

// Accumulates Σ f(row element) per channel of [c0, c1) into acc[0..c1−c0), for x of [N, C, L].
// f maps an element value and its channel-local index to the double to add.
template <typename T, typename F>
ENTRENA_INLINE void channel_sums(const T* x, int64_t n, int64_t c, int64_t l, int64_t c0, int64_t c1, double* acc, F f) {
  const int64_t w = c1 - c0;
  for (int64_t k = 0; k < w; ++k) acc[k] = 0;
  if (l == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T* row = x + i * c + c0;
      for (int64_t k = 0; k < w; ++k) acc[k] += f(row[k], k, i * c + c0 + k);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < w; ++k) {
      const int64_t base = (i * c + c0 + k) * l;
      const T* row = x + base;
      // Four partial sums break the floating-point add chain (latency-bound otherwise).
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t j = 0;
      for (; j + 4 <= l; j += 4) {
        s0 += f(row[j], k, base + j);
        s1 += f(row[j + 1], k, base + j + 1);
        s2 += f(row[j + 2], k, base + j + 2);
        s3 += f(row[j + 3], k, base + j + 3);
      }
      for (; j < l; ++j) s0 += f(row[j], k, base + j);
      acc[k] += (s0 + s1) + (s2 + s3);
    }
  }
}

// Calls f(element index, channel-local k) for every element of the channel block, row by row.
template <typename F>
ENTRENA_INLINE void channel_apply(int64_t n, int64_t c, int64_t l, int64_t c0, int64_t c1, F f) {
  const int64_t w = c1 - c0;
  for (int64_t i = 0; i < n; ++i) {
    if (l == 1) {
      const int64_t base = i * c + c0;
      for (int64_t k = 0; k < w; ++k) f(base + k, k);
    } else {
      for (int64_t k = 0; k < w; ++k) {
        const int64_t base = (i * c + c0 + k) * l;
        for (int64_t j = 0; j < l; ++j) f(base + j, k);
      }
    }
  }
}

// Like channel_sums, for two sums taken in one pass: acc0 += f0(...), acc1 += f1(...).
template <typename T, typename F0, typename F1>
ENTRENA_INLINE void channel_sums2(const T* x, int64_t n, int64_t c, int64_t l, int64_t c0, int64_t c1, double* acc0,
                                  double* acc1, F0 f0, F1 f1) {
  const int64_t w = c1 - c0;
  for (int64_t k = 0; k < w; ++k) acc0[k] = acc1[k] = 0;
  if (l == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T* row = x + i * c + c0;
      for (int64_t k = 0; k < w; ++k) {
        acc0[k] += f0(row[k], k, i * c + c0 + k);
        acc1[k] += f1(row[k], k, i * c + c0 + k);
      }
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < w; ++k) {
      const int64_t base = (i * c + c0 + k) * l;
      const T* row = x + base;
      double s0 = 0, s1 = 0, t0 = 0, t1 = 0;
      int64_t j = 0;
      for (; j + 2 <= l; j += 2) {
        s0 += f0(row[j], k, base + j);
        t0 += f1(row[j], k, base + j);
        s1 += f0(row[j + 1], k, base + j + 1);
        t1 += f1(row[j + 1], k, base + j + 1);
      }
      for (; j < l; ++j) {
        s0 += f0(row[j], k, base + j);
        t0 += f1(row[j], k, base + j);
      }
      acc0[k] += s0 + s1;
      acc1[k] += t0 + t1;
    }
  }
}

// A block of channels per task, sized so that a task touches at least ~16k elements.
// (An empty batch, m = 0, makes every channel one cheap task: no division by zero.)
int64_t channel_grain(int64_t m) { return m >= 16384 ? 1 : m <= 0 ? 1 << 20 : (16384 + m - 1) / m; }

template <typename T> double load(const void* p, int64_t i) { return static_cast<double>(static_cast<const T*>(p)[i]); }

#define ENTRENA_LAMBDA_INLINE __attribute__((always_inline))

// Forward over channels [c0, c1) (see BatchNormArgs for the formulas).
template <typename T>
ENTRENA_INLINE void forward_block(const BatchNormArgs& a, int64_t c0, int64_t c1) {
  const int64_t N = a.n, C = a.c, L = a.l, M = N * L;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  T* rm = static_cast<T*>(a.running_mean);
  T* rv = static_cast<T*>(a.running_var);
  const int64_t w = c1 - c0;
  std::vector<double> mean(w), scale(w), shift(w);
  if (a.training) {
    std::vector<double> ss(w);
    channel_sums(x, N, C, L, c0, c1, mean.data(), [](T v, int64_t, int64_t) ENTRENA_LAMBDA_INLINE { return static_cast<double>(v); });
    for (int64_t k = 0; k < w; ++k) mean[k] /= static_cast<double>(M);
    const double* mu = mean.data();
    channel_sums(x, N, C, L, c0, c1, ss.data(), [mu](T v, int64_t k, int64_t) ENTRENA_LAMBDA_INLINE {
      const double d = static_cast<double>(v) - mu[k];
      return d * d;
    });
    for (int64_t k = 0; k < w; ++k) {
      const int64_t ch = c0 + k;
      const double var = ss[k] / static_cast<double>(M);
      const double invstd = 1.0 / std::sqrt(var + a.eps);
      if (a.save_mean) static_cast<T*>(a.save_mean)[ch] = static_cast<T>(mean[k]);
      if (a.save_invstd) static_cast<T*>(a.save_invstd)[ch] = static_cast<T>(invstd);
      if (rm) rm[ch] = static_cast<T>((1 - a.momentum) * static_cast<double>(rm[ch]) + a.momentum * mean[k]);
      if (rv) {
        // Unbiased (Bessel-corrected) variance into the running estimate, as PyTorch.
        const double unbiased = ss[k] / static_cast<double>(M - 1);
        rv[ch] = static_cast<T>((1 - a.momentum) * static_cast<double>(rv[ch]) + a.momentum * unbiased);
      }
      scale[k] = invstd;
    }
  } else {
    for (int64_t k = 0; k < w; ++k) {
      mean[k] = static_cast<double>(rm[c0 + k]);
      scale[k] = 1.0 / std::sqrt(static_cast<double>(rv[c0 + k]) + a.eps);
    }
  }
  // y = (x − mean)·invstd·weight + bias = x·scale + shift, with scale = invstd·weight and
  // shift = bias − mean·scale folded per channel (in double, so the fold costs no accuracy).
  for (int64_t k = 0; k < w; ++k) {
    const double wt = a.weight ? load<T>(a.weight, c0 + k) : 1.0;
    const double b = a.bias ? load<T>(a.bias, c0 + k) : 0.0;
    scale[k] *= wt;
    shift[k] = b - mean[k] * scale[k];
  }
  const double* sc = scale.data();
  const double* sh = shift.data();
  channel_apply(N, C, L, c0, c1, [&](int64_t idx, int64_t k) ENTRENA_LAMBDA_INLINE {
    y[idx] = static_cast<T>(static_cast<double>(x[idx]) * sc[k] + sh[k]);
  });
}

// Backward over channels [c0, c1).
template <typename T>
ENTRENA_INLINE void backward_block(const BatchNormArgs& a, int64_t c0, int64_t c1) {
  const int64_t N = a.n, C = a.c, L = a.l, M = N * L;
  const T* x = static_cast<const T*>(a.x);
  const T* dy = static_cast<const T*>(a.dy);
  T* dx = static_cast<T*>(a.dx);
  T* dw = static_cast<T*>(a.dweight);
  T* db = static_cast<T*>(a.dbias);
  const int64_t w = c1 - c0;
  std::vector<double> mean(w), invstd(w), sum_dy(w), dot(w);
  for (int64_t k = 0; k < w; ++k) {
    if (a.training) {
      mean[k] = load<T>(a.save_mean, c0 + k);
      invstd[k] = load<T>(a.save_invstd, c0 + k);
    } else {
      mean[k] = load<T>(a.running_mean, c0 + k);
      invstd[k] = 1.0 / std::sqrt(load<T>(a.running_var, c0 + k) + a.eps);
    }
  }
  // Σ dy and Σ dy·(x − mean), in one pass over dy and x.
  const double* mu = mean.data();
  channel_sums2(
      dy, N, C, L, c0, c1, sum_dy.data(), dot.data(),
      [](T v, int64_t, int64_t) ENTRENA_LAMBDA_INLINE { return static_cast<double>(v); },
      [mu, x](T v, int64_t k, int64_t idx) ENTRENA_LAMBDA_INLINE {
        return static_cast<double>(v) * (static_cast<double>(x[idx]) - mu[k]);
      });
  for (int64_t k = 0; k < w; ++k) {
    if (dw) dw[c0 + k] = static_cast<T>(dot[k] * invstd[k]);  // Σ dy·xhat
    if (db) db[c0 + k] = static_cast<T>(sum_dy[k]);
  }
  if (!dx) return;
  std::vector<double> scale(w), mean_dy(w), proj(w);
  for (int64_t k = 0; k < w; ++k) {
    const double wt = a.weight ? load<T>(a.weight, c0 + k) : 1.0;
    scale[k] = invstd[k] * wt;
    if (a.training) {
      // dx = invstd/M·(M·dy·w − Σdy·w − xhat·Σ(dy·xhat)·w)
      //    = (dy − Σdy/M − (x − mean)·invstd²·Σ(dy·(x − mean))/M)·invstd·w
      mean_dy[k] = sum_dy[k] / static_cast<double>(M);
      proj[k] = dot[k] * invstd[k] * invstd[k] / static_cast<double>(M);
    }
  }
  const double *sc = scale.data(), *md = mean_dy.data(), *pj = proj.data();
  if (a.training) {
    channel_apply(N, C, L, c0, c1, [&](int64_t idx, int64_t k) ENTRENA_LAMBDA_INLINE {
      const double xm = static_cast<double>(x[idx]) - mu[k];
      dx[idx] = static_cast<T>((static_cast<double>(dy[idx]) - md[k] - xm * pj[k]) * sc[k]);
    });
  } else {
    // eval: the statistics are constants, dx = dy·w·invstd
    channel_apply(N, C, L, c0, c1, [&](int64_t idx, int64_t k) ENTRENA_LAMBDA_INLINE {
      dx[idx] = static_cast<T>(static_cast<double>(dy[idx]) * sc[k]);
    });
  }
}

template <typename T> void forward_base(const BatchNormArgs& a, int64_t c0, int64_t c1) { forward_block<T>(a, c0, c1); }
template <typename T> void backward_base(const BatchNormArgs& a, int64_t c0, int64_t c1) { backward_block<T>(a, c0, c1); }
#if defined(ENTRENA_BN_X86)
template <typename T> __attribute__((target("avx2,fma"))) void forward_avx2(const BatchNormArgs& a, int64_t c0, int64_t c1) {
  forward_block<T>(a, c0, c1);
}
template <typename T> __attribute__((target("avx2,fma"))) void backward_avx2(const BatchNormArgs& a, int64_t c0, int64_t c1) {
  backward_block<T>(a, c0, c1);
}

bool use_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}
#endif

template <typename T>
Status forward(const BatchNormArgs& a) {
  if (!a.training && (!a.running_mean || !a.running_var))
    return set_error(Status::invalid_argument, "batchnorm_forward: evaluation mode needs running_mean and running_var");
  void (*block)(const BatchNormArgs&, int64_t, int64_t) = forward_base<T>;
#if defined(ENTRENA_BN_X86)
  if (use_avx2()) block = forward_avx2<T>;
#endif
  parallel_for(a.c, channel_grain(a.n * a.l), [&](int64_t c0, int64_t c1) { block(a, c0, c1); });
  return Status::ok;
}

template <typename T>
Status backward(const BatchNormArgs& a) {
  if (a.training && (!a.save_mean || !a.save_invstd))
    return set_error(Status::invalid_argument, "batchnorm_backward: training mode needs save_mean and save_invstd from the forward pass");
  if (!a.training && (!a.running_mean || !a.running_var))
    return set_error(Status::invalid_argument, "batchnorm_backward: evaluation mode needs running_mean and running_var");
  void (*block)(const BatchNormArgs&, int64_t, int64_t) = backward_base<T>;
#if defined(ENTRENA_BN_X86)
  if (use_avx2()) block = backward_avx2<T>;
#endif
  parallel_for(a.c, channel_grain(a.n * a.l), [&](int64_t c0, int64_t c1) { block(a, c0, c1); });
  return Status::ok;
}

}  // namespace

Status batchnorm_forward(const BatchNormArgs& a) {
  ENTRENA_TRY(check_batchnorm_args(a, "batchnorm_forward"));
  if (a.n * a.c * a.l == 0) return Status::ok;
  return a.dtype == DType::f32 ? forward<float>(a) : forward<double>(a);
}

Status batchnorm_backward(const BatchNormArgs& a) {
  ENTRENA_TRY(check_batchnorm_args(a, "batchnorm_backward"));
  if (a.c == 0) return Status::ok;
  return a.dtype == DType::f32 ? backward<float>(a) : backward<double>(a);
}

}  // namespace entrena::cpu
