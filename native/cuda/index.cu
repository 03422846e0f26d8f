// index.cu — CUDA gathers and scatters over a contiguous [outer, n, inner] layout, int32 indices.
//
// index_select: out[o, j, i] = src[o, idx[j], i]            (out is [outer, n_idx, inner])
// index_add:    dst[o, idx[j], i] += src[o, j, i]           (the backward of index_select)
// gather:       out[o, j, i] = src[o, idx[o, j, i], i]      (torch.gather; idx is [outer, n_idx, inner])
// scatter_add:  dst[o, idx[o, j, i], i] += src[o, j, i]     (the backward of gather)
// As on the CPU (native/cpu/index.cc), every index is checked and one out of range fails the call
// with ERR_INDEX before anything is written. The indices live on the device, so the check is a
// kernel that records the first bad position, read back before the real kernel is queued: one
// synchronisation per call, the price of never writing outside a buffer.
// Scatters use one thread per source element and atomicAdd (float, double on sm_60+, int32), so
// repeated indices accumulate correctly; the order of a float sum is not fixed, so results may
// differ from the CPU's in the last bits.
#include <climits>

#include "../core/dispatch.h"
#include "kernels.cuh"

namespace entrena::cuda {
namespace {

__global__ void check_kernel(const int32_t* __restrict__ idx, int64_t count, int64_t bound,
                             unsigned long long* __restrict__ first_bad) {
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int32_t v = idx[j];
    if (v < 0 || v >= bound) atomicMin(first_bad, static_cast<unsigned long long>(j));
  }
}

Status check_indices(const int32_t* idx, int64_t count, int64_t bound) {
  if (count == 0) return Status::ok;
  Scratch flag;
  ENTRENA_TRY(flag.take(sizeof(unsigned long long)));
  auto* first_bad = static_cast<unsigned long long*>(flag.ptr);
  ENTRENA_CUDA_TRY(cudaMemsetAsync(first_bad, 0xFF, sizeof(unsigned long long), stream()), "cudaMemsetAsync");
  check_kernel<<<grid_for(count), kThreads, 0, stream()>>>(idx, count, bound, first_bad);
  ENTRENA_TRY(check_launch("index check kernel"));
  unsigned long long pos = 0;
  ENTRENA_TRY(copy_to_host(&pos, first_bad, sizeof pos));
  if (pos == ULLONG_MAX) return Status::ok;
  int32_t value = 0;
  ENTRENA_TRY(copy_to_host(&value, idx + pos, sizeof value));
  return set_error(Status::index, "index %d is out of range for a dimension of size %lld", value,
                   static_cast<long long>(bound));
}

#define ENTRENA_FOR_EACH(e, n)                                                                 \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < (n);       \
       e += static_cast<int64_t>(blockDim.x) * gridDim.x)

template <typename T>
__global__ void index_select_kernel(int64_t outer, int64_t n_src, int64_t inner, const T* __restrict__ src,
                                    const int32_t* __restrict__ idx, int64_t n_idx, T* __restrict__ out) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_FOR_EACH(e, total) {
    const int64_t i = e % inner, t = e / inner;
    const int64_t j = t % n_idx, o = t / n_idx;
    out[e] = src[(o * n_src + idx[j]) * inner + i];
  }
}

template <typename T>
__global__ void index_add_kernel(int64_t outer, int64_t n_dst, int64_t inner, T* __restrict__ dst,
                                 const int32_t* __restrict__ idx, int64_t n_idx, const T* __restrict__ src) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_FOR_EACH(e, total) {
    const int64_t i = e % inner, t = e / inner;
    const int64_t j = t % n_idx, o = t / n_idx;
    atomicAdd(dst + (o * n_dst + idx[j]) * inner + i, src[e]);
  }
}

template <typename T>
__global__ void gather_kernel(int64_t outer, int64_t n_src, int64_t inner, const T* __restrict__ src,
                              const int32_t* __restrict__ idx, int64_t n_idx, T* __restrict__ out) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_FOR_EACH(e, total) {
    const int64_t i = e % inner, o = e / (n_idx * inner);
    out[e] = src[(o * n_src + idx[e]) * inner + i];
  }
}

template <typename T>
__global__ void scatter_add_kernel(int64_t outer, int64_t n_dst, int64_t inner, T* __restrict__ dst,
                                   const int32_t* __restrict__ idx, int64_t n_idx, const T* __restrict__ src) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_FOR_EACH(e, total) {
    const int64_t i = e % inner, o = e / (n_idx * inner);
    atomicAdd(dst + (o * n_dst + idx[e]) * inner + i, src[e]);
  }
}

// Launches `launch` with T the element type of dt (core/dispatch.h), then checks the launch.
#define ENTRENA_DISPATCH(dt, what, launch) \
  return visit_dtype(dt, [&](auto tag) { using T = decltype(tag); launch; return check_launch(what); });

}  // namespace

Status index_select(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src, const int32_t* idx,
                    int64_t n_idx, void* out) {
  ENTRENA_TRY(check_indices(idx, n_idx, n_src));
  const int64_t total = outer * n_idx * inner;
  if (total == 0) return Status::ok;
  ENTRENA_DISPATCH(dt, "index_select kernel",
                   (index_select_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
                       outer, n_src, inner, static_cast<const T*>(src), idx, n_idx, static_cast<T*>(out))))
}

Status index_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst, const int32_t* idx,
                 int64_t n_idx, const void* src) {
  ENTRENA_TRY(check_indices(idx, n_idx, n_dst));
  const int64_t total = outer * n_idx * inner;
  if (total == 0) return Status::ok;
  ENTRENA_DISPATCH(dt, "index_add kernel",
                   (index_add_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
                       outer, n_dst, inner, static_cast<T*>(dst), idx, n_idx, static_cast<const T*>(src))))
}

Status gather(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src, const int32_t* idx,
              int64_t n_idx, void* out) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_TRY(check_indices(idx, total, n_src));
  if (total == 0) return Status::ok;
  ENTRENA_DISPATCH(dt, "gather kernel",
                   (gather_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
                       outer, n_src, inner, static_cast<const T*>(src), idx, n_idx, static_cast<T*>(out))))
}

Status scatter_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst, const int32_t* idx,
                   int64_t n_idx, const void* src) {
  const int64_t total = outer * n_idx * inner;
  ENTRENA_TRY(check_indices(idx, total, n_dst));
  if (total == 0) return Status::ok;
  ENTRENA_DISPATCH(dt, "scatter_add kernel",
                   (scatter_add_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(
                       outer, n_dst, inner, static_cast<T*>(dst), idx, n_idx, static_cast<const T*>(src))))
}

}  // namespace entrena::cuda
