// optim_scalars.h — the host side of a fused optimizer step shared by every backend: the argument
// checks, and the host scalars rounded to the parameter dtype once per call. Shared by native/cpu/optim.cc and native/cuda/optim.cu so that both devices
// round the step's constants identically (the h[] layout of each kind is documented on OptimArgs
// in backend.h).
#pragma once
#include "backend.h"

namespace entrena {

// Named after PyTorch's arguments.
template <typename T> struct Scalars {
  T lr, neg_lr, momentum, one_minus_dampening, wd;             // sgd (+ shared)
  T beta1, one_minus_beta1, beta2, one_minus_beta2, eps;       // adam family
  T neg_step_size, bc2_sqrt, decay_factor;                     // adam
  T neg_clr;                                                   // adagrad, adamax
  T alpha, one_minus_alpha;                                    // rmsprop
  T bc2, neg_grad_coef, neg_avg_coef;                          // nadam
};

template <typename T> Scalars<T> make_scalars(const OptimArgs& a) {
  const double* h = a.h;
  Scalars<T> s{};
  switch (a.kind) {
    case OptimKind::sgd:
      s.lr = T(h[0]); s.neg_lr = T(-h[0]); s.momentum = T(h[1]); s.one_minus_dampening = T(1 - h[2]); s.wd = T(h[3]);
      break;
    case OptimKind::adam:
      s.beta1 = T(h[1]); s.one_minus_beta1 = T(1 - h[1]); s.beta2 = T(h[2]); s.one_minus_beta2 = T(1 - h[2]);
      s.eps = T(h[3]); s.wd = T(h[4]); s.neg_step_size = T(-h[5]); s.bc2_sqrt = T(h[6]);
      s.decay_factor = T(1 - h[0] * h[4]);  // AdamW: param.mul_(1 - lr * weight_decay)
      break;
    case OptimKind::adagrad:
      s.neg_clr = T(-h[0]); s.wd = T(h[1]); s.eps = T(h[2]);
      break;
    case OptimKind::rmsprop:
      s.neg_lr = T(-h[0]); s.alpha = T(h[1]); s.one_minus_alpha = T(1 - h[1]); s.eps = T(h[2]); s.wd = T(h[3]);
      s.momentum = T(h[4]);
      break;
    case OptimKind::adamax:
      s.beta1 = T(h[1]); s.one_minus_beta1 = T(1 - h[1]); s.beta2 = T(h[2]); s.eps = T(h[3]); s.wd = T(h[4]);
      s.neg_clr = T(-h[5]);
      break;
    case OptimKind::nadam:
      s.beta1 = T(h[1]); s.one_minus_beta1 = T(1 - h[1]); s.beta2 = T(h[2]); s.one_minus_beta2 = T(1 - h[2]);
      s.eps = T(h[3]); s.wd = T(h[4]); s.bc2 = T(h[5]); s.neg_grad_coef = T(-h[6]); s.neg_avg_coef = T(-h[7]);
      break;
  }
  return s;
}

inline const char* optim_kind_name(OptimKind k) {
  switch (k) {
    case OptimKind::sgd: return "sgd";
    case OptimKind::adam: return "adam";
    case OptimKind::adagrad: return "adagrad";
    case OptimKind::rmsprop: return "rmsprop";
    case OptimKind::adamax: return "adamax";
    case OptimKind::nadam: return "nadam";
  }
  return "?";
}

// The checks every backend's optim_step makes before touching memory: a known kind, a floating
// dtype, the pointer arrays, and every state the kind and flags use (optim_states_used).
inline Status check_optim_args(const OptimArgs& a) {
  if (static_cast<int32_t>(a.kind) < 0 || static_cast<int32_t>(a.kind) > 5)
    return set_error(Status::invalid_argument, "optim_step: unknown optimizer kind %d", static_cast<int>(a.kind));
  if (a.dtype != DType::f32 && a.dtype != DType::f64)
    return set_error(Status::dtype, "optim_step: parameters must be float32 or float64, got %s", dtype_name(a.dtype));
  if (a.count < 0) return set_error(Status::invalid_argument, "optim_step: negative tensor count");
  if (a.count == 0) return Status::ok;
  if (!a.param || !a.grad || !a.sizes) return set_error(Status::invalid_argument, "optim_step: missing pointer arrays");
  const int used = optim_states_used(a.kind, a.flags, a.h);
  void* const* states[3] = {a.state0, a.state1, a.state2};
  for (int64_t i = 0; i < a.count; ++i) {
    if (a.sizes[i] < 0) return set_error(Status::invalid_argument, "optim_step: tensor %lld has a negative size", static_cast<long long>(i));
    if (a.sizes[i] == 0) continue;
    if (!a.param[i] || !a.grad[i])
      return set_error(Status::invalid_argument, "optim_step: tensor %lld has no parameter or gradient memory", static_cast<long long>(i));
    for (int k = 0; k < 3; ++k)
      if ((used >> k & 1) && (!states[k] || !states[k][i]))
        return set_error(Status::invalid_argument, "optim_step (%s): tensor %lld needs state%d, which is missing", optim_kind_name(a.kind),
                         static_cast<long long>(i), k);
  }
  return Status::ok;
}

}  // namespace entrena
