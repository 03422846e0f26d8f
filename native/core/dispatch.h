// dispatch.h — the one switch from a run-time DType to the C++ element type, shared by every kernel
// family of every backend (cpu/*.cc, cuda/*.cu host code).
//
//   return visit_dtype(dt, [&](auto tag) { using T = decltype(tag); return kernel<T>(...); });
//
// f is called with a value of type float, double or int32_t and returns a Status; an unknown dtype
// (a corrupted enum from the binding) becomes Status::dtype instead of undefined behaviour. The
// 16-bit storage types (bfloat16, float16) are Status::dtype here: the compute kernels see float32
// copies (the TypeScript door converts, computes and rounds once). visit_dtype_all adds them
// (bf16_t, f16_t of core/half.h) for the kernels that move or convert values: cast, fill.
#pragma once
#include <cstdint>

#include "status.h"
#include "half.h"
#include "view.h"

namespace entrena {

template <typename F>
inline Status visit_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i32: return f(int32_t{});
    case DType::bf16:
    case DType::f16:
      return set_error(Status::dtype, "this kernel computes in float32, float64 or int32, not %s (convert first)", dtype_name(dt));
  }
  return set_error(Status::dtype, "unknown dtype %d", static_cast<int>(dt));
}

template <typename F>
inline Status visit_dtype_all(DType dt, F&& f) {
  switch (dt) {
    case DType::bf16: return f(bf16_t{});
    case DType::f16: return f(f16_t{});
    default: return visit_dtype(dt, static_cast<F&&>(f));
  }
}

}  // namespace entrena
