// elementwise.cu — the CUDA broadcast driver for every elementwise op (DESIGN principle 4).
//
// The scalar functors are the expressions of native/core/ops.h, turned into device functor
// structs by the same X-macros the CPU driver (native/cpu/elementwise.cc) expands, for float,
// double and int32 — so an op added to the table is compiled here without touching this file.
// (ops.h calls std::exp & co.; CUDA provides their device overloads for float and double, and
// --expt-relaxed-constexpr lets the int32 instantiations use libstdc++'s integer overloads, which
// compute in double exactly as on the host.)
//
// Shape legend: an Iter of `ndim` ≤ 8 dims with operand 0 the output; broadcast inputs have
// stride 0. The host side coalesces the Iter first (core/view.h). Two kernels per functor:
//   *_flat:    one run where the output has stride 1 and each input stride 1 or 0 (contiguous and
//              scalar-broadcast operands — the common case), a plain grid-stride loop;
//   *_strided: anything else; each thread turns its linear index into per-operand offsets with the
//              dims stored innermost-first (so the unrolled loop indexes registers, not local
//              memory), in 32-bit arithmetic when the element count allows.
// All launches are grid-stride loops on the process stream.
// cast and fill also take the 16-bit storage types (bfloat16, float16): they convert through
// core/half.h's integer-only convert_any, so a CUDA cast gives the CPU cast's bits exactly (NaN,
// ±Inf, subnormals and overflow included); the compute functors stay float32/float64/int32.
#include "kernels.cuh"
#include "../core/dispatch.h"

namespace entrena::cuda {
namespace {

// ---- iteration space ---------------------------------------------------------------------------

template <int N>
struct Walk {
  int ndim;                          // after coalescing
  int64_t shape[kMaxDims];           // innermost first
  int64_t stride[kMaxDims][N];       // innermost first, per operand
};

template <int N>
Walk<N> make_walk(const Iter& it) {
  Walk<N> w{};
  w.ndim = it.ndim;
  for (int j = 0; j < it.ndim; ++j) {
    int d = it.ndim - 1 - j;
    w.shape[j] = it.shape[d];
    for (int o = 0; o < N; ++o) w.stride[j][o] = it.strides[o][d];
  }
  return w;
}

template <int N, typename Index>
__device__ __forceinline__ void offsets_of(const Walk<N>& w, Index linear, int64_t (&off)[N]) {
#pragma unroll
  for (int o = 0; o < N; ++o) off[o] = 0;
#pragma unroll
  for (int j = 0; j < kMaxDims; ++j) {
    if (j >= w.ndim) break;
    const Index s = static_cast<Index>(w.shape[j]);
    const Index q = linear / s;
    const Index idx = linear - q * s;
    linear = q;
#pragma unroll
    for (int o = 0; o < N; ++o) off[o] += static_cast<int64_t>(idx) * w.stride[j][o];
  }
}

// Calls body(offsets) for every element of the space, grid-stride.
template <int N, typename Body>
__device__ __forceinline__ void for_each_strided(const Walk<N>& w, int64_t n, Body body) {
  int64_t off[N];
  if (n <= INT32_MAX) {
    const uint32_t step = blockDim.x * gridDim.x;
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < static_cast<uint32_t>(n); i += step) {
      offsets_of<N, uint32_t>(w, i, off);
      body(off);
    }
  } else {
    const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
      offsets_of<N, int64_t>(w, i, off);
      body(off);
    }
  }
}

#define ENTRENA_GRID_STRIDE(i, n)                                                              \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);       \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Flat when, after coalescing, the output walks with stride 1 and every input with 1 or 0.
bool flat_layout(const Iter& it) {
  if (!it.is_flat()) return false;
  return it.ndim == 0 || it.strides[0][0] == 1;
}
inline int64_t flat_stride(const Iter& it, int o) { return it.ndim == 0 ? 0 : it.strides[o][0]; }

// ---- functors from the op table -----------------------------------------------------------------

#define ENTRENA_UNARY_FUNCTOR(name, id, expr)                                       \
  template <typename T>                                                             \
  struct Unary_##name {                                                             \
    double p0, p1;                                                                  \
    __device__ __forceinline__ T operator()(T a) const {                            \
      (void)p0; (void)p1;                                                           \
      return static_cast<T>(expr);                                                  \
    }                                                                               \
  };
ENTRENA_UNARY_OPS(ENTRENA_UNARY_FUNCTOR)
#undef ENTRENA_UNARY_FUNCTOR

#define ENTRENA_BINARY_FUNCTOR(name, id, expr)                                      \
  template <typename T>                                                             \
  struct Binary_##name {                                                            \
    double p0, p1;                                                                  \
    __device__ __forceinline__ T operator()(T a, T b) const {                       \
      (void)p0; (void)p1;                                                           \
      return static_cast<T>(expr);                                                  \
    }                                                                               \
  };
ENTRENA_BINARY_OPS(ENTRENA_BINARY_FUNCTOR)
#undef ENTRENA_BINARY_FUNCTOR

// ---- kernels ----------------------------------------------------------------------------------

template <typename T, typename F>
__global__ void unary_flat(F f, T* __restrict__ out, const T* __restrict__ a, int64_t sa, int64_t n) {
  ENTRENA_GRID_STRIDE(i, n) out[i] = f(a[i * sa]);
}

template <typename T, typename F>
__global__ void unary_strided(F f, Walk<2> w, T* out, const T* a, int64_t n) {
  for_each_strided<2>(w, n, [&](const int64_t (&off)[2]) { out[off[0]] = f(a[off[1]]); });
}

template <typename T, typename F>
__global__ void binary_flat(F f, T* __restrict__ out, const T* __restrict__ a, int64_t sa,
                            const T* __restrict__ b, int64_t sb, int64_t n) {
  ENTRENA_GRID_STRIDE(i, n) out[i] = f(a[i * sa], b[i * sb]);
}

template <typename T, typename F>
__global__ void binary_strided(F f, Walk<3> w, T* out, const T* a, const T* b, int64_t n) {
  for_each_strided<3>(w, n, [&](const int64_t (&off)[3]) { out[off[0]] = f(a[off[1]], b[off[2]]); });
}

template <typename T, typename C>
__global__ void where_kernel(Walk<4> w, T* out, const C* c, const T* a, const T* b, int64_t n) {
  for_each_strided<4>(w, n, [&](const int64_t (&off)[4]) {
    out[off[0]] = c[off[1]] != C(0) ? a[off[2]] : b[off[3]];
  });
}

template <typename Out, typename In>
__global__ void cast_flat(Out* __restrict__ out, const In* __restrict__ a, int64_t sa, int64_t n) {
  ENTRENA_GRID_STRIDE(i, n) out[i] = convert_any<Out, In>(a[i * sa]);
}

template <typename Out, typename In>
__global__ void cast_strided(Walk<2> w, Out* out, const In* a, int64_t n) {
  for_each_strided<2>(w, n, [&](const int64_t (&off)[2]) { out[off[0]] = convert_any<Out, In>(a[off[1]]); });
}

template <typename T>
__global__ void fill_flat(T* __restrict__ out, T v, int64_t n) {
  ENTRENA_GRID_STRIDE(i, n) out[i] = v;
}

template <typename T>
__global__ void fill_strided(Walk<1> w, T* out, T v, int64_t n) {
  for_each_strided<1>(w, n, [&](const int64_t (&off)[1]) { out[off[0]] = v; });
}

// ---- host-side launchers ------------------------------------------------------------------------

template <typename T, typename F>
Status launch_unary(F f, const Iter& it) {
  const int64_t n = it.numel();
  if (n == 0) return Status::ok;
  T* out = static_cast<T*>(it.data[0]);
  const T* a = static_cast<const T*>(it.data[1]);
  if (flat_layout(it)) unary_flat<T, F><<<grid_for(n), kThreads, 0, stream()>>>(f, out, a, flat_stride(it, 1), n);
  else unary_strided<T, F><<<grid_for(n), kThreads, 0, stream()>>>(f, make_walk<2>(it), out, a, n);
  return check_launch("unary kernel");
}

template <typename T, typename F>
Status launch_binary(F f, const Iter& it) {
  const int64_t n = it.numel();
  if (n == 0) return Status::ok;
  T* out = static_cast<T*>(it.data[0]);
  const T* a = static_cast<const T*>(it.data[1]);
  const T* b = static_cast<const T*>(it.data[2]);
  if (flat_layout(it))
    binary_flat<T, F><<<grid_for(n), kThreads, 0, stream()>>>(f, out, a, flat_stride(it, 1), b, flat_stride(it, 2), n);
  else binary_strided<T, F><<<grid_for(n), kThreads, 0, stream()>>>(f, make_walk<3>(it), out, a, b, n);
  return check_launch("binary kernel");
}

template <typename T>
Status unary_typed(UnaryOp op, const Iter& it, double p0, double p1) {
  switch (op) {
#define ENTRENA_CASE(name, id, expr) \
    case UnaryOp::name: return launch_unary<T>(Unary_##name<T>{p0, p1}, it);
    ENTRENA_UNARY_OPS(ENTRENA_CASE)
#undef ENTRENA_CASE
  }
  return set_error(Status::invalid_argument, "unknown unary op %d", static_cast<int>(op));
}

template <typename T>
Status binary_typed(BinaryOp op, const Iter& it, double p0, double p1) {
  switch (op) {
#define ENTRENA_CASE(name, id, expr) \
    case BinaryOp::name: return launch_binary<T>(Binary_##name<T>{p0, p1}, it);
    ENTRENA_BINARY_OPS(ENTRENA_CASE)
#undef ENTRENA_CASE
  }
  return set_error(Status::invalid_argument, "unknown binary op %d", static_cast<int>(op));
}

template <typename Out, typename In>
Status launch_cast(const Iter& it) {
  const int64_t n = it.numel();
  if (n == 0) return Status::ok;
  Out* out = static_cast<Out*>(it.data[0]);
  const In* a = static_cast<const In*>(it.data[1]);
  if (flat_layout(it)) cast_flat<Out, In><<<grid_for(n), kThreads, 0, stream()>>>(out, a, flat_stride(it, 1), n);
  else cast_strided<Out, In><<<grid_for(n), kThreads, 0, stream()>>>(make_walk<2>(it), out, a, n);
  return check_launch("cast kernel");
}

template <typename Out>
Status cast_from(DType in_dt, const Iter& it) {
  return visit_dtype_all(in_dt, [&](auto tag) {
    using In = decltype(tag);
    return launch_cast<Out, In>(it);
  });
}

template <typename T, typename C>
Status launch_where(const Iter& it) {
  const int64_t n = it.numel();
  if (n == 0) return Status::ok;
  where_kernel<T, C><<<grid_for(n), kThreads, 0, stream()>>>(
      make_walk<4>(it), static_cast<T*>(it.data[0]), static_cast<const C*>(it.data[1]),
      static_cast<const T*>(it.data[2]), static_cast<const T*>(it.data[3]), n);
  return check_launch("where kernel");
}

template <typename T>
Status where_typed(DType cond_dt, const Iter& it) {
  return visit_dtype(cond_dt, [&](auto tag) {
    using C = decltype(tag);
    return launch_where<T, C>(it);
  });
}

template <typename T>
Status launch_fill(const Iter& it, double value) {
  const int64_t n = it.numel();
  if (n == 0) return Status::ok;
  const T v = convert_any<T, double>(value);
  T* out = static_cast<T*>(it.data[0]);
  if (flat_layout(it)) fill_flat<T><<<grid_for(n), kThreads, 0, stream()>>>(out, v, n);
  else fill_strided<T><<<grid_for(n), kThreads, 0, stream()>>>(make_walk<1>(it), out, v, n);
  return check_launch("fill kernel");
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
    return launch_fill<T>(c, value);
  });
}

}  // namespace entrena::cuda
