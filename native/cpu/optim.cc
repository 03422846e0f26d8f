// optim.cc — the fused CPU optimizer step: one call updates every parameter tensor of one dtype.
//
// What it is: the per-element update rules of SGD, Adam/AdamW, Adagrad, RMSprop, Adamax and NAdam
// exactly as PyTorch's torch/optim/*.py `_single_tensor_*` functions write them (the formulas, the
// named host scalars of each kind and the flags are documented once, on OptimArgs in
// core/backend.h). What it is not: the optimizer classes — hyper-parameter validation, parameter
// groups, lazy state and the step-dependent scalars (bias corrections etc.) live in TypeScript
// (lib/ts/optim/fused_host.ts computes the scalars); state tensors arrive allocated and initialised.
//
// Numerics: arithmetic runs in the parameter dtype (as PyTorch's CPU kernels do for float32), with
// every host scalar rounded once to that dtype, and the operations in PyTorch's order
// (`a.mul_(b).add_(c, alpha=k)` is `a·b + k·c`, `addcmul(t1, t2, value=k)` is `a + (k·t1)·t2`,
// `addcdiv(t1, t2, value=k)` is `a + (k·t1)/t2`), so float32 results agree with PyTorch to a few ulp
// and float64 results to rounding. No FMA contraction: the addon is built without -mfma.
//
// Speed: the update is memory bound (Adam reads 4 and writes 3 arrays per element). Option
// switches are hoisted into template parameters, so each inner loop is branch-free and
// auto-vectorises; the concatenated element range of all tensors is split into chunks for the
// thread pool, a chunk covering pieces of one or more tensors.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "threads.h"
#include "../core/optim_scalars.h"

namespace entrena::cpu {
namespace {

// max that propagates NaN from either side, as torch.maximum / torch.amax do.
template <typename T> inline T nan_max(T a, T b) { return (a > b || a != a) ? a : b; }

// Host scalars: Scalars / make_scalars in core/optim_scalars.h (shared with CUDA).

// ---- per-kind element loops over one contiguous piece [0, n) -------------------------------------
// `kWd` is "weight_decay != 0" (PyTorch skips `grad.add(param, alpha=wd)` when it is 0, which
// matters for infinite parameters: 0·inf is NaN).

// torch/optim/sgd.py _single_tensor_sgd
template <typename T, bool kWd, bool kMomentum, bool kNesterov, bool kFirst>
void sgd_piece(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T d = g[j];
    if constexpr (kWd) d = d + s.wd * p[j];
    if constexpr (kMomentum) {
      T b;
      if constexpr (kFirst) b = d;                                         // buf = clone(d_p)
      else b = buf[j] * s.momentum + s.one_minus_dampening * d;            // buf.mul_(m).add_(d_p, 1-damp)
      buf[j] = b;
      if constexpr (kNesterov) d = d + s.momentum * b;                     // d_p.add(buf, alpha=m)
      else d = b;
    }
    p[j] = p[j] + s.neg_lr * d;                                            // param.add_(d_p, alpha=-lr)
  }
}

// torch/optim/adam.py _single_tensor_adam and adamw.py _single_tensor_adamw (non-capturable branch)
template <typename T, bool kWd, bool kDecoupled, bool kAmsgrad>
void adam_piece(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax, int64_t n,
                const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T pj = p[j], gj = g[j];
    if constexpr (kDecoupled) pj = pj * s.decay_factor;                    // param.mul_(1 - lr*wd)
    else if constexpr (kWd) gj = gj + s.wd * pj;                           // grad.add(param, alpha=wd)
    T mj = m[j] * s.beta1 + s.one_minus_beta1 * gj;                        // exp_avg.mul_(b1).add_(g, 1-b1)
    T vj = v[j] * s.beta2 + (s.one_minus_beta2 * gj) * gj;                 // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    m[j] = mj;
    v[j] = vj;
    T vh = vj;
    if constexpr (kAmsgrad) {
      vh = nan_max(vmax[j], vj);                                           // torch.maximum(max_exp_avg_sq, exp_avg_sq)
      vmax[j] = vh;
    }
    T denom = std::sqrt(vh) / s.bc2_sqrt + s.eps;                          // (sqrt(v̂) / bc2_sqrt).add_(eps)
    p[j] = pj + (s.neg_step_size * mj) / denom;                            // addcdiv_(exp_avg, denom, -step_size)
  }
}

// torch/optim/adagrad.py _single_tensor_adagrad (dense gradients)
template <typename T, bool kWd>
void adagrad_piece(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n, const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T gj = g[j];
    if constexpr (kWd) gj = gj + s.wd * p[j];
    T sj = sum[j] + gj * gj;                                               // state_sum.addcmul_(g, g, value=1)
    sum[j] = sj;
    T std_ = std::sqrt(sj) + s.eps;                                        // state_sum.sqrt().add_(eps)
    p[j] = p[j] + (s.neg_clr * gj) / std_;                                 // addcdiv_(g, std, value=-clr)
  }
}

// torch/optim/rmsprop.py _single_tensor_rmsprop
template <typename T, bool kWd, bool kMomentum, bool kCentered>
void rmsprop_piece(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict buf, T* __restrict ga,
                   int64_t n, const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T gj = g[j];
    if constexpr (kWd) gj = gj + s.wd * p[j];
    T sqj = sq[j] * s.alpha + (s.one_minus_alpha * gj) * gj;               // square_avg.mul_(a).addcmul_(g, g, 1-a)
    sq[j] = sqj;
    T avg;
    if constexpr (kCentered) {
      T gaj = ga[j] * s.alpha + s.one_minus_alpha * gj;                    // grad_avg.mul_(a).add_(g, alpha=1-a)
      ga[j] = gaj;
      avg = std::sqrt(sqj - gaj * gaj) + s.eps;                            // addcmul(ga, ga, value=-1).sqrt_().add_(eps)
    } else {
      avg = std::sqrt(sqj) + s.eps;
    }
    if constexpr (kMomentum) {
      T b = buf[j] * s.momentum + gj / avg;                                // buf.mul_(m).addcdiv_(g, avg)
      buf[j] = b;
      p[j] = p[j] + s.neg_lr * b;                                          // param.add_(buf, alpha=-lr)
    } else {
      p[j] = p[j] + (s.neg_lr * gj) / avg;                                 // param.addcdiv_(g, avg, value=-lr)
    }
  }
}

// torch/optim/adamax.py _single_tensor_adamax
template <typename T, bool kWd>
void adamax_piece(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict u, int64_t n, const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T gj = g[j];
    if constexpr (kWd) gj = gj + s.wd * p[j];
    T mj = m[j] * s.beta1 + s.one_minus_beta1 * gj;                        // exp_avg.mul_(b1).add_(g, 1-b1)
    T uj = nan_max(u[j] * s.beta2, std::abs(gj) + s.eps);                  // amax(cat(exp_inf·b2, |g|+eps))
    m[j] = mj;
    u[j] = uj;
    p[j] = p[j] + (s.neg_clr * mj) / uj;                                   // addcdiv_(exp_avg, exp_inf, -clr)
  }
}

// torch/optim/nadam.py (PyTorch ≥ 2.0 rule; see OptimArgs in core/backend.h)
template <typename T, bool kWd>
void nadam_piece(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n, const Scalars<T>& s) {
  for (int64_t j = 0; j < n; ++j) {
    T pj = p[j], gj = g[j];
    if constexpr (kWd) gj = gj + s.wd * pj;
    T mj = m[j] * s.beta1 + s.one_minus_beta1 * gj;                        // exp_avg.mul_(b1).add_(g, 1-b1)
    T vj = v[j] * s.beta2 + (s.one_minus_beta2 * gj) * gj;                 // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    m[j] = mj;
    v[j] = vj;
    T denom = std::sqrt(vj / s.bc2) + s.eps;                               // exp_avg_sq.div(bc2).sqrt().add_(eps)
    pj = pj + (s.neg_grad_coef * gj) / denom;                              // addcdiv_(g, denom, -lr(1-μ)/(1-Πμ))
    p[j] = pj + (s.neg_avg_coef * mj) / denom;                             // addcdiv_(m, denom, -lr·μ'/(1-Πμ·μ'))
  }
}

// ---- dispatch: the option switches are resolved once per piece, never per element --------------

template <typename T> T* ptr(void* const* arr, int64_t i, int64_t off) {
  return arr && arr[i] ? static_cast<T*>(arr[i]) + off : nullptr;
}

template <typename T>
void run_piece(const OptimArgs& a, const Scalars<T>& s, int64_t i, int64_t off, int64_t n) {
  T* p = static_cast<T*>(a.param[i]) + off;
  const T* g = static_cast<const T*>(a.grad[i]) + off;
  T* s0 = ptr<T>(a.state0, i, off);
  T* s1 = ptr<T>(a.state1, i, off);
  T* s2 = ptr<T>(a.state2, i, off);
  const bool wd = s.wd != T(0);
  const int f = a.flags;
  switch (a.kind) {
    case OptimKind::sgd: {
      const bool mom = OptimHost<OptimKind::sgd>::read(a.h).momentum != 0, nest = f & kOptimNesterov, first = f & kOptimFirstStep;
#define ENTRENA_SGD(W, M, N, F) if (wd == W && mom == M && nest == N && first == F) return sgd_piece<T, W, M, N, F>(p, g, s0, n, s);
      ENTRENA_SGD(false, false, false, false) ENTRENA_SGD(true, false, false, false)
      ENTRENA_SGD(false, false, true, false) ENTRENA_SGD(true, false, true, false)
      ENTRENA_SGD(false, false, false, true) ENTRENA_SGD(true, false, false, true)
      ENTRENA_SGD(false, false, true, true) ENTRENA_SGD(true, false, true, true)
      ENTRENA_SGD(false, true, false, false) ENTRENA_SGD(true, true, false, false)
      ENTRENA_SGD(false, true, true, false) ENTRENA_SGD(true, true, true, false)
      ENTRENA_SGD(false, true, false, true) ENTRENA_SGD(true, true, false, true)
      ENTRENA_SGD(false, true, true, true) ENTRENA_SGD(true, true, true, true)
#undef ENTRENA_SGD
      return;
    }
    case OptimKind::adam: {
      const bool dec = f & kOptimDecoupled, ams = f & kOptimAmsgrad;
      if (dec) return ams ? adam_piece<T, false, true, true>(p, g, s0, s1, s2, n, s) : adam_piece<T, false, true, false>(p, g, s0, s1, s2, n, s);
      if (wd) return ams ? adam_piece<T, true, false, true>(p, g, s0, s1, s2, n, s) : adam_piece<T, true, false, false>(p, g, s0, s1, s2, n, s);
      return ams ? adam_piece<T, false, false, true>(p, g, s0, s1, s2, n, s) : adam_piece<T, false, false, false>(p, g, s0, s1, s2, n, s);
    }
    case OptimKind::adagrad:
      return wd ? adagrad_piece<T, true>(p, g, s0, n, s) : adagrad_piece<T, false>(p, g, s0, n, s);
    case OptimKind::rmsprop: {
      const bool mom = OptimHost<OptimKind::rmsprop>::read(a.h).momentum > 0, cen = f & kOptimCentered;
#define ENTRENA_RMS(W, M, C) if (wd == W && mom == M && cen == C) return rmsprop_piece<T, W, M, C>(p, g, s0, s1, s2, n, s);
      ENTRENA_RMS(false, false, false) ENTRENA_RMS(true, false, false) ENTRENA_RMS(false, true, false)
      ENTRENA_RMS(true, true, false) ENTRENA_RMS(false, false, true) ENTRENA_RMS(true, false, true)
      ENTRENA_RMS(false, true, true) ENTRENA_RMS(true, true, true)
#undef ENTRENA_RMS
      return;
    }
    case OptimKind::adamax:
      return wd ? adamax_piece<T, true>(p, g, s0, s1, n, s) : adamax_piece<T, false>(p, g, s0, s1, n, s);
    case OptimKind::nadam:
      return wd ? nadam_piece<T, true>(p, g, s0, s1, n, s) : nadam_piece<T, false>(p, g, s0, s1, n, s);
  }
}

template <typename T>
Status step(const OptimArgs& a) {
  const Scalars<T> s = make_scalars<T>(a);
  // prefix[i] = first element of tensor i in the concatenated range.
  std::vector<int64_t> prefix(static_cast<size_t>(a.count) + 1, 0);
  for (int64_t i = 0; i < a.count; ++i) prefix[i + 1] = prefix[i] + a.sizes[i];
  const int64_t total = prefix[a.count];
  // 16k elements per chunk at least: Adam moves 28 bytes per float32 element, so a chunk is
  // ~0.5 MB of traffic, well above the pool's dispatch cost.
  parallel_for(total, 16384, [&](int64_t b, int64_t e) {
    int64_t i = std::upper_bound(prefix.begin(), prefix.end(), b) - prefix.begin() - 1;
    while (b < e) {
      const int64_t piece_end = std::min(e, prefix[i + 1]);
      if (piece_end > b) run_piece<T>(a, s, i, b - prefix[i], piece_end - b);
      b = piece_end;
      ++i;
    }
  });
  return Status::ok;
}


}  // namespace

Status optim_step(const OptimArgs& a) {
  ENTRENA_TRY(check_optim_args(a));
  if (a.count == 0) return Status::ok;
  return a.dtype == DType::f32 ? step<float>(a) : step<double>(a);
}

}  // namespace entrena::cpu
