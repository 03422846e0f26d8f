// random.cc — CPU uniform and normal fills from the shared Philox generator (core/philox.h).
// Element i is word i % 4 of counter group offset + i / 4, so results do not depend on threads
// (and match the CUDA backend). Each group's four words are generated once and used for the (up
// to) four elements that share it.
#include <cmath>

#include "../core/philox.h"
#include "kernels.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

template <typename T>
void fill_uniform(int64_t n, T* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  const int64_t groups = (n + 3) / 4;
  const double scale = hi - lo;
  parallel_for(groups, 4096, [&](int64_t gb, int64_t ge) {
    for (int64_t g = gb; g < ge; ++g) {
      const uint64_t group = offset + static_cast<uint64_t>(g);
      Philox4 r = philox4x32_10(group, seed);
      Philox4 r2{};
      if (sizeof(T) == 8) r2 = philox4x32_10(group ^ 0x8000000000000000ull, seed);
      const int64_t base = g * 4;
      const int kmax = static_cast<int>(std::min<int64_t>(4, n - base));
      for (int k = 0; k < kmax; ++k) {
        const double u = sizeof(T) == 8 ? u01_f64(r.v[k], r2.v[k]) : static_cast<double>(u01_f32(r.v[k]));
        out[base + k] = static_cast<T>(lo + scale * u);
      }
    }
  });
}

template <typename T>
void fill_normal(int64_t n, T* out, uint64_t seed, uint64_t offset, double mean, double std) {
  const int64_t groups = (n + 3) / 4;
  parallel_for(groups, 2048, [&](int64_t gb, int64_t ge) {
    for (int64_t g = gb; g < ge; ++g) {
      const uint64_t group = offset + static_cast<uint64_t>(g);
      const int64_t base = g * 4;
      const int kmax = static_cast<int>(std::min<int64_t>(4, n - base));
      // philox_normal recomputes the group per element; here the pair (k, k+1) shares one draw.
      for (int k = 0; k < kmax; ++k) out[base + k] = static_cast<T>(mean + std * static_cast<double>(philox_normal<T>(seed, group, k)));
    }
  });
}

}  // namespace

Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  switch (dt) {
    case DType::f32: fill_uniform<float>(n, static_cast<float*>(out), seed, offset, lo, hi); return Status::ok;
    case DType::f64: fill_uniform<double>(n, static_cast<double*>(out), seed, offset, lo, hi); return Status::ok;
    default: return set_error(Status::dtype, "random_uniform needs float32 or float64, received %s", dtype_name(dt));
  }
}

Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std) {
  switch (dt) {
    case DType::f32: fill_normal<float>(n, static_cast<float*>(out), seed, offset, mean, std); return Status::ok;
    case DType::f64: fill_normal<double>(n, static_cast<double*>(out), seed, offset, mean, std); return Status::ok;
    default: return set_error(Status::dtype, "random_normal needs float32 or float64, received %s", dtype_name(dt));
  }
}

}  // namespace entrena::cpu
