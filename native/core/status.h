// status.h — status codes that cross the native boundary.
//
// Native code never throws across the N-API boundary and never aborts: every kernel entry returns a
// Status. On failure it also leaves a human-readable message in a thread-local buffer
// (set_error), which the binding turns into a JavaScript error whose `code` is status_code_name().
#pragma once
#include <cstdarg>
#include <cstdio>

namespace entrena {

enum class Status : int {
  ok = 0,
  shape,                 // ERR_SHAPE
  dtype,                 // ERR_DTYPE
  device,                // ERR_DEVICE
  index,                 // ERR_INDEX: an index out of range
  out_of_memory,         // ERR_OUT_OF_MEMORY
  cuda,                  // ERR_CUDA: a CUDA runtime failure
  not_compiled_with_cuda,// ERR_NOT_COMPILED_WITH_CUDA
  kernel_not_available,  // ERR_KERNEL_NOT_AVAILABLE
  invalid_argument,      // ERR_INVALID_ARGUMENT
  disposed,              // ERR_DISPOSED
  internal,              // ERR_INTERNAL
};

inline const char* status_code_name(Status s) {
  switch (s) {
    case Status::ok: return "OK";
    case Status::shape: return "ERR_SHAPE";
    case Status::dtype: return "ERR_DTYPE";
    case Status::device: return "ERR_DEVICE";
    case Status::index: return "ERR_INDEX";
    case Status::out_of_memory: return "ERR_OUT_OF_MEMORY";
    case Status::cuda: return "ERR_CUDA";
    case Status::not_compiled_with_cuda: return "ERR_NOT_COMPILED_WITH_CUDA";
    case Status::kernel_not_available: return "ERR_KERNEL_NOT_AVAILABLE";
    case Status::invalid_argument: return "ERR_INVALID_ARGUMENT";
    case Status::disposed: return "ERR_DISPOSED";
    case Status::internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

// The message of the last failure on this thread.
const char* last_error_message();
// Records a printf-style message and returns `s`, so that kernels can write
// `return set_error(Status::index, "index %lld out of range", i);`.
Status set_error(Status s, const char* fmt, ...);

#define ENTRENA_TRY(expr)                               \
  do {                                                  \
    ::entrena::Status _st = (expr);                     \
    if (_st != ::entrena::Status::ok) return _st;       \
  } while (0)

}  // namespace entrena
