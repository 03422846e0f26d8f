// mma.cuh — the warp-level tensor-core instructions the GEMM of gemm_tc.cu is written with, each
// behind a small inline wrapper: mma.sync (m16n8k16 bf16/f16, m16n8k8 tf32, float32 accumulators),
// ldmatrix (x4, plain and transposed), cp.async (16 bytes, with commit/wait) and cvt.rna.tf32.f32.
// Not a general tensor-core library: only what gemm_tc.cu uses, for sm_80 and newer.
//
// Two implementations of the same wrappers:
//   - nvcc: inline PTX (on a device older than sm_80 the bodies trap; the host never launches the
//     kernels there, see gemm_tc.cu);
//   - the host emulation (scripts/cuda-emu, ENTRENA_CUDA_EMU): warp-collective steps over the
//     per-lane fragment registers with exactly the PTX fragment layouts below, so that the same
//     kernel source runs, and is checked against the CPU, without a GPU. A wrong fragment index in
//     the kernel gives a wrong product there just as on the GPU.
//
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16 / mma.m16n8k8"). In a warp,
// lane = 4·g + t with g = lane / 4 (groupID, 0..7) and t = lane % 4 (threadID_in_group, 0..3).
// A 32-bit register holding two 16-bit elements keeps the lower column (or k) index in its low half.
//   m16n8k16, bf16/f16 (A row-major 16×16, B "col" 16×8, C/D 16×8 float):
//     A: a[0] = A[g][2t, 2t+1]    a[1] = A[g+8][2t, 2t+1]   a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
//     B: b[0] = B[2t, 2t+1][g]    b[1] = B[2t+8, 2t+9][g]
//     C: c[0], c[1] = C[g][2t, 2t+1]                        c[2], c[3] = C[g+8][2t, 2t+1]
//   m16n8k8, tf32 (A 16×8, B 8×8, C/D 16×8 float; one element per 32-bit register):
//     A: a[0] = A[g][t]   a[1] = A[g+8][t]   a[2] = A[g][t+4]   a[3] = A[g+8][t+4]
//     B: b[0] = B[t][g]   b[1] = B[t+4][g]
//     C: as for m16n8k16.
//   ldmatrix.x4 (m8n8, b16): lanes 8i .. 8i+7 give the shared addresses of rows 0..7 of matrix i
//     (16 contiguous bytes each); lane 4g+t receives r[i] = M_i[g][2t, 2t+1]. With .trans it
//     receives the transpose's: r[i] = (M_i[2t][g], M_i[2t+1][g]).
//
// Numerics of the emulation: a tensor core multiplies 16-bit (or tf32) inputs exactly and adds the
// products into float32; the emulation forms the k products exactly, sums them in double and adds
// to C with one float32 rounding per mma, which is at least as accurate as the hardware (whose
// internal additions may truncate), so tests keep a float32-accumulation tolerance. A tf32 operand
// uses only its upper 19 bits, as the hardware does; tf32_round() is cvt.rna (nearest, ties away).
// cp.async completes at once in the emulation: it cannot show a missing wait (only the GPU can).
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/half.h"

namespace entrena::cuda::mma {

enum class Half16 { bf16, f16 };

#if defined(ENTRENA_CUDA_EMU)
// ---- host emulation --------------------------------------------------------------------------------

inline float bits_to_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t f32_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline uint16_t lo16(uint32_t r) { return static_cast<uint16_t>(r & 0xFFFFu); }
inline uint16_t hi16(uint32_t r) { return static_cast<uint16_t>(r >> 16); }
template <Half16 H> inline double value16(uint16_t h) {
  return H == Half16::bf16 ? static_cast<double>(f32_from_bf16(h)) : static_cast<double>(f32_from_f16(h));
}

inline void cp_async16(void* smem, const void* gmem) { std::memcpy(smem, gmem, 16); }
inline void cp_async_commit() {}
template <int N> inline void cp_async_wait() {}

// ldmatrix: each lane publishes its row address; lane 4g+t then gathers from lanes 8i+g (plain) or
// 8i+2t, 8i+2t+1 (transposed).
template <bool Trans>
inline void ldmatrix_x4_impl(uint32_t (&r)[4], const void* row) {
  const void* mine = row;
  ::emu::warp_collective(&mine, sizeof mine, [&](int lane, int base) {
    const int g = lane >> 2, t = lane & 3;
    auto row_of = [&](int l) {
      const void* p;
      std::memcpy(&p, ::emu::warp_slot(base + l), sizeof p);
      return static_cast<const uint16_t*>(p);
    };
    for (int i = 0; i < 4; ++i) {
      uint16_t lo, hi;
      if (!Trans) {
        const uint16_t* p = row_of(8 * i + g);
        lo = p[2 * t];
        hi = p[2 * t + 1];
      } else {
        lo = row_of(8 * i + 2 * t)[g];
        hi = row_of(8 * i + 2 * t + 1)[g];
      }
      r[i] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
    }
  });
}
inline void ldmatrix_x4(uint32_t (&r)[4], const void* row) { ldmatrix_x4_impl<false>(r, row); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) { ldmatrix_x4_impl<true>(r, row); }

struct Operands { uint32_t a[4], b[2]; float c[4]; };

// d[q] for this lane: rows g, g, g+8, g+8 and columns 2t, 2t+1, 2t, 2t+1 of the 16×8 tile.
template <typename ValueA, typename ValueB>
inline void mma_emulated(float (&d)[4], const Operands& mine, int kdim, ValueA a_at, ValueB b_at) {
  ::emu::warp_collective(&mine, sizeof mine, [&](int lane, int base) {
    const int g = lane >> 2, t = lane & 3;
    auto ops = [&](int l) { return reinterpret_cast<const Operands*>(::emu::warp_slot(base + l)); };
    for (int q = 0; q < 4; ++q) {
      const int row = g + (q >= 2 ? 8 : 0), col = 2 * t + (q & 1);
      double s = 0;
      for (int k = 0; k < kdim; ++k) s += a_at(ops, row, k) * b_at(ops, k, col);
      d[q] = static_cast<float>(static_cast<double>(mine.c[q]) + s);
    }
  });
}

// D = A·B + C, m16n8k16, 16-bit inputs, float32 accumulators.
template <Half16 H>
inline void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
  const Operands mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}, {c[0], c[1], c[2], c[3]}};
  mma_emulated(d, mine, 16,
      [](auto ops, int r, int k) {  // A[r][k]: register (r ≥ 8) + 2·(k ≥ 8) of lane 4·(r%8) + (k%8)/2
        const uint32_t reg = ops(4 * (r & 7) + ((k & 7) >> 1))->a[(r >> 3) + 2 * (k >> 3)];
        return value16<H>((k & 1) ? hi16(reg) : lo16(reg));
      },
      [](auto ops, int k, int n) {  // B[k][n]: register (k ≥ 8) of lane 4·n + (k%8)/2
        const uint32_t reg = ops(4 * n + ((k & 7) >> 1))->b[k >> 3];
        return value16<H>((k & 1) ? hi16(reg) : lo16(reg));
      });
}

// A tf32 operand as the tensor core reads it: the upper 19 bits of the register.
inline double tf32_value(uint32_t r) { return static_cast<double>(bits_to_f32(r & 0xFFFFE000u)); }

// D = A·B + C, m16n8k8, tf32 inputs (registers holding tf32_round() results), float32 accumulators.
inline void mma_1688_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
  const Operands mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}, {c[0], c[1], c[2], c[3]}};
  mma_emulated(d, mine, 8,
      [](auto ops, int r, int k) { return tf32_value(ops(4 * (r & 7) + (k & 3))->a[(r >> 3) + 2 * (k >> 2)]); },
      [](auto ops, int k, int n) { return tf32_value(ops(4 * n + (k & 3))->b[k >> 2]); });
}

// cvt.rna.tf32.f32: round the float32 to a 10-bit mantissa, to nearest with ties away from zero
// (adding half a unit of the 13 dropped bits to the magnitude carries into the kept bits exactly
// when they are at least half). NaN and ±Inf are kept; a value that rounds past the largest finite
// becomes ±Inf, as the instruction does.
inline uint32_t tf32_round(float x) {
  const uint32_t u = f32_to_bits(x);
  if ((u & 0x7F800000u) == 0x7F800000u) return u;
  return (u + 0x1000u) & 0xFFFFE000u;
}

#else
// ---- nvcc: inline PTX --------------------------------------------------------------------------

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define ENTRENA_MMA_PTX 1
#endif

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
#ifdef ENTRENA_MMA_PTX
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(smem)), "l"(gmem));
#else
  __trap();
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifdef ENTRENA_MMA_PTX
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifdef ENTRENA_MMA_PTX
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#ifdef ENTRENA_MMA_PTX
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row)));
#else
  __trap();
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
#ifdef ENTRENA_MMA_PTX
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(row)));
#else
  __trap();
#endif
}

template <Half16 H>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
#ifdef ENTRENA_MMA_PTX
  if constexpr (H == Half16::bf16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
  }
#else
  __trap();
#endif
}

__device__ __forceinline__ void mma_1688_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
#ifdef ENTRENA_MMA_PTX
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#else
  __trap();
#endif
}

__device__ __forceinline__ uint32_t tf32_round(float x) {
  uint32_t r = 0;
#ifdef ENTRENA_MMA_PTX
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#else
  __trap();
#endif
  return r;
}

#undef ENTRENA_MMA_PTX
#endif

}  // namespace entrena::cuda::mma
