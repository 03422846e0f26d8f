// threads.h — the native thread pool behind every parallel CPU kernel.
//
// One pool per process, sized by ENTRENA_NUM_THREADS or, by default, the number of physical cores
// (hyper-threads share one core's FMA units, so GEMM gains nothing from them). parallel_for runs
// on the pool plus the calling thread; a call made while the pool is busy (a nested call, or a
// second JavaScript thread) runs serially on its caller instead of waiting, so it can never
// deadlock.
#pragma once
#include <cstdint>
#include <functional>

namespace entrena::cpu {

int num_threads();
void set_num_threads(int n);
int physical_cores();

// Calls fn(begin, end) over disjoint chunks covering [0, n), each at least `grain` long except
// possibly the last. fn must not throw.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace entrena::cpu
