// random.cc — CPU uniform and normal fills from the shared Philox generator (core/philox.h).
// Element i draws word i % 4 of counter group offset + i / 4, so results do not depend on threads.
#include "../core/philox.h"
#include "kernels.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

template <typename T, bool Normal>
void fill_random(int64_t n, T* out, uint64_t seed, uint64_t offset, double a, double b) {
  parallel_for(n, 65536, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      uint64_t group = offset + static_cast<uint64_t>(i) / 4;
      int k = static_cast<int>(i % 4);
      if (Normal) out[i] = static_cast<T>(a + b * static_cast<double>(philox_normal<T>(seed, group, k)));
      else out[i] = static_cast<T>(a + (b - a) * static_cast<double>(philox_uniform<T>(seed, group, k)));
    }
  });
}

}  // namespace

Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  switch (dt) {
    case DType::f32: fill_random<float, false>(n, static_cast<float*>(out), seed, offset, lo, hi); return Status::ok;
    case DType::f64: fill_random<double, false>(n, static_cast<double*>(out), seed, offset, lo, hi); return Status::ok;
    default: return set_error(Status::dtype, "random_uniform needs a floating dtype, received int32");
  }
}

Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std) {
  switch (dt) {
    case DType::f32: fill_random<float, true>(n, static_cast<float*>(out), seed, offset, mean, std); return Status::ok;
    case DType::f64: fill_random<double, true>(n, static_cast<double*>(out), seed, offset, mean, std); return Status::ok;
    default: return set_error(Status::dtype, "random_normal needs a floating dtype, received int32");
  }
}

}  // namespace entrena::cpu
