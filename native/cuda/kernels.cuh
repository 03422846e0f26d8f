// kernels.cuh — the CUDA kernel functions that native/cuda/backend.cu puts into the kernel table,
// and the few helpers every .cu file of this folder shares (the process stream, error mapping,
// launch shapes). The mirror of native/cpu/kernels.h: same families, same function names, under
// entrena::cuda. Not a public header: only native/cuda/*.cu include it.
//
// Execution model: every kernel and copy is queued on one process-wide stream (stream()); nothing
// here synchronises except copy_to_host, synchronize, the index range checks (which must read a
// flag back before anything is written) and the allocator when it has to give its cache back.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../core/backend.h"

namespace entrena::cuda {

// ---- memory (allocator.cu) -------------------------------------------------------------------
Status alloc(size_t bytes, void** out);
Status release(void* ptr, size_t bytes);
Status copy_from_host(void* dst, const void* src, size_t bytes);
Status copy_to_host(void* dst, const void* src, size_t bytes);
Status synchronize();
Status memory_info(int64_t* allocated, int64_t* cached, int64_t* free_bytes, int64_t* total_bytes);
Status empty_cache();

// ---- elementwise (elementwise.cu) ------------------------------------------------------------
Status unary(UnaryOp op, DType dt, const Iter& it, double p0, double p1);
Status binary(BinaryOp op, DType dt, const Iter& it, double p0, double p1);
Status where(DType dt, DType cond_dt, const Iter& it);
Status cast(DType out_dt, DType in_dt, const Iter& it);
Status fill(DType dt, const Iter& it, double value);

// ---- reductions and softmax (reduce.cu) ------------------------------------------------------
Status reduce(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in,
              void* out, double p0);
Status softmax(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in, void* out);
Status softmax_backward(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* y,
                        const void* dy, void* dx);

// ---- indexing (index.cu) ---------------------------------------------------------------------
Status index_select(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
                    const int32_t* idx, int64_t n_idx, void* out);
Status index_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                 const int32_t* idx, int64_t n_idx, const void* src);
Status gather(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
              const int32_t* idx, int64_t n_idx, void* out);
Status scatter_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                   const int32_t* idx, int64_t n_idx, const void* src);

// ---- random (random.cu) ----------------------------------------------------------------------
Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi);
Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std);

// ---- GEMM (gemm.cu) --------------------------------------------------------------------------
Status gemm(const GemmArgs& g);

// ---- batch normalisation (batchnorm.cu) and the fused optimizer step (optim.cu) ------------------
Status batchnorm_forward(const BatchNormArgs& a);
Status batchnorm_backward(const BatchNormArgs& a);
Status optim_step(const OptimArgs& a);

// ---- shared helpers --------------------------------------------------------------------------

// The process-wide stream all work is queued on (created by backend.cu on first use).
cudaStream_t stream();

// Turns a CUDA runtime error into Status::cuda with the runtime's text; `what` names the call.
Status cuda_error(cudaError_t e, const char* what);

// Checks the launch that was just queued (bad configuration, missing kernel image for this GPU).
inline Status check_launch(const char* what) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? Status::ok : cuda_error(e, what);
}

#define ENTRENA_CUDA_TRY(call, what)                                   \
  do {                                                                 \
    cudaError_t _e = (call);                                           \
    if (_e != cudaSuccess) return ::entrena::cuda::cuda_error(_e, what); \
  } while (0)

// A 1-D grid for a grid-stride loop over n items: enough blocks to fill the GPU, never more
// than the items need. (Grid-stride loops make the result independent of the grid size.)
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = 65536;  // ≈ 132 SMs × 2048 threads / 256 × 16 waves: plenty, and int-safe
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks);
}

// Temporary device memory for one call (partial sums, flags): taken from the caching allocator
// and handed back when the guard goes out of scope. Giving it back while kernels that use it are
// still queued is safe because every kernel runs on the one stream, in order.
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  Status take(size_t n) {
    bytes = n;
    return alloc(n, &ptr);
  }
  ~Scratch() {
    if (ptr) release(ptr, bytes);
  }
};

}  // namespace entrena::cuda
