// backend.cu — the CUDA kernel table (see core/backend.h), device start-up and the cuda_* entry
// points the binding calls. The CPU-only build links native/cuda/stub.cc instead of this folder.
//
// Start-up never aborts: on a machine without a driver or GPU, cudaGetDeviceCount fails (or says
// 0) and cuda_backend() returns null with a Status::cuda message "no CUDA device available: ...",
// so the addon loads and cuda.isAvailable() is false. cudart is linked statically and finds the
// driver (libcuda.so) at run time, so the same binary runs with or without one.
#include <cstdio>
#include <cstring>

#include "kernels.cuh"

namespace entrena::cuda {
namespace {

struct DeviceState {
  bool ok = false;
  char message[400] = {0};
  cudaStream_t stream = nullptr;
};

DeviceState start() {
  DeviceState st;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    std::snprintf(st.message, sizeof st.message, "no CUDA device available: %s", cudaGetErrorString(e));
    return st;
  }
  if (count == 0) {
    std::snprintf(st.message, sizeof st.message, "no CUDA device available: the driver reports 0 devices");
    return st;
  }
  e = cudaSetDevice(0);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&st.stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    cudaGetLastError();
    std::snprintf(st.message, sizeof st.message, "CUDA device 0 could not be started: %s", cudaGetErrorString(e));
    return st;
  }
  st.ok = true;
  return st;
}

const DeviceState& device_state() {
  static const DeviceState st = start();  // thread-safe one-time start-up
  return st;
}

Backend make_backend() {
  Backend b{};
  b.name = "cuda";
  b.alloc = alloc;
  b.release = release;
  b.copy_from_host = copy_from_host;
  b.copy_to_host = copy_to_host;
  b.synchronize = synchronize;
#define ENTRENA_SET_KERNEL(name, params) b.name = name;
  ENTRENA_KERNELS(ENTRENA_SET_KERNEL)
#undef ENTRENA_SET_KERNEL
  return b;
}

}  // namespace

cudaStream_t stream() { return device_state().stream; }

Status cuda_error(cudaError_t e, const char* what) {
  cudaGetLastError();  // a non-sticky error must not resurface at the next, unrelated check
  return set_error(Status::cuda, "CUDA error in %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

}  // namespace entrena::cuda

namespace entrena {

const Backend* cuda_backend() {
  const cuda::DeviceState& st = cuda::device_state();
  if (!st.ok) {
    // The message buffer is thread-local, so it is set again on every failing call.
    set_error(Status::cuda, "%s", st.message);
    return nullptr;
  }
  static const Backend b = cuda::make_backend();
  return &b;
}

bool cuda_compiled() { return true; }

int cuda_device_count() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

Status cuda_memory_info(int64_t* allocated, int64_t* cached, int64_t* free_bytes, int64_t* total_bytes) {
  if (!cuda_backend()) return Status::cuda;
  return cuda::memory_info(allocated, cached, free_bytes, total_bytes);
}

Status cuda_empty_cache() {
  if (!cuda_backend()) return Status::cuda;
  return cuda::empty_cache();
}

void* cuda_stream() { return cuda_backend() ? static_cast<void*>(cuda::stream()) : nullptr; }

}  // namespace entrena
