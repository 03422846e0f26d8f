// kernels.h — the CPU kernel functions that native/cpu/backend.cc puts into the kernel table.
// Each is defined in the file of its family (elementwise.cc, reduce.cc, index.cc, random.cc,
// gemm.cc, batchnorm.cc, optim.cc). Signatures mirror the Backend entries in core/backend.h.
#pragma once
#include "../core/backend.h"

namespace entrena::cpu {

Status unary(UnaryOp op, DType dt, const Iter& it, double p0, double p1);
Status binary(BinaryOp op, DType dt, const Iter& it, double p0, double p1);
Status where(DType dt, DType cond_dt, const Iter& it);
Status cast(DType out_dt, DType in_dt, const Iter& it);
Status fill(DType dt, const Iter& it, double value);

Status reduce(ReduceOp op, DType dt, int64_t outer, int64_t n, int64_t inner, const void* in,
              void* out, double p0);
Status softmax(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* in, void* out);
Status softmax_backward(DType dt, bool log, int64_t outer, int64_t n, int64_t inner, const void* y,
                        const void* dy, void* dx);

Status index_select(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
                    const int32_t* idx, int64_t n_idx, void* out);
Status index_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                 const int32_t* idx, int64_t n_idx, const void* src);
Status gather(DType dt, int64_t outer, int64_t n_src, int64_t inner, const void* src,
              const int32_t* idx, int64_t n_idx, void* out);
Status scatter_add(DType dt, int64_t outer, int64_t n_dst, int64_t inner, void* dst,
                   const int32_t* idx, int64_t n_idx, const void* src);

Status random_uniform(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double lo, double hi);
Status random_normal(DType dt, int64_t n, void* out, uint64_t seed, uint64_t offset, double mean, double std);

// GEMM: gemm() dispatches to the fastest kernel the CPU supports; gemm_ref is the plain oracle.
Status gemm(const GemmArgs& g);
Status gemm_ref(const GemmArgs& g);

Status batchnorm_forward(const BatchNormArgs& a);
Status batchnorm_backward(const BatchNormArgs& a);
Status optim_step(const OptimArgs& a);

}  // namespace entrena::cpu
