// random.cu — CUDA uniform and normal fills from the shared Philox generator (core/philox.h).
//
// Element i draws word i % 4 of counter group offset + i / 4, exactly as native/cpu/random.cc, so
// a seeded tensor holds the same numbers on both devices: bit for bit for uniforms, and for normals
// up to the last-ulp differences of the device's log/sin/cos (float results almost always match
// exactly; double ones to ~1e-15). One thread per counter group writes the group's (up to) four
// elements, so each Philox block is computed once per thread (the compiler shares it between the
// four calls). The final affine step is written with explicitly rounded operations (__dmul_rn,
// __dadd_rn) so that nvcc's FMA contraction cannot make it differ from the host's a + b·u.
#include "../core/philox.h"
#include "kernels.cuh"

namespace entrena::cuda {
namespace {

template <typename T, bool Normal>
__global__ void random_kernel(int64_t n, T* __restrict__ out, uint64_t seed, uint64_t offset, double a, double b) {
  const int64_t groups = (n + 3) / 4;
  const double scale = Normal ? b : __dadd_rn(b, -a);  // normal: std; uniform: hi − lo
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups;
       g += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const uint64_t group = offset + static_cast<uint64_t>(g);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int64_t i = g * 4 + k;
      if (i < n) {
        const double u = Normal ? static_cast<double>(philox_normal<T>(seed, group, k))
                                : static_cast<double>(philox_uniform<T>(seed, group, k));
        out[i] = static_cast<T>(__dadd_rn(a, __dmul_rn(scale, u)));
      }
    }
  }
}

template <bool Normal>
Status fill(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double a, double b, const char* name) {
  if (n == 0) return Status::ok;
  const int64_t groups = (n + 3) / 4;
  switch (dt) {
    case DType::f32:
      random_kernel<float, Normal><<<grid_for(groups), kThreads, 0, stream()>>>(n, static_cast<float*>(out), seed, offset, a, b);
      return check_launch(name);
    case DType::f64:
      random_kernel<double, Normal><<<grid_for(groups), kThreads, 0, stream()>>>(n, static_cast<double*>(out), seed, offset, a, b);
      return check_launch(name);
    default: return set_error(Status::dtype, "%s needs float32 or float64, received %s", name, dtype_name(dt));
  }
}

}  // namespace

Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi) {
  return fill<false>(dt, n, out, seed, offset, lo, hi, "random_uniform");
}

Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std) {
  return fill<true>(dt, n, out, seed, offset, mean, std, "random_normal");
}

}  // namespace entrena::cuda
