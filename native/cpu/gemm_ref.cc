// gemm_ref.cc — the plain reference GEMM, kept as the oracle for the fast kernels (DESIGN principle 1).
//
// Shape legend: C[b] (M×N) = alpha · op(A[b]) (M×K) · op(B[b]) (K×N) + beta · C[b], row-major.
// Accumulates in double so that it is a better answer than any float32 kernel it checks.
// beta == 0 overwrites C without reading it (NaN in uninitialised C does not leak), as BLAS does.
//
// bfloat16 and float16: the 16-bit values are widened exactly, multiplied and summed in double, and
// alpha·sum + beta·C (in double) is rounded once to the storage type, through float32 as every
// conversion to a 16-bit type is (core/half.h). The fast GEMM accumulates in float32 instead, so
// the two agree bit for bit whenever float32 holds every partial sum exactly (small integers, say),
// and otherwise to within one 16-bit unit save under heavy cancellation (gemm.cc, Numerics). Each
// product of two 16-bit values is exact in double; the double sum is far within one 16-bit unit of
// the exact value, so the result is the exact value rounded once, but for near-ties.
#include "../core/half.h"
#include "kernels.h"

namespace entrena::cpu {
namespace {

double to_double(float v) { return v; }
double to_double(double v) { return v; }
double to_double(bf16_t v) { return to_f32(v); }
double to_double(f16_t v) { return to_f32(v); }
template <typename T>
T from_double(double v) {
  return convert_any<T, double>(v);
}

template <typename T>
void gemm_ref_t(const GemmArgs& g) {
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    const T* A = static_cast<const T*>(g.a) + bi * g.stride_a;
    const T* B = static_cast<const T*>(g.b) + bi * g.stride_b;
    T* C = static_cast<T*>(g.c) + bi * g.stride_c;
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < g.k; ++p) {
          double a = to_double(g.trans_a ? A[p * g.lda + i] : A[i * g.lda + p]);
          double b = to_double(g.trans_b ? B[j * g.ldb + p] : B[p * g.ldb + j]);
          s += a * b;
        }
        double c = g.beta == 0 ? 0.0 : g.beta * to_double(C[i * g.ldc + j]);
        C[i * g.ldc + j] = from_double<T>(g.alpha * s + c);
      }
  }
}

}  // namespace

Status gemm_ref(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::f32: gemm_ref_t<float>(g); return Status::ok;
    case DType::f64: gemm_ref_t<double>(g); return Status::ok;
    case DType::bf16: gemm_ref_t<bf16_t>(g); return Status::ok;
    case DType::f16: gemm_ref_t<f16_t>(g); return Status::ok;
    default: return set_error(Status::dtype, "matmul needs a floating dtype, received int32");
  }
}

}  // namespace entrena::cpu
