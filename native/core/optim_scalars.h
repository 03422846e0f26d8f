// optim_scalars.h — the host scalars of a fused optimizer step, rounded to the parameter dtype
// once per call. Shared by native/cpu/optim.cc and native/cuda/optim.cu so that both devices
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

}  // namespace entrena
