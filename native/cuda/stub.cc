// stub.cc — the CUDA entry points of a build without CUDA (DESIGN principle 9).
// Every CUDA call answers ERR_NOT_COMPILED_WITH_CUDA; cuda.isAvailable() is false.
#include "../core/backend.h"

namespace entrena {

const Backend* cuda_backend() {
  set_error(Status::not_compiled_with_cuda,
            "entrena was built without CUDA; rebuild with `npm run build:cuda` on a machine with nvcc");
  return nullptr;
}
bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
Status cuda_memory_info(int64_t*, int64_t*, int64_t*, int64_t*) {
  return set_error(Status::not_compiled_with_cuda, "entrena was built without CUDA");
}
void* cuda_stream() { return nullptr; }
Status cuda_empty_cache() { return set_error(Status::not_compiled_with_cuda, "entrena was built without CUDA"); }

}  // namespace entrena
