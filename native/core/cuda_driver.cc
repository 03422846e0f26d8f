// cuda_driver.cc — the driver probe of cuda_driver.h: dlopen the NVIDIA driver, cuDriverGetVersion,
// cuInit, cuDeviceGetCount. The driver API's result codes are plain ints here (CUresult): 0 is
// CUDA_SUCCESS, 100 CUDA_ERROR_NO_DEVICE, 35 CUDA_ERROR_INSUFFICIENT_DRIVER, 999 CUDA_ERROR_UNKNOWN.
#include "cuda_driver.h"

#include <cstdio>
#include <cstring>

#if defined(_WIN32)
#include <windows.h>
#elif defined(__linux__)
#include <dlfcn.h>
#endif

namespace entrena {
namespace {

using InitFn = int (*)(unsigned int);
using IntOutFn = int (*)(int*);
using ErrorNameFn = int (*)(int, const char**);

CudaDriverProbe probe() {
  CudaDriverProbe p;
#if defined(_WIN32) || defined(__linux__)
#if defined(_WIN32)
  const char* name = "nvcuda.dll";
  HMODULE lib = LoadLibraryA(name);
  if (!lib) {
    std::snprintf(p.error, sizeof p.error, "%s could not be loaded (Windows error %lu)", name, GetLastError());
    return p;
  }
  auto sym = [&](const char* s) { return reinterpret_cast<void*>(GetProcAddress(lib, s)); };
#else
  const char* name = "libcuda.so.1";
  void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    std::snprintf(p.error, sizeof p.error, "%s", e ? e : "libcuda.so.1: cannot be opened");
    return p;
  }
  auto sym = [&](const char* s) { return dlsym(lib, s); };
#endif
  p.loaded = true;
  std::snprintf(p.library, sizeof p.library, "%s", name);
  auto init = reinterpret_cast<InitFn>(sym("cuInit"));
  auto get_version = reinterpret_cast<IntOutFn>(sym("cuDriverGetVersion"));
  auto get_count = reinterpret_cast<IntOutFn>(sym("cuDeviceGetCount"));
  auto error_name = reinterpret_cast<ErrorNameFn>(sym("cuGetErrorName"));
  if (!init || !get_version || !get_count) {
    std::snprintf(p.error, sizeof p.error, "%s lacks cuInit/cuDriverGetVersion/cuDeviceGetCount", name);
    return p;
  }
  if (get_version(&p.driver_version) != 0) p.driver_version = 0;
  p.init_result = init(0);
  if (p.init_result != 0) {
    const char* n = nullptr;
    if (error_name && error_name(p.init_result, &n) == 0 && n) std::snprintf(p.init_error, sizeof p.init_error, "%s", n);
    std::snprintf(p.error, sizeof p.error, "cuInit failed with %d%s%s%s", p.init_result, p.init_error[0] ? " (" : "",
                  p.init_error, p.init_error[0] ? ")" : "");
    return p;
  }
  if (get_count(&p.device_count) != 0) p.device_count = 0;
#else
  std::snprintf(p.error, sizeof p.error, "CUDA has no driver on this operating system");
#endif
  return p;
}

}  // namespace

const CudaDriverProbe& cuda_driver_probe() {
  static const CudaDriverProbe p = probe();  // thread-safe one-time probe
  return p;
}

}  // namespace entrena
