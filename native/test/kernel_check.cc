// kernel_check.cc — a stand-alone check of the CPU kernels (native/cpu) without Node or N-API, so
// that they can be cross-compiled for aarch64 and run under qemu-aarch64 (scripts/test_arm64.mjs,
// `npm run test:arm64`), and compiled natively on x86-64 as well.
//
// It checks, against references written here (float64, plain loops):
//   - GEMM (cpu::gemm), shape legend C (M×N) = alpha · op(A) (M×K) · op(B) (K×N) + beta · C: every
//     M, N, K in {1, 2, 3, 7, 8, 13, 17, 64, 100, 257} but those with all three ≥ 100 — all four
//     transpose combinations and all four dtypes (f32, f64, bf16, f16) where M·N·K ≤ 32³, one
//     rotating combination per larger shape — with alpha/beta variants, padded leading dimensions,
//     batches with gaps between entries, and NaN in C when beta = 0 (which must not be read); plus
//     a few shapes past the cache blocks (K > KC, M > MC, N > NC). The sizes keep a run under qemu
//     to some seconds;
//   - bf16/f16 GEMM rounding: K = 1 over every 16-bit value, C = round16(alpha·a) bit for bit;
//   - elementwise (cpu::unary, cpu::binary): contiguous, broadcast and strided operands;
//   - reductions (cpu::reduce: sum, mean, var, max, argmax) and cpu::softmax / log-softmax over
//     [outer, n, inner] with inner = 1 and inner > 1.
// Which GEMM kernel runs is the library's own choice (ENTRENA_GEMM=portable forces the portable
// one); --expect-kernel=NAME fails the run when it differs, so a driver knows what it tested.
// --light leaves out the rotating larger GEMM shapes (for second runs under emulation).
//
// Tolerances. GEMM: any summation order of K products, with or without fused multiply-adds, is
// within (K + 2)·u·(|alpha|·Σ|a·b| + |beta·c|) of the exact value (u = unit roundoff, Higham §3.1);
// we allow twice that. bf16/f16 (float32 accumulation, C rounded once): the exact value rounded to
// 16 bits or a neighbouring 16-bit value, or else within twice the float32 bound of the exact value
// plus the rounding to 16 bits (cancellation); with small-integer inputs, whose float32 partial
// sums are exact, the exact value rounded once, bit for bit. Elementwise and reductions: a few units in the last place of the dtype,
// relative to the value's magnitude (the kernels evaluate the same scalar formulas as the
// reference, in the element type).
//
// Output: one line per failure (at most 20 per group), then `kernel_check: N checks, F failures
// (kernel K)`; the exit status is 0 only when F = 0.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/half.h"
#include "../cpu/kernels.h"
#include "../cpu/threads.h"

using namespace entrena;

namespace {

int64_t g_checks = 0, g_failures = 0, g_group_failures = 0;
bool g_light = false;  // --light: leave out the rotating larger GEMM shapes

void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
  ++g_failures;
  if (++g_group_failures > 20) return;
  va_list ap;
  va_start(ap, fmt);
  std::printf("FAIL ");
  std::vprintf(fmt, ap);
  std::printf("\n");
  va_end(ap);
}

// Deterministic inputs in [-1, 1) (xorshift64).
uint64_t g_seed = 0x9E3779B97F4A7C15ull;
double rnd() {
  g_seed ^= g_seed << 13;
  g_seed ^= g_seed >> 7;
  g_seed ^= g_seed << 17;
  return static_cast<double>(g_seed >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

template <typename T> DType dtype_of();
template <> DType dtype_of<float>() { return DType::f32; }
template <> DType dtype_of<double>() { return DType::f64; }
template <> DType dtype_of<bf16_t>() { return DType::bf16; }
template <> DType dtype_of<f16_t>() { return DType::f16; }
template <typename T> const char* tname() {
  if constexpr (std::is_same<T, bf16_t>::value) return "bf16";
  else if constexpr (std::is_same<T, f16_t>::value) return "f16";
  else return sizeof(T) == 4 ? "f32" : "f64";
}

// Element values as double, and doubles rounded to the element type (halves through float32, as
// every conversion to them is: core/half.h).
template <typename T> double as_double(T v) {
  if constexpr (HalfOf<T>::value) return to_f32(v);
  else return static_cast<double>(v);
}
template <typename T> T from_double(double v) { return convert_any<T, double>(v); }
template <typename T> T nan_of() {
  if constexpr (HalfOf<T>::value) return from_double<T>(std::numeric_limits<double>::quiet_NaN());
  else return std::numeric_limits<T>::quiet_NaN();
}
// Position of a 16-bit value on the number line (±0 equal): neighbours differ by 1.
int ordinal16(uint16_t h) { return h & 0x8000 ? -(h & 0x7FFF) : h; }

// ---- GEMM --------------------------------------------------------------------------------------

struct GemmCase {
  bool ta, tb;
  int64_t m, n, k;
  double alpha, beta;
  int64_t pad;    // extra elements in each leading dimension
  int64_t batch;  // entries, each followed by a gap of 5 elements
};

// exact: small-integer inputs (bf16/f16 only), so float32 sums are exact and the result is too.
template <typename T>
void check_gemm(const GemmCase& c, bool exact = false) {
  constexpr bool half = HalfOf<T>::value;
  const double lim = std::is_same<T, f16_t>::value ? 4 : 16;
  auto value = [&] { return from_double<T>(exact ? std::nearbyint(rnd() * lim) : rnd()); };
  const int64_t rows_a = c.ta ? c.k : c.m, cols_a = c.ta ? c.m : c.k;
  const int64_t rows_b = c.tb ? c.n : c.k, cols_b = c.tb ? c.k : c.n;
  const int64_t lda = cols_a + c.pad, ldb = cols_b + c.pad, ldc = c.n + c.pad;
  const int64_t sa = rows_a * lda + 5, sb = rows_b * ldb + 5, sc = c.m * ldc + 5;
  std::vector<T> a(static_cast<size_t>(sa * c.batch)), b(static_cast<size_t>(sb * c.batch));
  std::vector<T> cc(static_cast<size_t>(sc * c.batch));
  for (auto& v : a) v = value();
  for (auto& v : b) v = value();
  // beta = 0 must not read C: NaN there would leak into the result.
  for (auto& v : cc) v = c.beta == 0 ? nan_of<T>() : value();
  const std::vector<T> c0 = cc;

  GemmArgs g{};
  g.dtype = dtype_of<T>();
  g.trans_a = c.ta; g.trans_b = c.tb;
  g.m = c.m; g.n = c.n; g.k = c.k;
  g.alpha = c.alpha; g.beta = c.beta;
  g.a = a.data(); g.lda = lda; g.stride_a = sa;
  g.b = b.data(); g.ldb = ldb; g.stride_b = sb;
  g.c = cc.data(); g.ldc = ldc; g.stride_c = sc;
  g.batch = c.batch;
  ++g_checks;
  if (cpu::gemm(g) != Status::ok) {
    fail("gemm %s status %s", tname<T>(), last_error_message());
    return;
  }
  // Unit roundoff of the accumulation: float32's for the halves.
  using Acc = std::conditional_t<half, float, T>;
  const double u = std::numeric_limits<Acc>::epsilon() / 2.0;
  int64_t bad = 0;
  double worst = 0;
  for (int64_t bi = 0; bi < c.batch; ++bi) {
    const T* A = a.data() + bi * sa;
    const T* B = b.data() + bi * sb;
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          const double x = as_double(c.ta ? A[p * lda + i] : A[i * lda + p]);
          const double y = as_double(c.tb ? B[j * ldb + p] : B[p * ldb + j]);
          s += x * y;
          mag += std::fabs(x * y);
        }
        const double cin = c.beta == 0 ? 0.0 : as_double(c0[bi * sc + i * ldc + j]);
        const double want = c.alpha * s + c.beta * cin;
        double tol = 2 * (c.k + 2) * u * (std::fabs(c.alpha) * mag + std::fabs(c.beta * cin)) + 1e-300;
        const T got_t = cc[bi * sc + i * ldc + j];
        const double got = as_double(got_t);
        if constexpr (half) {
          const T w = from_double<T>(want);
          const int dist = std::abs(ordinal16(got_t.bits) - ordinal16(w.bits));
          tol += std::fabs(as_double(w) - want);
          if (exact ? dist != 0 : dist > 1 && !(std::fabs(got - want) <= tol)) ++bad;
        }
        const double err = std::fabs(got - want);
        if (!half && !(err <= tol)) ++bad;
        if (err / tol > worst || err != err) worst = err != err ? INFINITY : err / tol;
      }
    // The gaps between batch entries and the padding after each row of C stay untouched.
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = c.n; j < ldc; ++j) {
        const int64_t at = bi * sc + i * ldc + j;
        if (std::memcmp(&cc[at], &c0[at], sizeof(T)) != 0) ++bad;
      }
    for (int64_t at = bi * sc + c.m * ldc; at < (bi + 1) * sc; ++at)
      if (std::memcmp(&cc[at], &c0[at], sizeof(T)) != 0) ++bad;
  }
  if (bad)
    fail("gemm %s%s %c%c M=%lld N=%lld K=%lld alpha=%g beta=%g pad=%lld batch=%lld: %lld wrong elements "
         "(worst error %.3g of the bound)",
         tname<T>(), exact ? " (exact inputs)" : "", c.ta ? 'T' : 'N', c.tb ? 'T' : 'N', (long long)c.m, (long long)c.n, (long long)c.k, c.alpha,
         c.beta, (long long)c.pad, (long long)c.batch, (long long)bad, worst);
}

void gemm_suite() {
  const int64_t sizes[] = {1, 2, 3, 7, 8, 13, 17, 64, 100, 257};
  const double alphas[] = {1.0, -0.5, 2.25};
  const double betas[] = {0.0, 1.0, 0.75};
  int64_t variant = 0;
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes) {
        // All three ≥ 100 would add only time (their blocking is covered by `big` below).
        if (std::min({m, n, k}) >= 100) continue;
        const bool small = m * n * k <= 32 * 32 * 32;
        if (!small && g_light) continue;
        for (int combo = 0; combo < 16; ++combo) {
          // Larger shapes: one of the sixteen (dtype, transposes) combinations, rotating.
          if (!small && combo != variant % 16) continue;
          GemmCase c{(combo & 1) != 0, (combo & 2) != 0, m, n, k, alphas[variant % 3], betas[(variant / 3) % 3],
                     (variant % 5 == 0) ? 3 : 0, (variant % 7 == 0 && small) ? 3 : 1};
          const bool exact = variant % 3 == 0;  // halves: small-integer inputs, bit-exact results
          switch (combo >> 2) {
            case 0: check_gemm<float>(c); break;
            case 1: check_gemm<double>(c); break;
            case 2: check_gemm<bf16_t>(c, exact); break;
            default: check_gemm<f16_t>(c, exact); break;
          }
          ++variant;
        }
        if (!small) ++variant;
      }
  // Past the cache blocks: several K blocks (KC ≤ 320), several row blocks (MC ≤ 144), batches
  // that split among the threads or run whole per thread.
  const GemmCase big[] = {
      {false, false, 150, 24, 700, 1.0, 0.5, 1, 1}, {true, true, 150, 30, 333, -1.0, 0.0, 0, 1},
      {false, true, 10, 200, 650, 0.5, 1.0, 2, 1},  {true, false, 130, 33, 129, 1.0, 0.0, 0, 2},
      {false, false, 64, 64, 64, 1.0, 0.0, 0, 7},   {false, false, 2, 4200, 3, 1.0, 0.0, 0, 1},
      {false, true, 150, 1000, 350, 1.0, 0.25, 0, 1},  // bf16/f16: K blocks × narrowed column blocks
  };
  for (const GemmCase& c : big) {
    check_gemm<float>(c);
    check_gemm<double>(c);
    check_gemm<bf16_t>(c);
    check_gemm<f16_t>(c, true);
  }
}

// bf16/f16: C = round16(alpha·a) with K = 1 and B = 1, for every 16-bit a and alphas that make
// ties, overflow, subnormal results and NaN, bit for bit against core/half.h's rounding of the
// float32 product (a product wide enough for the packed path and its vector C store). ±0 compare
// equal (the float32 sum starts at +0), and NaN only as NaN.
template <typename T>
void check_gemm_rounding() {
  const int64_t m = 65536, n = 16;
  std::vector<T> a(m), b(n, from_double<T>(1.0)), cc(m * n);
  for (int64_t i = 0; i < m; ++i) a[i].bits = static_cast<uint16_t>(i);
  for (double alpha : {1.0, 1.00390625, 0.7, 3.5, 0.0009765625, 1e4}) {
    GemmArgs g{};
    g.dtype = dtype_of<T>();
    g.m = m; g.n = n; g.k = 1;
    g.alpha = alpha;
    g.a = a.data(); g.lda = 1;
    g.b = b.data(); g.ldb = n;
    g.c = cc.data(); g.ldc = n;
    g.batch = 1;
    ++g_checks;
    if (cpu::gemm(g) != Status::ok) {
      fail("gemm %s rounding status %s", tname<T>(), last_error_message());
      continue;
    }
    int64_t bad = 0;
    for (int64_t i = 0; i < m; ++i) {
      const T w = half_from_f32<T>(static_cast<float>(alpha) * to_f32(a[i]));
      for (int64_t j = 0; j < n; ++j) {
        const T gt = cc[i * n + j];
        const bool nan = to_f32(w) != to_f32(w);
        if (nan ? to_f32(gt) == to_f32(gt) : ordinal16(gt.bits) != ordinal16(w.bits)) {
          if (!bad) fail("gemm %s rounding alpha=%g a=0x%04x: 0x%04x, want 0x%04x", tname<T>(), alpha, a[i].bits, gt.bits, w.bits);
          ++bad;
        }
      }
    }
    if (bad > 1) fail("gemm %s rounding alpha=%g: %lld wrong", tname<T>(), alpha, (long long)bad);
  }
}

// ---- elementwise -------------------------------------------------------------------------------

// An Iter over `shape` for operands whose strides (in elements) are given, operand 0 the output.
Iter make_iter(std::initializer_list<int64_t> shape, std::initializer_list<std::vector<int64_t>> strides,
               std::initializer_list<void*> data) {
  Iter it;
  it.ndim = static_cast<int>(shape.size());
  int d = 0;
  for (int64_t s : shape) it.shape[d++] = s;
  it.nops = static_cast<int>(data.size());
  int o = 0;
  for (void* p : data) it.data[o++] = p;
  o = 0;
  for (const auto& st : strides) {
    for (int dd = 0; dd < it.ndim; ++dd) it.strides[o][dd] = st[static_cast<size_t>(dd)];
    ++o;
  }
  return it;
}

template <typename T>
bool within_ulps(double got, double want, double ulps) {
  if (want != want) return got != got;
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= ulps * std::numeric_limits<T>::epsilon() * std::max(1.0, std::fabs(want));
}

double sigmoid_ref(double a) { return 1.0 / (1.0 + std::exp(-a)); }

template <typename T>
void elementwise_suite() {
  // unary over a contiguous run long enough to use the thread pool, and over a strided view
  // (every 3rd element of a [40, 50] array's rows, transposed into the output).
  struct U { UnaryOp op; const char* name; double (*ref)(double); };
  const U unary_ops[] = {
      {UnaryOp::exp, "exp", [](double a) { return std::exp(a); }},
      {UnaryOp::tanh, "tanh", [](double a) { return std::tanh(a); }},
      {UnaryOp::relu, "relu", [](double a) { return a > 0 ? a : 0.0; }},
      {UnaryOp::sigmoid, "sigmoid", sigmoid_ref},
      {UnaryOp::gelu, "gelu", [](double a) { return 0.5 * a * (1 + std::erf(a / std::sqrt(2.0))); }},
      {UnaryOp::square, "square", [](double a) { return a * a; }},
  };
  const int64_t n = 100003;
  std::vector<T> x(n), y(n);
  for (auto& v : x) v = static_cast<T>(4 * rnd());
  for (const U& u : unary_ops) {
    Iter it = make_iter({n}, {{1}, {1}}, {y.data(), x.data()});
    ++g_checks;
    if (cpu::unary(u.op, dtype_of<T>(), it, 0, 0) != Status::ok) { fail("unary %s status", u.name); continue; }
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!within_ulps<T>(y[i], u.ref(static_cast<double>(x[i])), 8)) ++bad;
    if (bad) fail("unary %s %s contiguous: %lld wrong", u.name, tname<T>(), (long long)bad);

    // strided: out[j][i] = f(x[i][3·j]) for i < 40, j < 16 (x as [40, 50], out as [16, 40])
    std::vector<T> out(16 * 40, T(-7));
    Iter st = make_iter({40, 16}, {{1, 40}, {50, 3}}, {out.data(), x.data()});
    ++g_checks;
    if (cpu::unary(u.op, dtype_of<T>(), st, 0, 0) != Status::ok) { fail("unary %s strided status", u.name); continue; }
    bad = 0;
    for (int64_t i = 0; i < 40; ++i)
      for (int64_t j = 0; j < 16; ++j)
        if (!within_ulps<T>(out[j * 40 + i], u.ref(static_cast<double>(x[i * 50 + 3 * j])), 8)) ++bad;
    if (bad) fail("unary %s %s strided: %lld wrong", u.name, tname<T>(), (long long)bad);
  }

  struct B { BinaryOp op; const char* name; double (*ref)(double, double); };
  const B binary_ops[] = {
      {BinaryOp::add, "add", [](double a, double b) { return a + b; }},
      {BinaryOp::mul, "mul", [](double a, double b) { return a * b; }},
      {BinaryOp::div, "div", [](double a, double b) { return a / b; }},
      {BinaryOp::maximum, "maximum", [](double a, double b) { return a != a ? a : b != b ? b : a > b ? a : b; }},
  };
  std::vector<T> z(n);
  for (auto& v : z) v = static_cast<T>(rnd() + 1.5);  // away from 0 for div
  x[17] = std::numeric_limits<T>::quiet_NaN();          // NaN propagation (maximum keeps it)
  for (const B& bo : binary_ops) {
    // contiguous, both operands
    Iter it = make_iter({n}, {{1}, {1}, {1}}, {y.data(), x.data(), z.data()});
    ++g_checks;
    if (cpu::binary(bo.op, dtype_of<T>(), it, 0, 0) != Status::ok) { fail("binary %s status", bo.name); continue; }
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!within_ulps<T>(y[i], bo.ref(static_cast<double>(x[i]), static_cast<double>(z[i])), 2)) ++bad;
    if (bad) fail("binary %s %s contiguous: %lld wrong", bo.name, tname<T>(), (long long)bad);

    // broadcast: [37, 1] op [1, 29] → [37, 29]; and a scalar second operand over [1000]
    std::vector<T> out(37 * 29);
    Iter bc = make_iter({37, 29}, {{29, 1}, {1, 0}, {0, 1}}, {out.data(), x.data() + 100, z.data() + 200});
    ++g_checks;
    if (cpu::binary(bo.op, dtype_of<T>(), bc, 0, 0) != Status::ok) { fail("binary %s bcast status", bo.name); continue; }
    bad = 0;
    for (int64_t i = 0; i < 37; ++i)
      for (int64_t j = 0; j < 29; ++j)
        if (!within_ulps<T>(out[i * 29 + j], bo.ref(static_cast<double>(x[100 + i]), static_cast<double>(z[200 + j])), 2)) ++bad;
    if (bad) fail("binary %s %s broadcast: %lld wrong", bo.name, tname<T>(), (long long)bad);

    Iter sc = make_iter({1000}, {{1}, {1}, {0}}, {y.data(), x.data(), z.data() + 5});
    ++g_checks;
    if (cpu::binary(bo.op, dtype_of<T>(), sc, 0, 0) != Status::ok) { fail("binary %s scalar status", bo.name); continue; }
    bad = 0;
    for (int64_t i = 0; i < 1000; ++i)
      if (!within_ulps<T>(y[i], bo.ref(static_cast<double>(x[i]), static_cast<double>(z[5])), 2)) ++bad;
    if (bad) fail("binary %s %s scalar operand: %lld wrong", bo.name, tname<T>(), (long long)bad);
  }
}

// ---- reductions and softmax --------------------------------------------------------------------

template <typename T>
void reduce_suite() {
  struct Shape { int64_t outer, n, inner; };
  const Shape shapes[] = {{3, 1000, 1}, {4, 37, 300}, {1, 100003, 1}, {2, 1, 5}, {5, 17, 9}};
  for (const Shape& s : shapes) {
    const int64_t len = s.outer * s.n * s.inner, outs = s.outer * s.inner;
    std::vector<T> x(static_cast<size_t>(len));
    for (auto& v : x) v = static_cast<T>(3 * rnd() + 0.5);
    if (s.n > 1) x[static_cast<size_t>(s.inner)] = std::numeric_limits<T>::quiet_NaN();  // row (0, ·, 0)
    auto at = [&](int64_t o, int64_t k, int64_t i) { return static_cast<double>(x[(o * s.n + k) * s.inner + i]); };
    const ReduceOp ops[] = {ReduceOp::sum, ReduceOp::mean, ReduceOp::var, ReduceOp::max, ReduceOp::argmax};
    const char* names[] = {"sum", "mean", "var", "max", "argmax"};
    for (int q = 0; q < 5; ++q) {
      std::vector<T> out(static_cast<size_t>(outs));
      std::vector<int32_t> idx(static_cast<size_t>(outs));
      void* dst = ops[q] == ReduceOp::argmax ? static_cast<void*>(idx.data()) : static_cast<void*>(out.data());
      ++g_checks;
      if (cpu::reduce(ops[q], dtype_of<T>(), s.outer, s.n, s.inner, x.data(), dst, 1.0) != Status::ok) {
        fail("reduce %s status %s", names[q], last_error_message());
        continue;
      }
      int64_t bad = 0;
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          double sum = 0, mag = 0, best = at(o, 0, i);
          int64_t best_k = 0;
          for (int64_t k = 0; k < s.n; ++k) {
            sum += at(o, k, i);
            mag += std::fabs(at(o, k, i));
          }
          for (int64_t k = 1; k < s.n && best == best; ++k)
            if (at(o, k, i) != at(o, k, i) || at(o, k, i) > best) { best = at(o, k, i); best_k = k; }
          const double mean = sum / static_cast<double>(s.n);
          double ss = 0;
          for (int64_t k = 0; k < s.n; ++k) ss += (at(o, k, i) - mean) * (at(o, k, i) - mean);
          const double var = s.n > 1 ? ss / static_cast<double>(s.n - 1) : std::numeric_limits<double>::quiet_NaN();
          const int64_t r = o * s.inner + i;
          // Sums accumulate in double, so the float32 results are the double sum rounded once.
          const double tol_sum = 4 * std::numeric_limits<T>::epsilon() * mag + 1e-300;
          bool ok;
          switch (q) {
            case 0: ok = sum != sum ? out[r] != out[r] : std::fabs(out[r] - sum) <= tol_sum; break;
            case 1: ok = mean != mean ? out[r] != out[r] : std::fabs(out[r] - mean) <= tol_sum / static_cast<double>(s.n); break;
            case 2: ok = within_ulps<T>(out[r], var, 16); break;
            case 3: ok = best != best ? out[r] != out[r] : static_cast<double>(out[r]) == best; break;
            default: ok = idx[r] == best_k; break;
          }
          if (!ok) ++bad;
        }
      if (bad)
        fail("reduce %s %s [%lld, %lld, %lld]: %lld wrong", names[q], tname<T>(), (long long)s.outer, (long long)s.n,
             (long long)s.inner, (long long)bad);
    }
    // softmax and log-softmax (no NaN here: one NaN would make its whole row NaN, checked above)
    if (s.n > 1) x[static_cast<size_t>(s.inner)] = static_cast<T>(0.25);
    for (int lg = 0; lg < 2; ++lg) {
      std::vector<T> y(static_cast<size_t>(len));
      ++g_checks;
      if (cpu::softmax(dtype_of<T>(), lg != 0, s.outer, s.n, s.inner, x.data(), y.data()) != Status::ok) {
        fail("softmax status");
        continue;
      }
      int64_t bad = 0;
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          double mx = -INFINITY, z = 0;
          for (int64_t k = 0; k < s.n; ++k) mx = std::max(mx, at(o, k, i));
          for (int64_t k = 0; k < s.n; ++k) z += std::exp(at(o, k, i) - mx);
          for (int64_t k = 0; k < s.n; ++k) {
            const double want = lg ? at(o, k, i) - mx - std::log(z) : std::exp(at(o, k, i) - mx) / z;
            if (!within_ulps<T>(y[(o * s.n + k) * s.inner + i], want, 16 + (lg ? std::log2(static_cast<double>(s.n)) * 4 : 0))) ++bad;
          }
        }
      if (bad)
        fail("%s %s [%lld, %lld, %lld]: %lld wrong", lg ? "log_softmax" : "softmax", tname<T>(), (long long)s.outer,
             (long long)s.n, (long long)s.inner, (long long)bad);
    }
  }
}

template <typename F>
void group(const char* name, F f) {
  g_group_failures = 0;
  const int64_t before = g_checks, failed_before = g_failures;
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-12s %lld checks, %lld failures, %.1f s\n", name, (long long)(g_checks - before),
              (long long)(g_failures - failed_before), s);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const char* expect = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--expect-kernel=", 16) == 0) expect = argv[i] + 16;
    if (std::strcmp(argv[i], "--light") == 0) g_light = true;
  }
  const char* kernel = cpu::gemm_kernel_name();
  std::printf("kernel_check: GEMM kernel %s, %d threads\n", kernel, cpu::num_threads());
  if (expect && std::strcmp(expect, kernel) != 0) {
    std::printf("FAIL expected the %s GEMM kernel, the library chose %s\n", expect, kernel);
    return 1;
  }
  group("gemm", gemm_suite);
  group("gemm16 round", [] { check_gemm_rounding<bf16_t>(); check_gemm_rounding<f16_t>(); });
  group("elementwise", [] { elementwise_suite<float>(); elementwise_suite<double>(); });
  group("reduce", [] { reduce_suite<float>(); reduce_suite<double>(); });
  std::printf("kernel_check: %lld checks, %lld failures (kernel %s)\n", (long long)g_checks, (long long)g_failures,
              kernel);
  return g_failures == 0 ? 0 : 1;
}
