// optim.cu — the fused CUDA optimizer step: one call updates every parameter tensor of one dtype.
//
// What it is: the CUDA twin of native/cpu/optim.cc — the per-element update rules of SGD,
// Adam/AdamW, Adagrad, RMSprop, Adamax and NAdam as PyTorch's torch/optim/*.py `_single_tensor_*`
// functions write them. Formulas, named host scalars, flags and which states each kind uses are
// documented once, on OptimArgs in core/backend.h; lib/ts/optim/fused_host.ts computes the scalars.
//
// Shape legend: `count` tensors; tensor i is sizes[i] contiguous elements of param, grad and the
// states it uses (state0..2, each the param's dtype). The pointer arrays of OptimArgs are HOST
// arrays of device pointers.
//
// Numerics: identical to the CPU, element for element. The host scalars are rounded to the param
// dtype once, by the same host code (make_scalars), and every device operation is an explicitly
// rounded intrinsic (__fadd_rn, __fmul_rn, __fdiv_rn, __fsqrt_rn and the double ones) in the
// CPU's order: nvcc cannot contract them into FMAs, and the CPU addon is built without FMA, so a
// float32 or float64 step gives bit-identical results on both devices.
//
// Launch shape ("multi-tensor apply", as apex / PyTorch's _foreach kernels): the tensor table —
// five pointers per tensor and the prefix sum of the sizes — travels in the kernel's parameter
// space (a __grid_constant__ struct under 4 KB), so nothing has to be copied to the device or kept
// alive after the launch, and no synchronisation is needed. Up to kMaxTensors tensors go into one
// launch (lists that are longer take ceil(count / kMaxTensors) launches, all on the process
// stream). A launch sees the concatenation of its tensors' elements, split into chunks of kChunk;
// a block takes chunks grid-stride, finds the chunk's first tensor by binary search in the table
// (uniform across the block) and its threads walk the chunk, moving to the next tensor when they
// cross its end — so a chunk may cover the tail of one tensor and the head of the next, and small
// tensors do not each cost a block.
#include <cmath>
#include <cstdint>

#include "kernels.cuh"
#include "../core/optim_scalars.h"

namespace entrena::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kChunk = 4096;      // elements per block-chunk: 16 per thread
constexpr int kMaxTensors = 64;       // tensors per launch: keeps the parameter struct < 4 KB
constexpr int64_t kMaxBlocks = 8192;

// ---- explicitly rounded arithmetic (no FMA contraction) -------------------------------------------

__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float dvd(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double dvd(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }
__device__ __forceinline__ float abs_(float a) { return fabsf(a); }
__device__ __forceinline__ double abs_(double a) { return fabs(a); }

// max that propagates NaN from either side, as torch.maximum / torch.amax (and cpu/optim.cc).
template <typename T> __device__ __forceinline__ T nan_max(T a, T b) { return (a > b || a != a) ? a : b; }

// Host scalars: Scalars / make_scalars in core/optim_scalars.h, the same code as the CPU's, so
// both devices round identically.

// The option switches, resolved on the host as cpu/optim.cc resolves them. On the GPU they are
// block-uniform branches (no divergence), so they stay run-time values instead of 36 template
// instantiations per dtype. `wd` is "weight_decay != 0" in the param dtype: PyTorch skips
// `grad.add(param, alpha=wd)` when it is 0, which matters for infinite parameters (0·inf is NaN).
struct Opts {
  bool wd, momentum, nesterov, first, decoupled, amsgrad, centered;
};

// ---- per-element updates (cpu/optim.cc's *_piece loop bodies) ---------------------------------------

// torch/optim/sgd.py _single_tensor_sgd
template <typename T>
__device__ __forceinline__ void sgd_elem(T* p, const T* g, T* buf, const Scalars<T>& s, const Opts& o) {
  T d = *g;
  if (o.wd) d = add(d, mul(s.wd, *p));
  if (o.momentum) {
    T b;
    if (o.first) b = d;                                                    // buf = clone(d_p)
    else b = add(mul(*buf, s.momentum), mul(s.one_minus_dampening, d));   // buf.mul_(m).add_(d_p, 1-damp)
    *buf = b;
    if (o.nesterov) d = add(d, mul(s.momentum, b));                        // d_p.add(buf, alpha=m)
    else d = b;
  }
  *p = add(*p, mul(s.neg_lr, d));                                          // param.add_(d_p, alpha=-lr)
}

// torch/optim/adam.py _single_tensor_adam and adamw.py _single_tensor_adamw (non-capturable branch)
template <typename T>
__device__ __forceinline__ void adam_elem(T* p, const T* g, T* m, T* v, T* vmax, const Scalars<T>& s, const Opts& o) {
  T pj = *p, gj = *g;
  if (o.decoupled) pj = mul(pj, s.decay_factor);                          // param.mul_(1 - lr*wd)
  else if (o.wd) gj = add(gj, mul(s.wd, pj));                             // grad.add(param, alpha=wd)
  const T mj = add(mul(*m, s.beta1), mul(s.one_minus_beta1, gj));         // exp_avg.mul_(b1).add_(g, 1-b1)
  const T vj = add(mul(*v, s.beta2), mul(mul(s.one_minus_beta2, gj), gj)); // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
  *m = mj;
  *v = vj;
  T vh = vj;
  if (o.amsgrad) {
    vh = nan_max(*vmax, vj);                                               // torch.maximum(max_exp_avg_sq, exp_avg_sq)
    *vmax = vh;
  }
  const T denom = add(dvd(sqrt_rn(vh), s.bc2_sqrt), s.eps);               // (sqrt(v̂) / bc2_sqrt).add_(eps)
  *p = add(pj, dvd(mul(s.neg_step_size, mj), denom));                     // addcdiv_(exp_avg, denom, -step_size)
}

// torch/optim/adagrad.py _single_tensor_adagrad (dense gradients)
template <typename T>
__device__ __forceinline__ void adagrad_elem(T* p, const T* g, T* sum, const Scalars<T>& s, const Opts& o) {
  T gj = *g;
  if (o.wd) gj = add(gj, mul(s.wd, *p));
  const T sj = add(*sum, mul(gj, gj));                                     // state_sum.addcmul_(g, g, value=1)
  *sum = sj;
  const T std_ = add(sqrt_rn(sj), s.eps);                                  // state_sum.sqrt().add_(eps)
  *p = add(*p, dvd(mul(s.neg_clr, gj), std_));                             // addcdiv_(g, std, value=-clr)
}

// torch/optim/rmsprop.py _single_tensor_rmsprop
template <typename T>
__device__ __forceinline__ void rmsprop_elem(T* p, const T* g, T* sq, T* buf, T* ga, const Scalars<T>& s, const Opts& o) {
  T gj = *g;
  if (o.wd) gj = add(gj, mul(s.wd, *p));
  const T sqj = add(mul(*sq, s.alpha), mul(mul(s.one_minus_alpha, gj), gj)); // square_avg.mul_(a).addcmul_(g, g, 1-a)
  *sq = sqj;
  T avg;
  if (o.centered) {
    const T gaj = add(mul(*ga, s.alpha), mul(s.one_minus_alpha, gj));     // grad_avg.mul_(a).add_(g, alpha=1-a)
    *ga = gaj;
    avg = add(sqrt_rn(add(sqj, -mul(gaj, gaj))), s.eps);                  // addcmul(ga, ga, value=-1).sqrt_().add_(eps)
  } else {
    avg = add(sqrt_rn(sqj), s.eps);
  }
  if (o.momentum) {
    const T b = add(mul(*buf, s.momentum), dvd(gj, avg));                  // buf.mul_(m).addcdiv_(g, avg)
    *buf = b;
    *p = add(*p, mul(s.neg_lr, b));                                        // param.add_(buf, alpha=-lr)
  } else {
    *p = add(*p, dvd(mul(s.neg_lr, gj), avg));                             // param.addcdiv_(g, avg, value=-lr)
  }
}

// torch/optim/adamax.py _single_tensor_adamax
template <typename T>
__device__ __forceinline__ void adamax_elem(T* p, const T* g, T* m, T* u, const Scalars<T>& s, const Opts& o) {
  T gj = *g;
  if (o.wd) gj = add(gj, mul(s.wd, *p));
  const T mj = add(mul(*m, s.beta1), mul(s.one_minus_beta1, gj));         // exp_avg.mul_(b1).add_(g, 1-b1)
  const T uj = nan_max(mul(*u, s.beta2), add(abs_(gj), s.eps));           // amax(cat(exp_inf·b2, |g|+eps))
  *m = mj;
  *u = uj;
  *p = add(*p, dvd(mul(s.neg_clr, mj), uj));                               // addcdiv_(exp_avg, exp_inf, -clr)
}

// torch/optim/nadam.py (PyTorch ≥ 2.0 rule; see OptimArgs in core/backend.h)
template <typename T>
__device__ __forceinline__ void nadam_elem(T* p, const T* g, T* m, T* v, const Scalars<T>& s, const Opts& o) {
  T pj = *p, gj = *g;
  if (o.wd) gj = add(gj, mul(s.wd, pj));
  const T mj = add(mul(*m, s.beta1), mul(s.one_minus_beta1, gj));         // exp_avg.mul_(b1).add_(g, 1-b1)
  const T vj = add(mul(*v, s.beta2), mul(mul(s.one_minus_beta2, gj), gj)); // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
  *m = mj;
  *v = vj;
  const T denom = add(sqrt_rn(dvd(vj, s.bc2)), s.eps);                    // exp_avg_sq.div(bc2).sqrt().add_(eps)
  pj = add(pj, dvd(mul(s.neg_grad_coef, gj), denom));                     // addcdiv_(g, denom, -lr(1-μ)/(1-Πμ))
  *p = add(pj, dvd(mul(s.neg_avg_coef, mj), denom));                      // addcdiv_(m, denom, -lr·μ'/(1-Πμ·μ'))
}

// ---- the multi-tensor kernel --------------------------------------------------------------------------

// One launch's tensors: device pointers (null for states the kind does not use) and the prefix
// sum of their sizes (start[i] = first element of tensor i in the launch's concatenated range;
// start[count] = total). Zero-size tensors are left out on the host, so start is increasing.
struct Table {
  void* p[kMaxTensors];
  const void* g[kMaxTensors];
  void* s0[kMaxTensors];
  void* s1[kMaxTensors];
  void* s2[kMaxTensors];
  int64_t start[kMaxTensors + 1];
  int count;
};

template <typename T, OptimKind K>
__device__ __forceinline__ void update(const Table& tab, int i, int64_t off, const Scalars<T>& s, const Opts& o) {
  T* p = static_cast<T*>(tab.p[i]) + off;
  const T* g = static_cast<const T*>(tab.g[i]) + off;
  // State pointers are only formed (and dereferenced) for the states the kind uses.
  if constexpr (K == OptimKind::sgd) {
    sgd_elem<T>(p, g, o.momentum ? static_cast<T*>(tab.s0[i]) + off : nullptr, s, o);
  } else if constexpr (K == OptimKind::adam) {
    adam_elem<T>(p, g, static_cast<T*>(tab.s0[i]) + off, static_cast<T*>(tab.s1[i]) + off,
                 o.amsgrad ? static_cast<T*>(tab.s2[i]) + off : nullptr, s, o);
  } else if constexpr (K == OptimKind::adagrad) {
    adagrad_elem<T>(p, g, static_cast<T*>(tab.s0[i]) + off, s, o);
  } else if constexpr (K == OptimKind::rmsprop) {
    rmsprop_elem<T>(p, g, static_cast<T*>(tab.s0[i]) + off, o.momentum ? static_cast<T*>(tab.s1[i]) + off : nullptr,
                    o.centered ? static_cast<T*>(tab.s2[i]) + off : nullptr, s, o);
  } else if constexpr (K == OptimKind::adamax) {
    adamax_elem<T>(p, g, static_cast<T*>(tab.s0[i]) + off, static_cast<T*>(tab.s1[i]) + off, s, o);
  } else {
    nadam_elem<T>(p, g, static_cast<T*>(tab.s0[i]) + off, static_cast<T*>(tab.s1[i]) + off, s, o);
  }
}

template <typename T, OptimKind K>
__global__ void __launch_bounds__(kBlock) multi_tensor_step(const __grid_constant__ Table tab, const Scalars<T> s, const Opts o) {
  const int64_t total = tab.start[tab.count];
  const int64_t chunks = (total + kChunk - 1) / kChunk;
  for (int64_t ck = blockIdx.x; ck < chunks; ck += gridDim.x) {
    const int64_t b = ck * kChunk;
    const int64_t e = b + kChunk < total ? b + kChunk : total;
    // The tensor holding element b: the largest i with start[i] ≤ b.
    int lo = 0, hi = tab.count - 1;
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (tab.start[mid] <= b) lo = mid;
      else hi = mid - 1;
    }
    int i = lo;
    for (int64_t j = b + threadIdx.x; j < e; j += blockDim.x) {
      while (j >= tab.start[i + 1]) ++i;
      update<T, K>(tab, i, j - tab.start[i], s, o);
    }
  }
}

template <typename T>
Status launch(OptimKind kind, const Table& tab, const Scalars<T>& s, const Opts& o) {
  const int64_t total = tab.start[tab.count];
  int64_t blocks = (total + kChunk - 1) / kChunk;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  if (blocks < 1) blocks = 1;
  const unsigned grid = static_cast<unsigned>(blocks);
  switch (kind) {
    case OptimKind::sgd: multi_tensor_step<T, OptimKind::sgd><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
    case OptimKind::adam: multi_tensor_step<T, OptimKind::adam><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
    case OptimKind::adagrad: multi_tensor_step<T, OptimKind::adagrad><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
    case OptimKind::rmsprop: multi_tensor_step<T, OptimKind::rmsprop><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
    case OptimKind::adamax: multi_tensor_step<T, OptimKind::adamax><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
    case OptimKind::nadam: multi_tensor_step<T, OptimKind::nadam><<<grid, kBlock, 0, stream()>>>(tab, s, o); break;
  }
  return check_launch("optim_step kernel");
}

void* entry(void* const* arr, int64_t i) { return arr ? arr[i] : nullptr; }

template <typename T>
Status step(const OptimArgs& a) {
  const Scalars<T> s = make_scalars<T>(a);
  const int f = a.flags;
  Opts o{};
  o.wd = s.wd != T(0);
  o.nesterov = f & kOptimNesterov;
  o.first = f & kOptimFirstStep;
  o.decoupled = f & kOptimDecoupled;
  o.amsgrad = f & kOptimAmsgrad;
  o.centered = f & kOptimCentered;
  o.momentum = a.kind == OptimKind::sgd       ? OptimHost<OptimKind::sgd>::read(a.h).momentum != 0
               : a.kind == OptimKind::rmsprop ? OptimHost<OptimKind::rmsprop>::read(a.h).momentum > 0
                                              : false;
  Table tab{};
  int n = 0;
  int64_t acc = 0;
  auto flush = [&]() -> Status {
    if (n == 0) return Status::ok;
    tab.count = n;
    tab.start[n] = acc;
    Status st = launch<T>(a.kind, tab, s, o);  // the table is copied into the launch: reusable at once
    n = 0;
    acc = 0;
    return st;
  };
  for (int64_t i = 0; i < a.count; ++i) {
    if (a.sizes[i] == 0) continue;
    tab.p[n] = a.param[i];
    tab.g[n] = a.grad[i];
    tab.s0[n] = entry(a.state0, i);
    tab.s1[n] = entry(a.state1, i);
    tab.s2[n] = entry(a.state2, i);
    tab.start[n] = acc;
    acc += a.sizes[i];
    if (++n == kMaxTensors) ENTRENA_TRY(flush());
  }
  return flush();
}


}  // namespace

Status optim_step(const OptimArgs& a) {
  ENTRENA_TRY(check_optim_args(a));
  if (a.count == 0) return Status::ok;
  return a.dtype == DType::f32 ? step<float>(a) : step<double>(a);
}

}  // namespace entrena::cuda
