// blas.h — the external-BLAS seam of the CPU GEMM (native/cpu/blas.cc): which library, if any,
// takes the large products, and how many it took.
#pragma once
#include <cstdint>
#include <string>

#include "../core/backend.h"

namespace entrena::cpu {

/** Runs `g` (alpha ≠ 0, K ≥ 1) through the external CBLAS when one is loaded and the product is
 *  large enough; returns false (nothing written) when our kernels should run it. */
bool blas_gemm(const GemmArgs& g);

struct BlasInfo {
  std::string library;  // the path loaded (ENTRENA_BLAS), "Accelerate", or empty for none
  std::string error;    // why ENTRENA_BLAS did not load, or empty
  int64_t calls;        // GEMM calls (batches count once) the library ran so far
  int64_t min_work, min_k, min_m;  // the size threshold: M·N·K ≥ min_work, K ≥ min_k, M ≥ min_m
};
BlasInfo blas_info();

/** Turns the seam off (and on again) at run time: bench/gemm.mjs times both paths in one process. */
void set_blas_enabled(bool on);

}  // namespace entrena::cpu
