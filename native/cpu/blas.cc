// blas.cc — the external-BLAS seam of the CPU GEMM: large products may go to a CBLAS library's
// cblas_sgemm / cblas_dgemm instead of our packed kernels (native/cpu/gemm.cc); small ones never do
// (a library call, its argument checks and its thread wake-up cost more than our small-GEMM path).
//
// Which library:
//   - ENTRENA_BLAS=/path/to/libopenblas.so.0 (or MKL's libmkl_rt.so, or any CBLAS with the LP64
//     interface): loaded once with dlopen, the two functions found with dlsym. Opt-in; a path that
//     does not load, or lacks the functions, leaves our kernels in use and says why in blas_info().
//   - macOS, built with ENTRENA_ACCELERATE (binding.gyp links -framework Accelerate there): Apple's
//     Accelerate, whose GEMM runs on the AMX units, unless ENTRENA_BLAS=off. Plain cblas_sgemm: no
//     ACCELERATE_NEW_LAPACK / ILP64, whose symbols exist only on macOS 13.3 and later.
//   - Otherwise, or with ENTRENA_BLAS=off: none; everything stays on our kernels.
// When the library is OpenBLAS, its thread count follows ours (openblas_set_num_threads), so one
// `setNumThreads` governs both.
//
// Shape legend as GemmArgs (core/backend.h): op(A) M×K, op(B) K×N, C M×N, row-major, leading
// dimensions lda/ldb/ldc; a batch is one library call per entry.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>

#if defined(_WIN32)
// No dlopen on Windows: the seam is off there (a LoadLibrary version can follow the same shape).
#else
#include <dlfcn.h>
#endif

#include "blas.h"
#include "threads.h"

#if defined(ENTRENA_ACCELERATE)
extern "C" {
// Accelerate's classic CBLAS (cblas.h): enums as ints, LP64.
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void cblas_dgemm(int order, int transa, int transb, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc);
}
#endif

namespace entrena::cpu {
namespace {

// CBLAS's enum values (the same in every CBLAS: OpenBLAS, MKL, Accelerate, the reference).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
using SetThreadsFn = void (*)(int);

// Products with fewer multiply-adds per batch entry than this stay on our kernels, and so do those
// with K < kMinK or M < kMinM (thin products are memory-bound: packing is cheap, a call is not).
constexpr int64_t kMinWork = int64_t(64) * 64 * 64, kMinK = 32, kMinM = 4;

struct Library {
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SetThreadsFn set_threads = nullptr;
  std::string name;   // the path loaded, or "Accelerate"
  std::string error;  // why ENTRENA_BLAS did not load, else empty
  int threads_set = 0;
};

Library load() {
  Library lib;
  const char* env = std::getenv("ENTRENA_BLAS");
  const bool off = env && (std::strcmp(env, "off") == 0 || std::strcmp(env, "0") == 0 || std::strcmp(env, "none") == 0);
  if (off) return lib;
  if (env && *env) {
#if defined(_WIN32)
    lib.error = "ENTRENA_BLAS: loading a BLAS library at run time is not supported on Windows";
#else
    void* h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = dlerror();
      lib.error = std::string("ENTRENA_BLAS: cannot load ") + env + ": " + (why ? why : "dlopen failed");
      return lib;
    }
    lib.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    lib.dgemm = reinterpret_cast<DgemmFn>(dlsym(h, "cblas_dgemm"));
    if (!lib.sgemm || !lib.dgemm) {
      lib.sgemm = nullptr;
      lib.dgemm = nullptr;
      lib.error = std::string("ENTRENA_BLAS: ") + env + " has no cblas_sgemm/cblas_dgemm (a CBLAS library is needed)";
      dlclose(h);
      return lib;
    }
    lib.set_threads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
    lib.name = env;  // the handle stays open for the life of the process
    return lib;
#endif
  }
#if defined(ENTRENA_ACCELERATE)
  lib.sgemm = &cblas_sgemm;
  lib.dgemm = &cblas_dgemm;
  lib.name = "Accelerate";
#endif
  return lib;
}

Library& library() {
  static Library lib = load();
  return lib;
}
std::mutex g_threads_mu;
std::atomic<int64_t> g_calls{0};
std::atomic<bool> g_enabled{true};

bool fits_int(int64_t v) { return v >= 0 && v <= std::numeric_limits<int>::max(); }

template <typename T>
bool call(const GemmArgs& g) {
  if (!g_enabled.load(std::memory_order_relaxed)) return false;
  Library& lib = library();
  if constexpr (std::is_same_v<T, float>) {
    if (!lib.sgemm) return false;
  } else {
    if (!lib.dgemm) return false;
  }
  const int64_t m = g.m, n = g.n, k = g.k;
  if (m * n * k < kMinWork || k < kMinK || m < kMinM) return false;
  // CBLAS needs int sizes and leading dimensions at least the stored row length (ours may be 0 for
  // a broadcast operand): anything else stays on our kernels.
  const int64_t a_cols = g.trans_a ? m : k, b_cols = g.trans_b ? k : n;
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(g.lda) || !fits_int(g.ldb) || !fits_int(g.ldc)) return false;
  if (g.lda < std::max<int64_t>(1, a_cols) || g.ldb < std::max<int64_t>(1, b_cols) || g.ldc < std::max<int64_t>(1, n)) return false;
  if (lib.set_threads) {
    const int want = num_threads();
    std::lock_guard<std::mutex> lock(g_threads_mu);
    if (lib.threads_set != want) {
      lib.set_threads(want);
      lib.threads_set = want;
    }
  }
  const T* A = static_cast<const T*>(g.a);
  const T* B = static_cast<const T*>(g.b);
  T* C = static_cast<T*>(g.c);
  const int ta = g.trans_a ? kTrans : kNoTrans, tb = g.trans_b ? kTrans : kNoTrans;
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    const T* a = A + bi * g.stride_a;
    const T* b = B + bi * g.stride_b;
    T* c = C + bi * g.stride_c;
    if constexpr (std::is_same_v<T, float>)
      lib.sgemm(kRowMajor, ta, tb, int(m), int(n), int(k), float(g.alpha), a, int(g.lda), b, int(g.ldb), float(g.beta), c, int(g.ldc));
    else
      lib.dgemm(kRowMajor, ta, tb, int(m), int(n), int(k), g.alpha, a, int(g.lda), b, int(g.ldb), g.beta, c, int(g.ldc));
  }
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace

bool blas_gemm(const GemmArgs& g) {
  switch (g.dtype) {
    case DType::f32: return call<float>(g);
    case DType::f64: return call<double>(g);
    default: return false;
  }
}

void set_blas_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

BlasInfo blas_info() {
  const Library& lib = library();
  return BlasInfo{lib.name, lib.error, g_calls.load(std::memory_order_relaxed), kMinWork, kMinK, kMinM};
}

}  // namespace entrena::cpu
