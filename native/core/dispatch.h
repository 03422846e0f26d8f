// dispatch.h — the one switch from a run-time DType to the C++ element type, shared by every kernel
// family of every backend (cpu/*.cc, cuda/*.cu host code).
//
//   return visit_dtype(dt, [&](auto tag) { using T = decltype(tag); return kernel<T>(...); });
//
// f is called with a value of type float, double or int32_t and returns a Status; an unknown dtype
// (a corrupted enum from the binding) becomes Status::dtype instead of undefined behaviour.
#pragma once
#include <cstdint>

#include "status.h"
#include "view.h"

namespace entrena {

template <typename F>
inline Status visit_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i32: return f(int32_t{});
  }
  return set_error(Status::dtype, "unknown dtype %d", static_cast<int>(dt));
}

}  // namespace entrena
