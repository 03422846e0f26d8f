// gemm.cc — CPU GEMM dispatch. (Placeholder: forwards to the reference until the packed kernel lands.)
#include "kernels.h"

namespace entrena::cpu {

Status gemm(const GemmArgs& g) { return gemm_ref(g); }

}  // namespace entrena::cpu
