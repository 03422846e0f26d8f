// allocator.cu — CUDA device memory: a caching allocator, host⇄device copies and synchronisation.
//
// Why a cache: cudaMalloc/cudaFree cost tens of µs and cudaFree synchronises the whole device, so
// a training step that allocates its temporaries afresh would stall on every op. Freed blocks go
// to size-bucketed free lists instead and the next allocation of that size reuses them (the scheme
// of PyTorch's CUDACachingAllocator, much simplified). Sizes round up to 512 B below 1 MiB and to
// 2 MiB above, so that buffers of nearby sizes share buckets; a big request may also take a cached
// block up to 25 % larger than it asked for. Reusing a block is safe without events because all
// work runs in order on the one stream (kernels.cuh).
//
// Out of memory: when cudaMalloc fails with cudaErrorMemoryAllocation, the whole cache is given
// back to the driver and the allocation retried once; if that fails too the call returns
// Status::out_of_memory (ERR_OUT_OF_MEMORY in JavaScript) — never an abort. The state is a leaked
// singleton so that nothing touches CUDA during static destruction at process exit.
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>

#include "kernels.cuh"

namespace entrena::cuda {
namespace {

constexpr size_t kSmallLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;  // 2 MiB

size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmallLimit) return (bytes + kSmallRound - 1) / kSmallRound * kSmallRound;
  if (bytes > SIZE_MAX - kLargeRound) return bytes;  // absurd sizes: let cudaMalloc refuse them
  return (bytes + kLargeRound - 1) / kLargeRound * kLargeRound;
}

struct Pool {
  std::mutex mu;
  std::multimap<size_t, void*> cache;        // free blocks by size
  std::unordered_map<void*, size_t> live;    // handed-out blocks and their real size
  int64_t allocated_bytes = 0;
  int64_t cached_bytes = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // intentionally leaked (see the file comment)
  return *p;
}

// Gives every cached block back to the driver. Caller holds the lock. A cached block may still be
// read or written by queued kernels (it was released after they were launched, which is safe for
// reuse on the same stream but not for cudaFree), so the stream is drained first.
Status free_cache_locked(Pool& p) {
  if (p.cache.empty()) return Status::ok;
  ENTRENA_CUDA_TRY(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  Status st = Status::ok;
  for (auto& kv : p.cache) {
    cudaError_t e = cudaFree(kv.second);
    if (e != cudaSuccess && st == Status::ok) st = cuda_error(e, "cudaFree");
  }
  p.cache.clear();
  p.cached_bytes = 0;
  return st;
}

}  // namespace

Status alloc(size_t bytes, void** out) {
  const size_t size = round_size(bytes);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.cache.lower_bound(size);
  if (it != p.cache.end() && (it->first == size || (size > kSmallLimit && it->first <= size + size / 4))) {
    void* ptr = it->second;
    size_t real = it->first;
    p.cache.erase(it);
    p.cached_bytes -= static_cast<int64_t>(real);
    p.live.emplace(ptr, real);
    p.allocated_bytes += static_cast<int64_t>(real);
    *out = ptr;
    return Status::ok;
  }
  void* ptr = nullptr;
  cudaError_t e = cudaMalloc(&ptr, size);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the (non-sticky) error before retrying
    ENTRENA_TRY(free_cache_locked(p));
    e = cudaMalloc(&ptr, size);
  }
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    return set_error(Status::out_of_memory,
                     "CUDA out of memory: tried to allocate %zu bytes (%lld bytes allocated by entrena, "
                     "%zu free of %zu on the device)",
                     bytes, static_cast<long long>(p.allocated_bytes), free_b, total_b);
  }
  if (e != cudaSuccess) return cuda_error(e, "cudaMalloc");
  p.live.emplace(ptr, size);
  p.allocated_bytes += static_cast<int64_t>(size);
  *out = ptr;
  return Status::ok;
}

Status release(void* ptr, size_t) {
  if (!ptr) return Status::ok;
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.live.find(ptr);
  if (it == p.live.end()) return set_error(Status::internal, "release of a CUDA pointer this allocator did not hand out");
  size_t real = it->second;
  p.live.erase(it);
  p.allocated_bytes -= static_cast<int64_t>(real);
  p.cache.emplace(real, ptr);
  p.cached_bytes += static_cast<int64_t>(real);
  return Status::ok;
}

Status empty_cache() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  return free_cache_locked(p);
}

Status memory_info(int64_t* allocated, int64_t* cached, int64_t* free_bytes, int64_t* total_bytes) {
  size_t free_b = 0, total_b = 0;
  ENTRENA_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mu);
  *allocated = p.allocated_bytes;
  *cached = p.cached_bytes;
  *free_bytes = static_cast<int64_t>(free_b);
  *total_bytes = static_cast<int64_t>(total_b);
  return Status::ok;
}

// Host → device. The source is pageable JavaScript memory: cudaMemcpyAsync from pageable memory
// returns once the bytes are staged, so the caller may reuse its buffer immediately while the
// copy stays ordered with the kernels on the stream.
Status copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return Status::ok;
  ENTRENA_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync (host to device)");
  return Status::ok;
}

// Device → host: the point where queued work is waited for (reading values synchronises).
Status copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return synchronize();
  ENTRENA_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync (device to host)");
  ENTRENA_CUDA_TRY(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  return Status::ok;
}

Status synchronize() {
  ENTRENA_CUDA_TRY(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  return Status::ok;
}

}  // namespace entrena::cuda
