// backend.h — the kernel table each backend fills in (DESIGN principle 2).
//
// native/cpu/backend.cc fills one for the CPU, native/cuda/backend.cu one for CUDA (or
// native/cuda/stub.cc when CUDA is not compiled in). The binding looks a kernel up here; a null
// entry is reported as `kernel 'NAME' is not available on 'DEVICE'`. Every pointer argument is
// memory of the backend's own device; sizes and strides are in elements.
#pragma once
#include <cstdint>
#include "ops.h"
#include "status.h"
#include "view.h"

namespace entrena {

struct GemmArgs {
  // C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for b in [0, batch).
  // Shape legend: op(A) is M×K, op(B) is K×N, C is M×N, all row-major with leading dimensions
  // lda, ldb, ldc. trans_a means A is stored K×M (op(A) = Aᵀ), likewise trans_b.
  DType dtype;
  bool trans_a, trans_b;
  int64_t m, n, k;
  double alpha, beta;
  const void* a; int64_t lda, stride_a;
  const void* b; int64_t ldb, stride_b;
  void* c; int64_t ldc, stride_c;
  int64_t batch;
};

struct BatchNormArgs {
  // x, y, dy, dx: contiguous [N, C, L] (L = 1 for BatchNorm1d on [N, C]); per-channel arrays of C.
  DType dtype;
  int64_t n, c, l;
  double eps, momentum;
  bool training;
  const void* x; void* y;
  const void* weight; const void* bias;     // may be null (affine = false)
  void* running_mean; void* running_var;    // may be null (track_running_stats = false)
  void* save_mean; void* save_invstd;       // written in training, read by backward
  // backward
  const void* dy; void* dx; void* dweight; void* dbias;
};

enum class OptimKind : int32_t { sgd = 0, adam = 1, adagrad = 2, rmsprop = 3, adamax = 4, nadam = 5 };

struct OptimArgs {
  // One fused update over `count` parameter tensors of one dtype on one device. Each entry of
  // param/grad/state0..2 is a pointer to `sizes[i]` elements; state pointers may be null when the
  // algorithm does not use them. Scalars that depend on the step (bias corrections) are computed
  // on the host and passed in h[].
  OptimKind kind;
  DType dtype;
  int64_t count;
  void* const* param; const void* const* grad;
  void* const* state0; void* const* state1; void* const* state2;
  const int64_t* sizes;
  double h[16];
  int32_t flags;
};

struct Backend {
  const char* name;
  // memory
  Status (*alloc)(size_t bytes, void** out);
  Status (*release)(void* ptr, size_t bytes);
  Status (*copy_from_host)(void* dst, const void* src, size_t bytes);
  Status (*copy_to_host)(void* dst, const void* src, size_t bytes);
  Status (*synchronize)();
  // elementwise (Iter operand 0 is the output)
  Status (*unary)(UnaryOp op, DType dt, const Iter& it, double p0, double p1);
  Status (*binary)(BinaryOp op, DType dt, const Iter& it, double p0, double p1);
  Status (*where)(DType dt, DType cond_dt, const Iter& it);       // operands: out, cond, a, b
  Status (*cast)(DType out_dt, DType in_dt, const Iter& it);      // strided copy with conversion
  Status (*fill)(DType dt, const Iter& it, double value);
  // reductions and softmax over the middle axis of contiguous [outer, n, inner]
  Status (*reduce)(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in,
                   void* out, double p0);
  Status (*softmax)(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in,
                    void* out);
  Status (*softmax_backward)(DType dt, bool log, int64_t outer, int64_t n, int64_t inner,
                             const void* y, const void* dy, void* dx);
  // indexing over contiguous [outer, n, inner]; indices are int32
  Status (*index_select)(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
                         const int32_t* idx, int64_t n_idx, void* out);
  Status (*index_add)(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                      const int32_t* idx, int64_t n_idx, const void* src);
  Status (*gather)(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
                   const int32_t* idx, int64_t n_idx, void* out);
  Status (*scatter_add)(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                        const int32_t* idx, int64_t n_idx, const void* src);
  // random: element i depends only on (seed, offset, i), never on threads or launch shape
  Status (*random_uniform)(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo,
                           double hi);
  Status (*random_normal)(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset,
                          double mean, double std);
  // linear algebra, normalisation, optimisers
  Status (*gemm)(const GemmArgs& g);
  Status (*batchnorm_forward)(const BatchNormArgs& a);
  Status (*batchnorm_backward)(const BatchNormArgs& a);
  Status (*optim_step)(const OptimArgs& a);
};

const Backend& cpu_backend();
// Returns the CUDA backend, or sets an error (ERR_NOT_COMPILED_WITH_CUDA, ERR_CUDA) and returns null.
const Backend* cuda_backend();
bool cuda_compiled();
int cuda_device_count();
Status cuda_memory_info(int64_t* allocated, int64_t* cached, int64_t* free_bytes, int64_t* total_bytes);
Status cuda_empty_cache();

}  // namespace entrena
