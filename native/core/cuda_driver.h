// cuda_driver.h — asks the NVIDIA driver whether a CUDA build of entrena can run on this machine.
//
// Backend-independent on purpose: it is compiled into the CPU build too, so the loader
// (lib/ts/loader.ts) and `entrena info` can say exactly why a CUDA package was not used (no driver,
// a driver too old for the package's CUDA major, no GPU) without loading any CUDA code. The driver
// library (libcuda.so.1, nvcuda.dll) is opened with dlopen/LoadLibrary and three entry points of the
// driver API are looked up by name, so no CUDA header or library is needed to build this file.
#pragma once

namespace entrena {

struct CudaDriverProbe {
  bool loaded = false;          // the driver library was found and opened
  char library[64] = {0};       // its name as opened ("libcuda.so.1")
  char error[400] = {0};        // why it was not (the loader's message), or why cuInit failed
  int init_result = -1;         // cuInit(0): 0 = CUDA_SUCCESS, 100 = CUDA_ERROR_NO_DEVICE, ...
  char init_error[64] = {0};    // cuGetErrorName(init_result), when the driver provides it
  int driver_version = 0;       // cuDriverGetVersion: the newest CUDA it supports, 1000·major + 10·minor
  int device_count = 0;         // cuDeviceGetCount, 0 when cuInit failed
};

// Probes once per process (later calls return the first answer). Never aborts; a missing driver is
// an answer (loaded = false), not an error. The library stays open: CUDA code loaded later uses it.
const CudaDriverProbe& cuda_driver_probe();

}  // namespace entrena
