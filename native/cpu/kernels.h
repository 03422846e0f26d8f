// kernels.h — the CPU kernel functions that native/cpu/backend.cc puts into the kernel table.
// Each is defined in the file of its family (elementwise.cc, reduce.cc, index.cc, random.cc,
// gemm.cc, batchnorm.cc, optim.cc). The signatures come from the kernel list in core/backend.h.
#pragma once
#include "../core/backend.h"

namespace entrena::cpu {

// The kernel-table entries (core/backend.h, ENTRENA_KERNELS); gemm_ref is the plain GEMM oracle the
// fast gemm is tested against.
#define ENTRENA_DECLARE_KERNEL(name, params) Status name params;
ENTRENA_KERNELS(ENTRENA_DECLARE_KERNEL)
#undef ENTRENA_DECLARE_KERNEL
Status gemm_ref(const GemmArgs& g);
// The GEMM micro-kernel family this process uses (gemm.cc): "avx2", "neon" or "portable".
const char* gemm_kernel_name();
// The direct (unpacked) float32 path of small products (gemm.cc): its bound in multiply-adds (0
// when it is off: not the AVX2 kernel, or ENTRENA_GEMM_DIRECT_WORK=0) and the products it has run.
struct GemmDirectInfo {
  int64_t max_work;
  int64_t calls;
};
GemmDirectInfo gemm_direct_info();

}  // namespace entrena::cpu
