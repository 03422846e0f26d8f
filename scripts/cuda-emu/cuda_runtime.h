// cuda_runtime.h — a host emulation of the part of CUDA that native/cuda/*.cu uses, so that the
// CUDA kernels' logic (indexing, tiling, shared-memory reductions, warp shuffles, atomics, the
// caching allocator, error paths) can run and be checked against the CPU backend on a machine
// without a GPU. scripts/cuda-emu/build.mjs puts this folder first on the include path, rewrites
// the `kernel<<<grid, block, smem, stream>>>(args)` launches into emu::launch(...)(kernel, args)
// and compiles the .cu files as C++ into build-cuda-emu/entrena.node, which the GPU suites
// (test/gpu/*.test.mjs) then exercise through ENTRENA_TEST_CUDA_ADDON.
//
// What it checks and what it cannot: every CUDA thread of a block runs as a fiber (ucontext) on
// the launching thread; __syncthreads() and __shfl_xor_sync() switch fibers, so a block's threads
// interleave only at those points. The warp-level tensor-core steps of native/cuda/mma.cuh (mma.sync,
// ldmatrix) are warp-collective here: only the 32 lanes of the warp meet, and one warp runs through
// all of its steps up to the next __syncthreads before the next warp starts. A kernel that is correct here computes the right values with
// the right indexing and synchronisation structure; races that need true concurrency, missing
// __syncthreads between accesses that happen to be ordered here, warp-divergent shuffles, memory
// coalescing and speed are the GPU's to judge (DESIGN principle 10 still wants a real GPU run).
//
// Device memory is host memory (cudaMalloc → aligned_alloc) within an emulated 4 GiB device, so
// an impossible allocation fails with cudaErrorMemoryAllocation as on a GPU. Launches run to
// completion before they return (one stream, in order, as the real backend queues them).
#pragma once
#include <ucontext.h>

// Kernel sources that need a host form of a device-only instruction (native/cuda/mma.cuh: mma.sync,
// ldmatrix, cp.async) test this macro; nvcc never defines it.
#define ENTRENA_CUDA_EMU 1

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

// ---- keywords ----------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __shared__ static  // blocks run one at a time, so a static is exactly one block's memory
#define __align__(n) __attribute__((aligned(n)))  // may stand between decl-specifiers, as in CUDA

// ---- types -------------------------------------------------------------------------------------
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
struct alignas(8) float2 { float x, y; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

// ---- device functions --------------------------------------------------------------------------
template <typename T> inline T __ldg(const T* p) { return *p; }
// The explicitly rounded intrinsics exist to forbid FMA contraction; build.mjs compiles with
// -ffp-contract=off, so plain operators round the same way.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
// CUDA's global integer/floating min and max overloads.
template <typename A, typename B> inline auto min(A a, B b) { using C = decltype(a + b); return C(a) < C(b) ? C(a) : C(b); }
template <typename A, typename B> inline auto max(A a, B b) { using C = decltype(a + b); return C(a) < C(b) ? C(b) : C(a); }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }

// Fibers switch only at barriers, so read-modify-write needs no atomic instruction.
template <typename T> inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> inline T atomicMin(T* p, T v) { T old = *p; if (v < old) *p = v; return old; }

namespace emu {

// ---- fibers: one per CUDA thread of the running block ---------------------------------------------
struct Block {
  std::vector<ucontext_t> ctx;
  std::vector<char> done;
  std::vector<dim3> tid;
  std::vector<std::unique_ptr<char[]>> stacks;
  std::vector<uint64_t> exchange;  // __shfl_*: one 8-byte slot per thread
  std::vector<std::array<uint32_t, 16>> wide;  // warp-collective steps (native/cuda/mma.cuh): 64 bytes per thread
  std::vector<char> warp_step;     // the thread is suspended in a warp-collective step
  std::vector<char> at_block;      // the thread has reached a block barrier in this pass
  std::vector<unsigned> order;     // the order of one pass
  ucontext_t scheduler;
  int current = 0;
  void (*body)(void*) = nullptr;
  void* arg = nullptr;
};
inline thread_local Block* t_block = nullptr;
inline thread_local Block t_fibers;  // launches are serialised and never nest: one set per thread
constexpr size_t kStack = 128 * 1024;

inline void fiber_main() {
  Block* b = t_block;
  b->body(b->arg);
  b->done[b->current] = 1;  // returning resumes the scheduler through uc_link
}

// Suspends this CUDA thread until every other live thread of the block has reached a barrier too.
inline void barrier() {
  Block* b = t_block;
  swapcontext(&b->ctx[b->current], &b->scheduler);
}

// The order in which a block's threads run between two barriers: CUDA_EMU_ORDER=forward (default),
// reverse, or shuffle (a new permutation per pass, seeded by CUDA_EMU_SEED). A kernel that reads
// shared or global data written by another thread in the same barrier interval (a missing
// __syncthreads) gets the value it expects in one order and a stale one in another, so the suites
// run under all three: the racecheck that this emulation can offer.
enum class Order { forward, reverse, shuffle };
inline Order order() {
  static const Order o = [] {
    const char* e = std::getenv("CUDA_EMU_ORDER");
    if (e && std::strcmp(e, "reverse") == 0) return Order::reverse;
    if (e && std::strcmp(e, "shuffle") == 0) return Order::shuffle;
    return Order::forward;
  }();
  return o;
}
inline uint64_t& shuffle_state() {
  static uint64_t s = [] {
    const char* e = std::getenv("CUDA_EMU_SEED");
    return e ? std::strtoull(e, nullptr, 10) | 1 : 0x9E3779B97F4A7C15ull;
  }();
  return s;
}

// Runs body(arg) once per thread of one block, all threads to their next barrier in each pass.
inline void run_block(Block& b, unsigned nthreads, void (*body)(void*), void* arg) {
  if (b.ctx.size() < nthreads) {
    b.ctx.resize(nthreads);
    b.done.resize(nthreads);
    b.tid.resize(nthreads);
    b.exchange.resize(nthreads);
    b.wide.resize(nthreads);
    b.warp_step.resize(nthreads);
    b.at_block.resize(nthreads);
    while (b.stacks.size() < nthreads) b.stacks.emplace_back(new char[kStack]);
  }
  b.body = body;
  b.arg = arg;
  for (unsigned i = 0; i < nthreads; ++i) {
    b.done[i] = 0;
    b.tid[i] = dim3(i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y));
    getcontext(&b.ctx[i]);
    b.ctx[i].uc_stack.ss_sp = b.stacks[i].get();
    b.ctx[i].uc_stack.ss_size = kStack;
    b.ctx[i].uc_link = &b.scheduler;
    makecontext(&b.ctx[i], fiber_main, 0);
  }
  Block* saved = t_block;
  t_block = &b;
  std::vector<unsigned>& perm = b.order;
  perm.resize(nthreads);
  for (unsigned i = 0; i < nthreads; ++i) perm[i] = order() == Order::reverse ? nthreads - 1 - i : i;
  for (bool any = true; any;) {
    any = false;
    if (order() == Order::shuffle) {
      uint64_t& st = shuffle_state();
      for (unsigned i = nthreads; i > 1; --i) {  // Fisher–Yates with xorshift64
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        std::swap(perm[i - 1], perm[st % i]);
      }
    }
    // Warp by warp, in the order the warps first appear in perm: a warp's lanes run (in perm order)
    // through their warp-collective steps until each reaches a block barrier (or ends) before the
    // next warp starts. So between two __syncthreads one warp can run ahead of another, as on a GPU,
    // and a missing __syncthreads between warps that talk only through warp-collective steps (mma,
    // ldmatrix) still shows.
    std::fill(b.at_block.begin(), b.at_block.begin() + nthreads, 0);
    for (unsigned q = 0; q < nthreads; ++q) {
      const unsigned w = perm[q] >> 5;
      if (b.at_block[perm[q]] || b.done[perm[q]]) continue;
      for (bool again = true; again;) {
        again = false;
        for (unsigned q2 = q; q2 < nthreads; ++q2) {
          const unsigned i = perm[q2];
          if ((i >> 5) != w || b.done[i] || b.at_block[i]) continue;
          b.current = static_cast<int>(i);
          b.warp_step[i] = 0;
          threadIdx = b.tid[i];
          swapcontext(&b.scheduler, &b.ctx[i]);
          if (b.done[i]) continue;
          any = true;
          if (b.warp_step[i]) again = true;
          else b.at_block[i] = 1;
        }
      }
    }
  }
  t_block = saved;
}

inline std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

struct Launch {
  dim3 grid, block;
  Launch(dim3 g, dim3 b, size_t = 0, void* = nullptr) : grid(g), block(b) {}
  template <typename F, typename... A>
  void operator()(F kernel, A... args) const {
    // One launch at a time in the process: __shared__ arrays are statics.
    std::lock_guard<std::mutex> lock(launch_mutex());
    auto call = [&]() { kernel(args...); };
    using Call = decltype(call);
    Block& b = t_fibers;
    gridDim = grid;
    blockDim = block;
    const unsigned n = block.x * block.y * block.z;
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          blockIdx = dim3(x, y, z);
          run_block(b, n, [](void* c) { (*static_cast<Call*>(c))(); }, &call);
        }
  }
};
inline Launch launch(dim3 grid, dim3 block, size_t smem = 0, void* stream = nullptr) {
  return Launch(grid, block, smem, stream);
}

inline int linear_tid() {
  return static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
}

}  // namespace emu

inline void __syncthreads() { emu::barrier(); }

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = warpSize) {
  static_assert(sizeof(T) <= 8, "emulated shuffles carry at most 8 bytes");
  emu::Block* b = emu::t_block;
  const int me = emu::linear_tid();
  std::memcpy(&b->exchange[me], &v, sizeof(T));
  emu::barrier();  // every live thread has written its value
  const int partner = (me & ~(width - 1)) | ((me & (width - 1)) ^ lane_mask);
  T r;
  std::memcpy(&r, &b->exchange[partner], sizeof(T));
  emu::barrier();  // every live thread has read before the next shuffle overwrites
  return r;
}

// Warp-collective steps wider than a shuffle (the fragments of native/cuda/mma.cuh): every lane
// publishes up to 64 bytes, all threads meet, each lane reads the slots of its warp's lanes, and all
// meet again before a slot can be overwritten. Only the warp meets: other warps may be before or
// after the step (see run_block), as they may on a GPU.
namespace emu {
inline uint32_t* warp_slot(int tid) { return t_block->wide[tid].data(); }
// Suspends this thread until the other lanes of its warp reach a warp step too (run_block).
inline void warp_barrier() {
  Block* b = t_block;
  b->warp_step[b->current] = 1;
  swapcontext(&b->ctx[b->current], &b->scheduler);
}
template <typename Body>
inline void warp_collective(const void* mine, size_t bytes, Body body) {
  const int me = linear_tid();
  std::memcpy(warp_slot(me), mine, bytes);
  warp_barrier();
  body(me & 31, me & ~31);  // (lane, thread id of lane 0 of this warp)
  warp_barrier();
}
}  // namespace emu

// ---- runtime API -------------------------------------------------------------------------------
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16, cudaDevAttrComputeCapabilityMajor = 75 };
using cudaStream_t = void*;
constexpr unsigned cudaStreamNonBlocking = 1;

namespace emu {
constexpr size_t kDeviceBytes = size_t(4) << 30;
inline std::atomic<size_t>& used_bytes() {
  static std::atomic<size_t> u{0};
  return u;
}
inline thread_local cudaError_t t_last = cudaSuccess;
inline cudaError_t fail(cudaError_t e) { return t_last = e; }
}  // namespace emu

inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : emu::fail(cudaErrorInvalidValue); }
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static int token;
  *s = &token;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
// 4 SMs (so that the GEMM's one-wave heuristics are exercised with small problems); compute
// capability 9 (so that the tensor-core paths, emulated by mma.cuh, are taken).
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrComputeCapabilityMajor ? 9 : 4;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  if (bytes > emu::kDeviceBytes - emu::used_bytes().load()) return emu::fail(cudaErrorMemoryAllocation);
  const size_t rounded = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;  // cudaMalloc aligns to 256
  void* q = std::aligned_alloc(256, rounded + 256);
  if (!q) return emu::fail(cudaErrorMemoryAllocation);
  std::memcpy(q, &bytes, sizeof bytes);  // the size lives in the 256 bytes before the pointer
  emu::used_bytes() += bytes;
  *p = static_cast<char*>(q) + 256;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  char* q = static_cast<char*>(p) - 256;
  size_t bytes;
  std::memcpy(&bytes, q, sizeof bytes);
  emu::used_bytes() -= bytes;
  std::free(q);
  return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  *total = emu::kDeviceBytes;
  *free_bytes = emu::kDeviceBytes - emu::used_bytes().load();
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t = nullptr) {
  if (n) std::memmove(dst, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind k) { return cudaMemcpyAsync(dst, src, n, k); }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t = nullptr) {
  if (n) std::memset(p, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() {
  cudaError_t e = emu::t_last;
  emu::t_last = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return emu::t_last; }
inline const char* cudaGetErrorName(cudaError_t e) {
  return e == cudaSuccess ? "cudaSuccess" : e == cudaErrorMemoryAllocation ? "cudaErrorMemoryAllocation" : "cudaErrorInvalidValue";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : e == cudaErrorMemoryAllocation ? "out of memory (emulated device)" : "invalid argument";
}
