// backend.h — the kernel table each backend fills in (DESIGN principle 2).
//
// native/cpu/backend.cc fills one for the CPU, native/cuda/backend.cu one for CUDA (or
// native/cuda/stub.cc when CUDA is not compiled in). The binding looks a kernel up here; a null
// entry is reported as `kernel 'NAME' is not available on 'DEVICE'`. Every pointer argument is
// memory of the backend's own device; sizes and strides are in elements.
#pragma once
#include <cstdint>
#include <initializer_list>
#include "ops.h"
#include "status.h"
#include "view.h"

namespace entrena {

struct GemmArgs {
  // C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for b in [0, batch).
  // Shape legend: op(A) is M×K, op(B) is K×N, C is M×N, all row-major with leading dimensions
  // lda, ldb, ldc. trans_a means A is stored K×M (op(A) = Aᵀ), likewise trans_b.
  // dtype is that of A, B and C: f32, f64, or the 16-bit bf16 / f16, which are multiplied with
  // float32 accumulation (alpha, beta applied in float32, C rounded once).
  // tf32: float32 products may use TF32 tensor cores (inputs rounded to a 10-bit mantissa, float32
  // accumulation) — set by setFloat32MatmulPrecision('high' | 'medium'); the CPU ignores it.
  DType dtype;
  bool tf32;
  bool trans_a, trans_b;
  int64_t m, n, k;
  double alpha, beta;
  const void* a; int64_t lda, stride_a;
  const void* b; int64_t ldb, stride_b;
  void* c; int64_t ldc, stride_c;
  int64_t batch;
};

struct BatchNormArgs {
  // Batch normalisation over the channel axis (Ioffe & Szegedy 2015, arXiv:1502.03167), with the
  // semantics of torch.nn.functional.batch_norm. Implemented by cpu/batchnorm.cc (the reference for
  // the CUDA version).
  //
  // Shape legend: x, y, dy, dx are contiguous [N, C, L] (L = 1 for BatchNorm1d on [N, C]; L = H·W
  // for BatchNorm2d on [N, C, H, W]); every per-channel array (weight, bias, running_*, save_*,
  // dweight, dbias) holds C elements. All arrays have `dtype` (f32 or f64; i32 → Status::dtype).
  // M = N·L, the number of elements per channel. Statistics are accumulated in double.
  //
  // forward, training = true (batch statistics):
  //   mean[c] = Σ x / M;  var[c] = Σ (x − mean)² / M   (biased, two-pass, used to normalise)
  //   invstd[c] = 1 / sqrt(var + eps);  y = (x − mean)·invstd·weight + bias
  //   save_mean = mean, save_invstd = invstd        (each may be null: then not written)
  //   running_mean = (1 − momentum)·running_mean + momentum·mean
  //   running_var  = (1 − momentum)·running_var  + momentum·var·M/(M − 1)   (unbiased, as PyTorch;
  //                  M = 1 gives NaN/inf exactly as PyTorch's kernel; the TS layer rejects it first)
  //   (running_mean/running_var null: no update. PyTorch's momentum=None, the cumulative average,
  //    is momentum = 1/num_batches_tracked computed by the caller.)
  // forward, training = false (eval): y = (x − running_mean)/sqrt(running_var + eps)·weight + bias;
  //   running stats are required. (A module without running stats normalises with batch statistics
  //   in eval too, so the caller passes training = true for it, as PyTorch does.)
  // backward, training = true: reads x, dy, save_mean, save_invstd (required); xhat = (x−mean)·invstd,
  //   dbias = Σ dy,  dweight = Σ dy·xhat,
  //   dx = invstd/M · (M·dy·w − Σdy·w − xhat·Σ(dy·xhat)·w)     (w = weight, or 1 when null)
  // backward, training = false: the statistics are constants, invstd = 1/sqrt(running_var + eps):
  //   dx = dy·w·invstd,  dweight = Σ dy·(x − running_mean)·invstd,  dbias = Σ dy.
  // dx, dweight, dbias may each be null (not computed). momentum is unused by backward.
  DType dtype;
  int64_t n, c, l;
  double eps, momentum;
  bool training;
  const void* x; void* y;
  const void* weight; const void* bias;     // may be null (affine = false): weight 1, bias 0
  void* running_mean; void* running_var;    // may be null (track_running_stats = false)
  void* save_mean; void* save_invstd;       // written by training forward, read by training backward
  // backward
  const void* dy; void* dx; void* dweight; void* dbias;
};

// The argument checks both backends' batch norm entries make first (name: the entry, for the message).
inline Status check_batchnorm_args(const BatchNormArgs& a, const char* name) {
  if (a.dtype != DType::f32 && a.dtype != DType::f64)
    return set_error(Status::dtype, "%s: expected float32 or float64, got %s", name, dtype_name(a.dtype));
  if (a.n < 0 || a.c < 0 || a.l < 0) return set_error(Status::shape, "%s: negative extent", name);
  return Status::ok;
}

// ---- fused optimizer steps: the contract with lib/ts/optim/fused_host.ts -------------------------
// Written once, here; fused_host.ts mirrors each list (OptimKind, OptimFlag, OPTIM_SCALAR,
// OPTIM_STATE, OPTIM_SCALAR_SLOTS; names in camelCase there) and test/contracts.test.ts reads both
// files and fails on any difference (DESIGN principle 17).

// The kinds: X(name, id).
#define ENTRENA_OPTIM_KINDS(X) X(sgd, 0) X(adam, 1) X(adagrad, 2) X(rmsprop, 3) X(adamax, 4) X(nadam, 5)

// The host scalars of each kind, by name: X(name, slot), where slot indexes OptimArgs::h (the
// Float64Array of kOptimScalarSlots that JavaScript passes). Kernels read them by name through
// OptimHost<kind> below, never by position; what each means is on OptimArgs.
#define ENTRENA_OPTIM_SCALARS_sgd(X) X(lr, 0) X(momentum, 1) X(dampening, 2) X(weight_decay, 3)
#define ENTRENA_OPTIM_SCALARS_adam(X)                                                               \
  X(lr, 0) X(beta1, 1) X(beta2, 2) X(eps, 3) X(weight_decay, 4) X(step_size, 5) X(bias_correction2_sqrt, 6)
#define ENTRENA_OPTIM_SCALARS_adagrad(X) X(clr, 0) X(weight_decay, 1) X(eps, 2)
#define ENTRENA_OPTIM_SCALARS_rmsprop(X) X(lr, 0) X(alpha, 1) X(eps, 2) X(weight_decay, 3) X(momentum, 4)
#define ENTRENA_OPTIM_SCALARS_adamax(X) X(lr, 0) X(beta1, 1) X(beta2, 2) X(eps, 3) X(weight_decay, 4) X(clr, 5)
#define ENTRENA_OPTIM_SCALARS_nadam(X)                                                              \
  X(lr, 0) X(beta1, 1) X(beta2, 2) X(eps, 3) X(weight_decay, 4) X(bias_correction2, 5) X(grad_coef, 6)  \
  X(exp_avg_coef, 7)

// The state tensors of each kind: X(name, k), k = 0, 1, 2 for OptimArgs::state0..state2. Names
// are PyTorch's state keys (optimizer.state[p]['exp_avg']); the optimizer classes store the
// tensors under the camelCase twins. Which of them a step needs: optim_states_used.
#define ENTRENA_OPTIM_STATES_sgd(X) X(momentum_buffer, 0)
#define ENTRENA_OPTIM_STATES_adam(X) X(exp_avg, 0) X(exp_avg_sq, 1) X(max_exp_avg_sq, 2)
#define ENTRENA_OPTIM_STATES_adagrad(X) X(sum, 0)
#define ENTRENA_OPTIM_STATES_rmsprop(X) X(square_avg, 0) X(momentum_buffer, 1) X(grad_avg, 2)
#define ENTRENA_OPTIM_STATES_adamax(X) X(exp_avg, 0) X(exp_inf, 1)
#define ENTRENA_OPTIM_STATES_nadam(X) X(exp_avg, 0) X(exp_avg_sq, 1)

// Length of OptimArgs::h: room for the longest kind, and a fixed size for the boundary.
constexpr int kOptimScalarSlots = 16;

enum class OptimKind : int32_t {
#define ENTRENA_ENUM(name, id) name = id,
  ENTRENA_OPTIM_KINDS(ENTRENA_ENUM)
#undef ENTRENA_ENUM
};

// OptimArgs::flags bits (one meaning each, shared by all kinds; a kind ignores bits it does not use).
enum OptimFlag : int32_t {
  kOptimNesterov = 1,    // sgd: Nesterov momentum
  kOptimFirstStep = 2,   // sgd: the momentum buffer does not exist yet: buf = d_p (no dampening)
  kOptimAmsgrad = 4,     // adam: keep state2 = max(state2, exp_avg_sq) and normalise by it
  kOptimDecoupled = 8,   // adam: AdamW's decoupled weight decay p ·= 1 − lr·wd (else L2: g += wd·p)
  kOptimCentered = 16,   // rmsprop: centred variant, state2 = grad_avg
};

struct OptimArgs {
  // One fused update over `count` parameter tensors of one dtype (f32 or f64) on one device,
  // implemented by cpu/optim.cc (the reference for the CUDA version). The pointer arrays
  // (param, grad, state0..2, sizes) are host memory; each entry points to sizes[i] contiguous
  // elements of the backend's device memory. State tensors have the param's dtype, are
  // allocated and initialised by the caller (zeros, or Adagrad's initial_accumulator_value);
  // a state array may be null, or have null entries, when the kind/flags do not use it
  // (optim_states_used() says which are needed). Arithmetic is done in the param dtype, in the
  // same order as PyTorch's _single_tensor_* functions (torch/optim/*.py, 1.13/2.x), with the
  // host scalars below rounded once to that dtype. g is the gradient; "g += wd·p" is applied
  // to a local copy, never written back to grad. Step-dependent scalars (bias corrections,
  // decayed learning rates, NAdam's μ products) are computed on the host
  // (lib/ts/optim/fused_host.ts) with step = the 1-based number of this step. The scalars are
  // named below as in ENTRENA_OPTIM_SCALARS_<kind> (their slots in h are listed there), the
  // states as in ENTRENA_OPTIM_STATES_<kind>.
  //
  // kind = sgd (torch/optim/sgd.py): state0 = momentum_buffer (when momentum ≠ 0)
  //   lr, momentum, dampening, weight_decay; flags kOptimNesterov, kOptimFirstStep
  //   g += wd·p;  if momentum ≠ 0: buf = first ? g : momentum·buf + (1 − dampening)·g;
  //   d = nesterov ? g + momentum·buf : buf;  (momentum = 0: d = g);  p −= lr·d
  // kind = adam (torch/optim/adam.py, adamw.py; Kingma & Ba 2014, Loshchilov & Hutter 2017):
  //   state0 = exp_avg, state1 = exp_avg_sq, state2 = max_exp_avg_sq (amsgrad)
  //   lr, beta1, beta2, eps, weight_decay, step_size = lr/(1 − beta1^step),
  //   bias_correction2_sqrt = sqrt(1 − beta2^step); flags kOptimAmsgrad, kOptimDecoupled
  //   decoupled ? p ·= 1 − lr·wd : g += wd·p;  m = beta1·m + (1 − beta1)·g;  v = beta2·v + (1 − beta2)·g·g
  //   amsgrad: vmax = max(vmax, v), v̂ = vmax, else v̂ = v;  denom = sqrt(v̂)/bias_correction2_sqrt + eps;
  //   p −= step_size·m/denom
  // kind = adagrad (torch/optim/adagrad.py; Duchi et al. 2011): state0 = sum
  //   clr = lr/(1 + (step − 1)·lr_decay), weight_decay, eps
  //   g += wd·p;  sum += g·g;  p −= clr·g/(sqrt(sum) + eps)
  // kind = rmsprop (torch/optim/rmsprop.py; Hinton's lecture 6e, Graves 2013 for centred):
  //   state0 = square_avg, state1 = momentum_buffer (when momentum > 0), state2 = grad_avg (centred)
  //   lr, alpha, eps, weight_decay, momentum; flags kOptimCentered
  //   g += wd·p;  sq = alpha·sq + (1 − alpha)·g·g;  centred: ga = alpha·ga + (1 − alpha)·g,
  //   avg = sqrt(sq − ga·ga) + eps, else avg = sqrt(sq) + eps;
  //   momentum > 0: buf = momentum·buf + g/avg, p −= lr·buf;  else p −= lr·g/avg
  // kind = adamax (torch/optim/adamax.py; Kingma & Ba 2014 §7.1): state0 = exp_avg, state1 = exp_inf
  //   lr, beta1, beta2, eps, weight_decay, clr = lr/(1 − beta1^step)
  //   g += wd·p;  m = beta1·m + (1 − beta1)·g;  u = max(beta2·u, |g| + eps) (NaN propagates);  p −= clr·m/u
  // kind = nadam (torch/optim/nadam.py of PyTorch ≥ 2.0 — 1.13's _single_tensor_nadam multiplied
  //   μ_t into mu_product_next twice, pytorch/pytorch#92699; 1.13's foreach path was already right;
  //   Dozat 2016): state0 = exp_avg, state1 = exp_avg_sq
  //   lr, beta1, beta2, eps, weight_decay, bias_correction2 = 1 − beta2^step,
  //   grad_coef = lr·(1 − μ_t)/(1 − Π_{i≤t} μ_i),
  //   exp_avg_coef = lr·μ_{t+1}/(1 − Π_{i≤t} μ_i · μ_{t+1}),
  //   with μ_t = beta1·(1 − 0.5·0.96^(t·momentum_decay)); the product Π lives on the host.
  //   g += wd·p;  m = beta1·m + (1 − beta1)·g;  v = beta2·v + (1 − beta2)·g·g;
  //   denom = sqrt(v/bias_correction2) + eps;  p −= grad_coef·g/denom;  p −= exp_avg_coef·m/denom
  OptimKind kind;
  DType dtype;
  int64_t count;
  void* const* param; const void* const* grad;
  void* const* state0; void* const* state1; void* const* state2;
  const int64_t* sizes;
  double h[kOptimScalarSlots];  // the host scalars of `kind`: read them with OptimHost<kind>::read
  int32_t flags;
};

// OptimHost<K>: the host scalars of kind K by name (one double per entry of
// ENTRENA_OPTIM_SCALARS_<K>), read from OptimArgs::h. E.g. OptimHost<OptimKind::adam>::read(a.h).step_size.
template <OptimKind K> struct OptimHost;
#define ENTRENA_OPTIM_FIELD(name, slot) double name;
#define ENTRENA_OPTIM_READ(name, slot) s.name = h[slot];
#define ENTRENA_OPTIM_HOST(kind, id)                                                                \
  template <> struct OptimHost<OptimKind::kind> {                                                   \
    ENTRENA_OPTIM_SCALARS_##kind(ENTRENA_OPTIM_FIELD)                                               \
    static OptimHost read(const double* h) {                                                        \
      OptimHost s{};                                                                                \
      ENTRENA_OPTIM_SCALARS_##kind(ENTRENA_OPTIM_READ) return s;                                    \
    }                                                                                               \
  };
ENTRENA_OPTIM_KINDS(ENTRENA_OPTIM_HOST)
#undef ENTRENA_OPTIM_HOST
#undef ENTRENA_OPTIM_READ
#undef ENTRENA_OPTIM_FIELD

// Compile-time checks of the lists: every slot in range, none used twice within a kind.
constexpr bool optim_slots_ok(std::initializer_list<int> slots, int limit) {
  for (const int* a = slots.begin(); a != slots.end(); ++a) {
    if (*a < 0 || *a >= limit) return false;
    for (const int* b = slots.begin(); b != a; ++b)
      if (*a == *b) return false;
  }
  return true;
}
#define ENTRENA_OPTIM_SLOT(name, slot) slot,
#define ENTRENA_OPTIM_CHECK(kind, id)                                                               \
  static_assert(optim_slots_ok({ENTRENA_OPTIM_SCALARS_##kind(ENTRENA_OPTIM_SLOT)}, kOptimScalarSlots), \
                "ENTRENA_OPTIM_SCALARS_" #kind ": a slot is out of range or used twice");           \
  static_assert(optim_slots_ok({ENTRENA_OPTIM_STATES_##kind(ENTRENA_OPTIM_SLOT)}, 3),                \
                "ENTRENA_OPTIM_STATES_" #kind ": a state index is out of range or used twice");
ENTRENA_OPTIM_KINDS(ENTRENA_OPTIM_CHECK)
#undef ENTRENA_OPTIM_CHECK
#undef ENTRENA_OPTIM_SLOT

// Whether `kind` names an OptimKind (for values that come from JavaScript).
inline bool optim_kind_valid(int64_t kind) {
  switch (kind) {
#define ENTRENA_CASE(name, id) case id:
    ENTRENA_OPTIM_KINDS(ENTRENA_CASE)
#undef ENTRENA_CASE
    return true;
  }
  return false;
}

inline const char* optim_kind_name(OptimKind k) {
  switch (k) {
#define ENTRENA_CASE(name, id) case OptimKind::name: return #name;
    ENTRENA_OPTIM_KINDS(ENTRENA_CASE)
#undef ENTRENA_CASE
  }
  return "?";
}

// The name of state `s` (0..2) of `kind` (ENTRENA_OPTIM_STATES_<kind>), or "unused".
inline const char* optim_state_name(OptimKind kind, int s) {
  switch (kind) {
#define ENTRENA_STATE(name, k) if (s == k) return #name;
#define ENTRENA_CASE(name, id) case OptimKind::name: { ENTRENA_OPTIM_STATES_##name(ENTRENA_STATE) break; }
    ENTRENA_OPTIM_KINDS(ENTRENA_CASE)
#undef ENTRENA_CASE
#undef ENTRENA_STATE
  }
  return "unused";
}

// Which of state0/1/2 an update reads and writes (bit s = state s), from kind, flags and h[].
// The binding and every backend use it to validate before running the kernel.
inline int optim_states_used(OptimKind kind, int32_t flags, const double* h) {
  switch (kind) {
    case OptimKind::sgd: return OptimHost<OptimKind::sgd>::read(h).momentum != 0 ? 1 : 0;
    case OptimKind::adam: return (flags & kOptimAmsgrad) ? 7 : 3;
    case OptimKind::adagrad: return 1;
    case OptimKind::rmsprop:
      return 1 | (OptimHost<OptimKind::rmsprop>::read(h).momentum > 0 ? 2 : 0) | ((flags & kOptimCentered) ? 4 : 0);
    case OptimKind::adamax: return 3;
    case OptimKind::nadam: return 3;
  }
  return 0;
}

// Every compute entry of the kernel table, once: X(name, parameter list). Backend's function
// pointers, each backend's declarations (cpu/kernels.h, cuda/kernels.cuh) and each backend's table
// (make_backend in cpu/backend.cc, cuda/backend.cu) are generated from this list, so an entry added
// here must be written by every backend or the build fails.
#define ENTRENA_KERNELS(X)                                                                          \
  /* elementwise (Iter operand 0 is the output; where: out, cond, a, b; cast: a strided copy    */ \
  /* with conversion)                                                                           */ \
  X(unary, (UnaryOp op, DType dt, const Iter& it, double p0, double p1))                            \
  X(binary, (BinaryOp op, DType dt, const Iter& it, double p0, double p1))                          \
  X(where, (DType dt, DType cond_dt, const Iter& it))                                               \
  X(cast, (DType out_dt, DType in_dt, const Iter& it))                                              \
  X(fill, (DType dt, const Iter& it, double value))                                                 \
  /* reductions and softmax over the middle axis of contiguous [outer, n, inner]                */ \
  X(reduce, (ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in,       \
             void* out, double p0))                                                                 \
  X(softmax, (DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in,         \
              void* out))                                                                           \
  X(softmax_backward, (DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* y, \
                       const void* dy, void* dx))                                                   \
  /* indexing over contiguous [outer, n, inner]; indices are int32                              */ \
  X(index_select, (DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,         \
                   const int32_t* idx, int64_t n_idx, void* out))                                   \
  X(index_add, (DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,                  \
                const int32_t* idx, int64_t n_idx, const void* src))                                \
  X(gather, (DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,               \
             const int32_t* idx, int64_t n_idx, void* out))                                         \
  X(scatter_add, (DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,                \
                  const int32_t* idx, int64_t n_idx, const void* src))                              \
  /* random: element i depends only on (seed, offset, i), never on threads or launch shape      */ \
  X(random_uniform, (DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo,    \
                     double hi))                                                                    \
  X(random_normal, (DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean,   \
                    double std))                                                                    \
  /* linear algebra, normalisation, optimisers                                                  */ \
  X(gemm, (const GemmArgs& g))                                                                      \
  X(batchnorm_forward, (const BatchNormArgs& a))                                                    \
  X(batchnorm_backward, (const BatchNormArgs& a))                                                   \
  X(optim_step, (const OptimArgs& a))

struct Backend {
  const char* name;
  // memory
  Status (*alloc)(size_t bytes, void** out);
  Status (*release)(void* ptr, size_t bytes);
  Status (*copy_from_host)(void* dst, const void* src, size_t bytes);
  Status (*copy_to_host)(void* dst, const void* src, size_t bytes);
  Status (*synchronize)();
  // compute (see ENTRENA_KERNELS)
#define ENTRENA_KERNEL_FIELD(name, params) Status(*name) params;
  ENTRENA_KERNELS(ENTRENA_KERNEL_FIELD)
#undef ENTRENA_KERNEL_FIELD
};

const Backend& cpu_backend();
// Returns the CUDA backend, or sets an error (ERR_NOT_COMPILED_WITH_CUDA, ERR_CUDA) and returns null.
const Backend* cuda_backend();
bool cuda_compiled();
int cuda_device_count();
Status cuda_memory_info(int64_t* allocated, int64_t* cached, int64_t* free_bytes, int64_t* total_bytes);
Status cuda_empty_cache();
// The CUDA backend's stream (a cudaStream_t), on which NCCL collectives are queued; null without CUDA.
void* cuda_stream();

}  // namespace entrena
