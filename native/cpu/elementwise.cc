// elementwise.cc — the CPU broadcast driver for every elementwise op (DESIGN principle 4).
//
// Each op is a functor from native/core/ops.h; this file holds the one loop that applies it.
// Shape legend: an Iter of `ndim` dims with operand 0 the output; broadcast inputs carry stride 0.
// The driver coalesces dimensions first, so contiguous (and scalar-broadcast) operands take a flat
// loop the compiler vectorises; anything else walks the last dimension with explicit strides.
// Work is split across the thread pool only above kParallelGrain elements, where the wake-up cost
// (a few µs) is small against the loop.
#include <cstring>

#include "../core/backend.h"
#include "../core/dispatch.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

constexpr int64_t kParallelGrain = 32768;

// Walks elements [begin, end) of the iteration space, calling body(offsets) with each operand's
// element offset; the innermost dimension is a tight loop handed to `row`.
template <int N, typename Row>
void walk(const Iter& it, int64_t begin, int64_t end, Row row) {
  const int nd = it.ndim;
  if (nd == 0) {
    int64_t off[N] = {0};
    row(off, 1, it);
    return;
  }
  const int64_t inner = it.shape[nd - 1];
  int64_t idx[kMaxDims] = {0};
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % it.shape[d];
    rem /= it.shape[d];
  }
  int64_t pos = begin;
  while (pos < end) {
    int64_t off[N];
    for (int o = 0; o < N; ++o) {
      int64_t s = 0;
      for (int d = 0; d < nd; ++d) s += idx[d] * it.strides[o][d];
      off[o] = s;
    }
    int64_t count = std::min(inner - idx[nd - 1], end - pos);
    row(off, count, it);
    pos += count;
    idx[nd - 1] += count;
    for (int d = nd - 1; d > 0 && idx[d] >= it.shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

template <int N, typename Row>
void run(const Iter& it, Row row) {
  int64_t n = it.numel();
  if (n == 0) return;
  parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) { walk<N>(it, b, e, row); });
}

template <typename T, typename F>
void unary_loop(const Iter& it, F f) {
  run<2>(it, [&](const int64_t* off, int64_t count, const Iter& I) {
    T* out = static_cast<T*>(I.data[0]) + off[0];
    const T* a = static_cast<const T*>(I.data[1]) + off[1];
    const int64_t so = I.ndim ? I.strides[0][I.ndim - 1] : 0;
    const int64_t sa = I.ndim ? I.strides[1][I.ndim - 1] : 0;
    if (so == 1 && sa == 1) {
      for (int64_t i = 0; i < count; ++i) out[i] = f(a[i]);
    } else if (so == 1 && sa == 0) {
      const T v = f(a[0]);
      for (int64_t i = 0; i < count; ++i) out[i] = v;
    } else {
      for (int64_t i = 0; i < count; ++i) out[i * so] = f(a[i * sa]);
    }
  });
}

template <typename T, typename F>
void binary_loop(const Iter& it, F f) {
  run<3>(it, [&](const int64_t* off, int64_t count, const Iter& I) {
    T* out = static_cast<T*>(I.data[0]) + off[0];
    const T* a = static_cast<const T*>(I.data[1]) + off[1];
    const T* b = static_cast<const T*>(I.data[2]) + off[2];
    const int64_t so = I.ndim ? I.strides[0][I.ndim - 1] : 0;
    const int64_t sa = I.ndim ? I.strides[1][I.ndim - 1] : 0;
    const int64_t sb = I.ndim ? I.strides[2][I.ndim - 1] : 0;
    if (so == 1 && sa == 1 && sb == 1) {
      for (int64_t i = 0; i < count; ++i) out[i] = f(a[i], b[i]);
    } else if (so == 1 && sa == 1 && sb == 0) {
      const T bv = b[0];
      for (int64_t i = 0; i < count; ++i) out[i] = f(a[i], bv);
    } else if (so == 1 && sa == 0 && sb == 1) {
      const T av = a[0];
      for (int64_t i = 0; i < count; ++i) out[i] = f(av, b[i]);
    } else {
      for (int64_t i = 0; i < count; ++i) out[i * so] = f(a[i * sa], b[i * sb]);
    }
  });
}

template <typename T>
Status unary_typed(UnaryOp op, const Iter& it, double p0, double p1) {
  (void)p0; (void)p1;
  switch (op) {
#define ENTRENA_CASE(name, id, expr) \
    case UnaryOp::name: unary_loop<T>(it, [=](T a) -> T { return static_cast<T>(expr); }); return Status::ok;
    ENTRENA_UNARY_OPS(ENTRENA_CASE)
#undef ENTRENA_CASE
  }
  return set_error(Status::invalid_argument, "unknown unary op %d", static_cast<int>(op));
}

template <typename T>
Status binary_typed(BinaryOp op, const Iter& it, double p0, double p1) {
  (void)p0; (void)p1;
  switch (op) {
#define ENTRENA_CASE(name, id, expr) \
    case BinaryOp::name: binary_loop<T>(it, [=](T a, T b) -> T { return static_cast<T>(expr); }); return Status::ok;
    ENTRENA_BINARY_OPS(ENTRENA_CASE)
#undef ENTRENA_CASE
  }
  return set_error(Status::invalid_argument, "unknown binary op %d", static_cast<int>(op));
}

template <typename Out, typename In>
void cast_loop(const Iter& it) {
  run<2>(it, [&](const int64_t* off, int64_t count, const Iter& I) {
    Out* out = static_cast<Out*>(I.data[0]) + off[0];
    const In* a = static_cast<const In*>(I.data[1]) + off[1];
    const int64_t so = I.ndim ? I.strides[0][I.ndim - 1] : 0;
    const int64_t sa = I.ndim ? I.strides[1][I.ndim - 1] : 0;
    if (so == 1 && sa == 1) {
      for (int64_t i = 0; i < count; ++i) out[i] = convert_any<Out, In>(a[i]);
    } else {
      for (int64_t i = 0; i < count; ++i) out[i * so] = convert_any<Out, In>(a[i * sa]);
    }
  });
}

template <typename Out>
Status cast_from(DType in_dt, const Iter& it) {
  return visit_dtype_all(in_dt, [&](auto tag) {
    using In = decltype(tag);
    cast_loop<Out, In>(it);
    return Status::ok;
  });
}

template <typename T, typename C>
void where_loop(const Iter& it) {
  run<4>(it, [&](const int64_t* off, int64_t count, const Iter& I) {
    T* out = static_cast<T*>(I.data[0]) + off[0];
    const C* c = static_cast<const C*>(I.data[1]) + off[1];
    const T* a = static_cast<const T*>(I.data[2]) + off[2];
    const T* b = static_cast<const T*>(I.data[3]) + off[3];
    const int64_t n = I.ndim - 1;
    const int64_t so = I.ndim ? I.strides[0][n] : 0, sc = I.ndim ? I.strides[1][n] : 0;
    const int64_t sa = I.ndim ? I.strides[2][n] : 0, sb = I.ndim ? I.strides[3][n] : 0;
    for (int64_t i = 0; i < count; ++i) out[i * so] = c[i * sc] != C(0) ? a[i * sa] : b[i * sb];
  });
}

template <typename T>
Status where_typed(DType cond_dt, const Iter& it) {
  return visit_dtype(cond_dt, [&](auto tag) {
    using C = decltype(tag);
    where_loop<T, C>(it);
    return Status::ok;
  });
}

template <typename T>
void fill_loop(const Iter& it, double value) {
  const T v = convert_any<T, double>(value);
  run<1>(it, [&](const int64_t* off, int64_t count, const Iter& I) {
    T* out = static_cast<T*>(I.data[0]) + off[0];
    const int64_t so = I.ndim ? I.strides[0][I.ndim - 1] : 0;
    if (so == 1) {
      for (int64_t i = 0; i < count; ++i) out[i] = v;
    } else {
      for (int64_t i = 0; i < count; ++i) out[i * so] = v;
    }
  });
}

}  // namespace

Status unary(UnaryOp op, DType dt, const Iter& it, double p0, double p1) {
  const Iter c = it.coalesced();
  return visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    return unary_typed<T>(op, c, p0, p1);
  });
}

Status binary(BinaryOp op, DType dt, const Iter& it, double p0, double p1) {
  const Iter c = it.coalesced();
  return visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    return binary_typed<T>(op, c, p0, p1);
  });
}

Status where(DType dt, DType cond_dt, const Iter& it) {
  const Iter c = it.coalesced();
  return visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    return where_typed<T>(cond_dt, c);
  });
}

Status cast(DType out_dt, DType in_dt, const Iter& it) {
  const Iter c = it.coalesced();
  return visit_dtype_all(out_dt, [&](auto tag) {
    using T = decltype(tag);
    return cast_from<T>(in_dt, c);
  });
}

Status fill(DType dt, const Iter& it, double value) {
  const Iter c = it.coalesced();
  return visit_dtype_all(dt, [&](auto tag) {
    using T = decltype(tag);
    fill_loop<T>(c, value);
    return Status::ok;
  });
}

}  // namespace entrena::cpu
