// optim_scalars.h — the host side of a fused optimizer step shared by every backend: the argument
// checks, and the host scalars rounded to the parameter dtype once per call. Shared by
// native/cpu/optim.cc and native/cuda/optim.cu so that both devices round the step's constants
// identically. The named host scalars of each kind (ENTRENA_OPTIM_SCALARS_<kind>, read through
// OptimHost<kind>) and their meaning are declared once, with OptimArgs in backend.h.
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
  Scalars<T> s{};
  switch (a.kind) {
    case OptimKind::sgd: {
      const auto h = OptimHost<OptimKind::sgd>::read(a.h);
      s.lr = T(h.lr); s.neg_lr = T(-h.lr); s.momentum = T(h.momentum); s.one_minus_dampening = T(1 - h.dampening);
      s.wd = T(h.weight_decay);
      break;
    }
    case OptimKind::adam: {
      const auto h = OptimHost<OptimKind::adam>::read(a.h);
      s.beta1 = T(h.beta1); s.one_minus_beta1 = T(1 - h.beta1); s.beta2 = T(h.beta2); s.one_minus_beta2 = T(1 - h.beta2);
      s.eps = T(h.eps); s.wd = T(h.weight_decay); s.neg_step_size = T(-h.step_size); s.bc2_sqrt = T(h.bias_correction2_sqrt);
      s.decay_factor = T(1 - h.lr * h.weight_decay);  // AdamW: param.mul_(1 - lr * weight_decay)
      break;
    }
    case OptimKind::adagrad: {
      const auto h = OptimHost<OptimKind::adagrad>::read(a.h);
      s.neg_clr = T(-h.clr); s.wd = T(h.weight_decay); s.eps = T(h.eps);
      break;
    }
    case OptimKind::rmsprop: {
      const auto h = OptimHost<OptimKind::rmsprop>::read(a.h);
      s.neg_lr = T(-h.lr); s.alpha = T(h.alpha); s.one_minus_alpha = T(1 - h.alpha); s.eps = T(h.eps); s.wd = T(h.weight_decay);
      s.momentum = T(h.momentum);
      break;
    }
    case OptimKind::adamax: {
      const auto h = OptimHost<OptimKind::adamax>::read(a.h);
      s.beta1 = T(h.beta1); s.one_minus_beta1 = T(1 - h.beta1); s.beta2 = T(h.beta2); s.eps = T(h.eps); s.wd = T(h.weight_decay);
      s.neg_clr = T(-h.clr);
      break;
    }
    case OptimKind::nadam: {
      const auto h = OptimHost<OptimKind::nadam>::read(a.h);
      s.beta1 = T(h.beta1); s.one_minus_beta1 = T(1 - h.beta1); s.beta2 = T(h.beta2); s.one_minus_beta2 = T(1 - h.beta2);
      s.eps = T(h.eps); s.wd = T(h.weight_decay); s.bc2 = T(h.bias_correction2); s.neg_grad_coef = T(-h.grad_coef);
      s.neg_avg_coef = T(-h.exp_avg_coef);
      break;
    }
  }
  return s;
}

// The checks every backend's optim_step makes before touching memory: a known kind, a floating
// dtype, the pointer arrays, and every state the kind and flags use (optim_states_used).
inline Status check_optim_args(const OptimArgs& a) {
  if (!optim_kind_valid(static_cast<int32_t>(a.kind)))
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
        return set_error(Status::invalid_argument, "optim_step (%s): tensor %lld needs state%d (%s), which is missing",
                         optim_kind_name(a.kind), static_cast<long long>(i), k, optim_state_name(a.kind, k));
  }
  return Status::ok;
}

}  // namespace entrena
