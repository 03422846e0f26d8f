// index.cc — CPU gathers and scatters over a contiguous [outer, n, inner] layout with int32 indices.
//
// index_select: out[o, j, i] = src[o, idx[j], i]            (out is [outer, n_idx, inner])
// index_add:    dst[o, idx[j], i] += src[o, j, i]           (the backward of index_select)
// gather:       out[o, j, i] = src[o, idx[o, j, i], i]      (torch.gather; idx is [outer, n_idx, inner])
// scatter_add:  dst[o, idx[o, j, i], i] += src[o, j, i]     (the backward of gather)
// Every index is checked; one out of range fails the call with ERR_INDEX before anything is written.
// Scatters parallelise over `outer` only, so two threads never add into the same row.
#include <cstring>

#include "../core/dispatch.h"
#include "kernels.h"
#include "threads.h"

namespace entrena::cpu {
namespace {

Status check_indices(const int32_t* idx, int64_t count, int64_t bound) {
  for (int64_t j = 0; j < count; ++j)
    if (idx[j] < 0 || idx[j] >= bound)
      return set_error(Status::index, "index %d is out of range for a dimension of size %lld", idx[j],
                       static_cast<long long>(bound));
  return Status::ok;
}

template <typename T>
void index_select_t(int64_t outer, int64_t n_src, int64_t inner, const T* src, const int32_t* idx, int64_t n_idx, T* out) {
  parallel_for(outer * n_idx, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / n_idx, j = r % n_idx;
      std::memcpy(out + r * inner, src + (o * n_src + idx[j]) * inner, sizeof(T) * inner);
    }
  });
}

template <typename T>
void index_add_t(int64_t outer, int64_t n_dst, int64_t inner, T* dst, const int32_t* idx, int64_t n_idx, const T* src) {
  // A row of `outer` is n_idx·inner additions: small rows go to one thread (waking the pool costs
  // more than the rows, e.g. the [16, 10] scatter of a cross-entropy backward).
  parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(n_idx * inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t j = 0; j < n_idx; ++j) {
        T* d = dst + (o * n_dst + idx[j]) * inner;
        const T* s = src + (o * n_idx + j) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
      }
  });
}

template <typename T>
void gather_t(int64_t outer, int64_t n_src, int64_t inner, const T* src, const int32_t* idx, int64_t n_idx, T* out) {
  parallel_for(outer * n_idx * inner, 16384, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t i = r % inner, o = r / (n_idx * inner);
      out[r] = src[(o * n_src + idx[r]) * inner + i];
    }
  });
}

template <typename T>
void scatter_add_t(int64_t outer, int64_t n_dst, int64_t inner, T* dst, const int32_t* idx, int64_t n_idx, const T* src) {
  parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(n_idx * inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t j = 0; j < n_idx; ++j)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t r = (o * n_idx + j) * inner + i;
          dst[(o * n_dst + idx[r]) * inner + i] += src[r];
        }
  });
}

// Runs `call` with T the element type of dt (core/dispatch.h).
#define ENTRENA_DISPATCH(dt, call) \
  return visit_dtype(dt, [&](auto tag) { using T = decltype(tag); call; return Status::ok; });

}  // namespace

Status index_select(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src, const int32_t* idx, int64_t n_idx, void* out) {
  ENTRENA_TRY(check_indices(idx, n_idx, n_src));
  ENTRENA_DISPATCH(dt, index_select_t<T>(outer, n_src, inner, static_cast<const T*>(src), idx, n_idx, static_cast<T*>(out)))
}

Status index_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst, const int32_t* idx, int64_t n_idx, const void* src) {
  ENTRENA_TRY(check_indices(idx, n_idx, n_dst));
  ENTRENA_DISPATCH(dt, index_add_t<T>(outer, n_dst, inner, static_cast<T*>(dst), idx, n_idx, static_cast<const T*>(src)))
}

Status gather(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src, const int32_t* idx, int64_t n_idx, void* out) {
  ENTRENA_TRY(check_indices(idx, outer * n_idx * inner, n_src));
  ENTRENA_DISPATCH(dt, gather_t<T>(outer, n_src, inner, static_cast<const T*>(src), idx, n_idx, static_cast<T*>(out)))
}

Status scatter_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst, const int32_t* idx, int64_t n_idx, const void* src) {
  ENTRENA_TRY(check_indices(idx, outer * n_idx * inner, n_dst));
  ENTRENA_DISPATCH(dt, scatter_add_t<T>(outer, n_dst, inner, static_cast<T*>(dst), idx, n_idx, static_cast<const T*>(src)))
}

}  // namespace entrena::cpu
