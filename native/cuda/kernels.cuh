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

// ---- the kernel-table entries (core/backend.h, ENTRENA_KERNELS) -------------------------------
// elementwise.cu, reduce.cu, index.cu, random.cu, gemm.cu, batchnorm.cu, optim.cu
#define ENTRENA_DECLARE_KERNEL(name, params) Status name params;
ENTRENA_KERNELS(ENTRENA_DECLARE_KERNEL)
#undef ENTRENA_DECLARE_KERNEL

// ---- the tensor-core GEMM (gemm_tc.cu), called by gemm() of gemm.cu ---------------------------
// True on a device of compute capability 8.0 or newer (mma.sync with bf16/f16/tf32, cp.async).
bool tensor_cores_available();
// One launch (M < 65535·tile, batch < 65535) of bf16/f16 GEMM, or float32 GEMM with TF32 inputs;
// simple: the SIMT kernel for the 16-bit types instead (tile gemm_tc_tile(simple) rows high).
Status gemm_tc_launch(const GemmArgs& g, bool simple);
int gemm_tc_tile(bool simple);

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
