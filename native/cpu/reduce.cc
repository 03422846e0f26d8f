// reduce.cc — CPU reductions and softmax over the middle axis of a contiguous [outer, n, inner].
//
// Any reduction "along dim d" is this shape: outer = prod(shape[:d]), n = shape[d],
// inner = prod(shape[d+1:]). Numerics: float32 sums accumulate in double (a 1e-4 parity budget
// does not survive naive float accumulation over 10⁶ terms); variance is two-pass (mean first,
// then squared deviations) because the one-pass formula cancels catastrophically. max/min and
// argmax/argmin propagate NaN as PyTorch does (NaN is the maximum and the minimum).
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

template <typename T> using Acc = double;

template <typename T>
void reduce_row(ReduceOp op, const T* x, int64_t n, int64_t stride, double p0, T* out_value, int32_t* out_index) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::mean: {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i * stride]);
      if (op == ReduceOp::mean) s /= static_cast<double>(n);
      *out_value = static_cast<T>(s);
      return;
    }
    case ReduceOp::prod: {
      double s = 1;
      for (int64_t i = 0; i < n; ++i) s *= static_cast<double>(x[i * stride]);
      *out_value = static_cast<T>(s);
      return;
    }
    case ReduceOp::var: {
      double mean = 0;
      for (int64_t i = 0; i < n; ++i) mean += static_cast<double>(x[i * stride]);
      mean /= static_cast<double>(n);
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) {
        double d = static_cast<double>(x[i * stride]) - mean;
        ss += d * d;
      }
      double denom = static_cast<double>(n) - p0;  // p0 = correction (1 for unbiased)
      *out_value = static_cast<T>(denom > 0 ? ss / denom : std::numeric_limits<double>::quiet_NaN());
      return;
    }
    case ReduceOp::max:
    case ReduceOp::min:
    case ReduceOp::argmax:
    case ReduceOp::argmin: {
      const bool want_max = op == ReduceOp::max || op == ReduceOp::argmax;
      T best = x[0];
      int64_t best_i = 0;
      if (!(best != best)) {
        for (int64_t i = 1; i < n; ++i) {
          T v = x[i * stride];
          if (v != v) { best = v; best_i = i; break; }
          if (want_max ? v > best : v < best) { best = v; best_i = i; }
        }
      }
      if (out_value) *out_value = best;
      if (out_index) *out_index = static_cast<int32_t>(best_i);
      return;
    }
  }
}

// Sums and means, the reductions every backward pass runs (bias gradients, batch statistics,
// broadcast gradients). A single running sum is a chain of dependent double additions (4 cycles
// each): 65 536 elements cost ~90 µs whatever the memory does. So:
//  - inner == 1 (reducing the last, contiguous dim): 8 independent partial sums per row, combined
//    at the end;
//  - inner > 1 (reducing a leading dim): a block of up to kCols adjacent outputs at once, each row
//    of the input added into a vector of double accumulators (contiguous loads, no chain).
// Still double accumulation, so float32 sums keep their 1e-4 budget; the order of the additions
// differs from a serial loop by the usual rounding only.
constexpr int64_t kCols = 256;

template <typename T>
double sum_contiguous(const T* x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += static_cast<double>(x[i + k]);
  double t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) t += static_cast<double>(x[i]);
  return t;
}

template <typename T>
void sum_typed(bool mean, int64_t outer, int64_t n, int64_t inner, const T* in, T* out) {
  const double scale = mean ? 1.0 / static_cast<double>(n) : 1.0;
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = static_cast<T>(sum_contiguous(in + o * n, n) * scale);
    });
    return;
  }
  const int64_t blocks = (inner + kCols - 1) / kCols;
  const int64_t tasks = outer * blocks;
  const int64_t per_task = n * std::min(inner, kCols);
  parallel_for(tasks, std::max<int64_t>(1, 16384 / std::max<int64_t>(per_task, 1)), [&](int64_t b, int64_t e) {
    double acc[kCols];
    for (int64_t task = b; task < e; ++task) {
      const int64_t o = task / blocks, c0 = (task % blocks) * kCols;
      const int64_t cols = std::min(kCols, inner - c0);
      for (int64_t j = 0; j < cols; ++j) acc[j] = 0;
      const T* x = in + o * n * inner + c0;
      for (int64_t k = 0; k < n; ++k, x += inner)
        for (int64_t j = 0; j < cols; ++j) acc[j] += static_cast<double>(x[j]);
      T* y = out + o * inner + c0;
      for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<T>(acc[j] * scale);
    }
  });
}

template <typename T>
Status reduce_typed(ReduceOp op, int64_t outer, int64_t n, int64_t inner, const T* in, void* out, double p0) {
  const bool is_arg = op == ReduceOp::argmax || op == ReduceOp::argmin;
  if (n == 0) {
    if (op == ReduceOp::sum || op == ReduceOp::prod) {
      T v = op == ReduceOp::sum ? T(0) : T(1);
      for (int64_t i = 0; i < outer * inner; ++i) static_cast<T*>(out)[i] = v;
      return Status::ok;
    }
    if (op == ReduceOp::mean || op == ReduceOp::var) {
      for (int64_t i = 0; i < outer * inner; ++i)
        static_cast<T*>(out)[i] = static_cast<T>(std::numeric_limits<double>::quiet_NaN());
      return Status::ok;
    }
    return set_error(Status::shape, "cannot reduce (max/min/argmax/argmin) over an empty dimension");
  }
  if (op == ReduceOp::sum || op == ReduceOp::mean) {
    sum_typed<T>(op == ReduceOp::mean, outer, n, inner, in, static_cast<T*>(out));
    return Status::ok;
  }
  const int64_t rows = outer * inner;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1));
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / inner, i = r % inner;
      const T* x = in + o * n * inner + i;
      if (is_arg) reduce_row<T>(op, x, n, inner, p0, nullptr, static_cast<int32_t*>(out) + r);
      else reduce_row<T>(op, x, n, inner, p0, static_cast<T*>(out) + r, nullptr);
    }
  });
  return Status::ok;
}

template <typename T>
void softmax_typed(bool log, int64_t outer, int64_t n, int64_t inner, const T* in, T* out) {
  if (n == 0) return;  // an empty softmax dimension: nothing to read or write
  const int64_t rows = outer * inner;
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / inner, i = r % inner;
      const T* x = in + o * n * inner + i;
      T* y = out + o * n * inner + i;
      // Stable form: subtract the row maximum before exponentiating.
      T m = x[0];
      for (int64_t k = 1; k < n; ++k) {
        T v = x[k * inner];
        if (v != v || v > m) m = v;
      }
      if (m == -std::numeric_limits<T>::infinity()) m = 0;  // an all −∞ row stays NaN-free in the max
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(x[k * inner] - m));
      if (log) {
        T lse = static_cast<T>(std::log(s));
        for (int64_t k = 0; k < n; ++k) y[k * inner] = x[k * inner] - m - lse;
      } else {
        double inv = 1.0 / s;
        for (int64_t k = 0; k < n; ++k) y[k * inner] = static_cast<T>(std::exp(static_cast<double>(x[k * inner] - m)) * inv);
      }
    }
  });
}

template <typename T>
void softmax_backward_typed(bool log, int64_t outer, int64_t n, int64_t inner, const T* y, const T* dy, T* dx) {
  if (n == 0) return;
  // softmax:     dx = y ⊙ (dy − Σ dy⊙y)
  // log_softmax: dx = dy − exp(y) ⊙ Σ dy
  const int64_t rows = outer * inner;
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / inner, i = r % inner;
      int64_t base = o * n * inner + i;
      double s = 0;
      if (log) {
        for (int64_t k = 0; k < n; ++k) s += dy[base + k * inner];
        for (int64_t k = 0; k < n; ++k)
          dx[base + k * inner] = static_cast<T>(dy[base + k * inner] - std::exp(static_cast<double>(y[base + k * inner])) * s);
      } else {
        for (int64_t k = 0; k < n; ++k) s += static_cast<double>(dy[base + k * inner]) * y[base + k * inner];
        for (int64_t k = 0; k < n; ++k)
          dx[base + k * inner] = static_cast<T>(y[base + k * inner] * (dy[base + k * inner] - s));
      }
    }
  });
}

}  // namespace

Status reduce(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in, void* out, double p0) {
  switch (dt) {
    case DType::f32: return reduce_typed<float>(op, outer, n, inner, static_cast<const float*>(in), out, p0);
    case DType::f64: return reduce_typed<double>(op, outer, n, inner, static_cast<const double*>(in), out, p0);
    case DType::i32:
      if (op == ReduceOp::mean || op == ReduceOp::var)
        return set_error(Status::dtype, "reduction needs a floating dtype, received int32");
      return reduce_typed<int32_t>(op, outer, n, inner, static_cast<const int32_t*>(in), out, p0);
    default: break;
  }
  return set_error(Status::dtype, "reduction needs float32, float64 or int32, received %s", dtype_name(dt));
}

Status softmax(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in, void* out) {
  switch (dt) {
    case DType::f32: softmax_typed<float>(log, outer, n, inner, static_cast<const float*>(in), static_cast<float*>(out)); return Status::ok;
    case DType::f64: softmax_typed<double>(log, outer, n, inner, static_cast<const double*>(in), static_cast<double*>(out)); return Status::ok;
    default: return set_error(Status::dtype, "softmax needs float32 or float64, received %s", dtype_name(dt));
  }
}

Status softmax_backward(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* y, const void* dy, void* dx) {
  switch (dt) {
    case DType::f32:
      softmax_backward_typed<float>(log, outer, n, inner, static_cast<const float*>(y), static_cast<const float*>(dy), static_cast<float*>(dx));
      return Status::ok;
    case DType::f64:
      softmax_backward_typed<double>(log, outer, n, inner, static_cast<const double*>(y), static_cast<const double*>(dy), static_cast<double*>(dx));
      return Status::ok;
    default: return set_error(Status::dtype, "softmax needs float32 or float64, received %s", dtype_name(dt));
  }
}

}  // namespace entrena::cpu
