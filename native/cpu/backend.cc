// backend.cc — the CPU kernel table (see core/backend.h) and host memory.
//
// Host buffers are 64-byte aligned so that every AVX-512 load of a fresh tensor is aligned.
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels.h"

namespace entrena::cpu {
namespace {

Status alloc(size_t bytes, void** out) {
  size_t rounded = ((bytes == 0 ? 1 : bytes) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return set_error(Status::out_of_memory, "out of host memory allocating %zu bytes", bytes);
  *out = p;
  return Status::ok;
}
Status release(void* ptr, size_t) {
  std::free(ptr);
  return Status::ok;
}
Status copy_bytes(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
  return Status::ok;
}
Status synchronize() { return Status::ok; }

Backend make_backend() {
  Backend b{};
  b.name = "cpu";
  b.alloc = alloc;
  b.release = release;
  b.copy_from_host = copy_bytes;
  b.copy_to_host = copy_bytes;
  b.synchronize = synchronize;
#define ENTRENA_SET_KERNEL(name, params) b.name = name;
  ENTRENA_KERNELS(ENTRENA_SET_KERNEL)
#undef ENTRENA_SET_KERNEL
  return b;
}

}  // namespace
}  // namespace entrena::cpu

namespace entrena {
const Backend& cpu_backend() {
  static const Backend b = cpu::make_backend();
  return b;
}
}  // namespace entrena
