// view.h — the backend-independent description of what a kernel reads and writes.
//
// A kernel never sees a JavaScript value: it gets raw pointers, a dtype, a shape and element
// strides. `Iter` describes an elementwise loop over `ndim` dimensions of `shape` with up to
// four operands (operand 0 is the output); a broadcast input has stride 0 along the broadcast
// dimensions. All strides count elements, not bytes.
#pragma once
#include <cstdint>
#include <cstddef>
#include <climits>

#if defined(__CUDACC__)
#define ENTRENA_HD __host__ __device__ __forceinline__
#else
#define ENTRENA_HD inline
#endif

namespace entrena {

constexpr int kMaxDims = 8;
constexpr int kMaxOperands = 4;

// bf16 and f16 are storage types (core/half.h): kernels convert them to float32 to compute.
enum class DType : int32_t { f32 = 0, f64 = 1, i32 = 2, bf16 = 3, f16 = 4 };
enum class Device : int32_t { cpu = 0, cuda = 1 };

inline size_t dtype_size(DType d) { return d == DType::f64 ? 8 : d == DType::bf16 || d == DType::f16 ? 2 : 4; }
inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::bf16: return "bfloat16";
    case DType::f16: return "float16";
  }
  return "unknown";
}
inline bool dtype_valid(int64_t d) { return d >= 0 && d <= 4; }

struct Iter {
  int ndim = 0;                                  // 0 means a single element (a scalar)
  int64_t shape[kMaxDims] = {0};
  int nops = 0;                                  // operands, output first
  void* data[kMaxOperands] = {nullptr};          // already offset to the first element
  int64_t strides[kMaxOperands][kMaxDims] = {{0}};

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
  }
  // A copy with coalesce() applied.
  Iter coalesced() const {
    Iter c = *this;
    c.coalesce();
    return c;
  }
  // Merges adjacent dimensions that every operand walks contiguously, and drops size-1
  // dimensions, so that a contiguous tensor becomes one flat loop whatever its rank.
  void coalesce() {
    int out = 0;
    for (int d = 0; d < ndim; ++d) {
      if (shape[d] == 1) continue;
      if (out > 0) {
        bool mergeable = true;
        for (int o = 0; o < nops; ++o)
          if (strides[o][out - 1] != strides[o][d] * shape[d]) { mergeable = false; break; }
        if (mergeable) {
          shape[out - 1] *= shape[d];
          for (int o = 0; o < nops; ++o) strides[o][out - 1] = strides[o][d];
          continue;
        }
      }
      shape[out] = shape[d];
      for (int o = 0; o < nops; ++o) strides[o][out] = strides[o][d];
      ++out;
    }
    ndim = out;
  }
  // True when the loop is one flat run where each operand has stride 1 or 0 (a scalar).
  bool is_flat() const {
    if (ndim > 1) return false;
    if (ndim == 0) return true;
    for (int o = 0; o < nops; ++o)
      if (strides[o][0] != 1 && strides[o][0] != 0) return false;
    return true;
  }
};

// Value conversion between element types. Floating point to int32 saturates (NaN becomes 0):
// a plain static_cast of NaN, ±∞ or an out-of-range value is undefined behaviour in C++.
template <typename Out, typename In> ENTRENA_HD Out convert(In v) { return static_cast<Out>(v); }
template <> ENTRENA_HD int32_t convert<int32_t, float>(float v) {
  return v != v ? 0 : v <= -2147483648.0f ? INT32_MIN : v >= 2147483647.0f ? INT32_MAX : static_cast<int32_t>(v);
}
template <> ENTRENA_HD int32_t convert<int32_t, double>(double v) {
  return v != v ? 0 : v <= -2147483648.0 ? INT32_MIN : v >= 2147483647.0 ? INT32_MAX : static_cast<int32_t>(v);
}

}  // namespace entrena
