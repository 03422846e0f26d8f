/* dnnl_sgemm.c — the oneDNN peer of bench/gemm.mjs: times dnnl_sgemm (float32, row-major) one batch
 * per request, the same protocol as the PyTorch peer there. bench/gemm.mjs compiles it with the
 * system C compiler when libdnnl-dev is installed (cc -O2 dnnl_sgemm.c -ldnnl) and skips the
 * column otherwise. oneDNN has no double-precision GEMM, so float64 cases are answered "skip".
 *
 * Shape legend: C (M×N) = op(A) (M×K) · op(B) (K×N); ta means A is stored K×M, tb that B is N×K.
 * Protocol, one line each way:
 *   in:  ID DT TA TB M K N TARGET      (DT 0 = float32; TARGET: seconds per batch)
 *   out: RATE CHECK                    (GFLOP/s of one batch; CHECK: the largest error of 64
 *                                       sampled entries of C against a double dot product,
 *                                       relative to max |C|, measured on the case's first request)
 * A new ID allocates and fills the operands and picks the repetitions per batch; the same ID again
 * times another batch on the same operands. Threads: oneDNN's OpenMP runtime (OMP_NUM_THREADS). */
#include <dnnl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long seed = 88172645463325252ull;
static float rnd(void) {
  seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
  return (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(void) {
  char line[256];
  long cur = -1, reps = 1;
  int ta = 0, tb = 0;
  dnnl_dim_t m = 0, k = 0, n = 0, lda = 0, ldb = 0;
  float *a = NULL, *b = NULL, *c = NULL;
  double check = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    long id, dt, mm, kk, nn;
    int ita, itb;
    double target;
    if (sscanf(line, "%ld %ld %d %d %ld %ld %ld %lf", &id, &dt, &ita, &itb, &mm, &kk, &nn, &target) != 8) {
      fprintf(stderr, "dnnl_sgemm: bad request: %s", line);
      return 2;
    }
    if (dt != 0) { printf("skip 0\n"); continue; }
    const char transa = ita ? 'T' : 'N', transb = itb ? 'T' : 'N';
    if (id != cur) {
      free(a); free(b); free(c);
      cur = id; ta = ita; tb = itb; m = mm; k = kk; n = nn;
      lda = ta ? m : k; ldb = tb ? k : n;
      a = malloc(sizeof(float) * (size_t)(m * k));
      b = malloc(sizeof(float) * (size_t)(k * n));
      c = malloc(sizeof(float) * (size_t)(m * n));
      if (!a || !b || !c) { fprintf(stderr, "dnnl_sgemm: out of memory\n"); return 3; }
      for (long i = 0; i < m * k; ++i) a[i] = rnd();
      for (long i = 0; i < k * n; ++i) b[i] = rnd();
      if (dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n) != dnnl_success) {
        fprintf(stderr, "dnnl_sgemm failed\n");
        return 4;
      }
      /* Check sampled entries before any timing. */
      double maxc = 0, maxerr = 0;
      for (long i = 0; i < m * n; ++i) maxc = fmax(maxc, fabs(c[i]));
      for (int s = 0; s < 64; ++s) {
        long i = (long)((rnd() + 1) / 2 * (double)m), j = (long)((rnd() + 1) / 2 * (double)n);
        if (i >= m) i = m - 1;
        if (j >= n) j = n - 1;
        double want = 0;
        for (long p = 0; p < k; ++p)
          want += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
        maxerr = fmax(maxerr, fabs(c[i * n + j] - want));
      }
      check = maxc > 0 ? maxerr / maxc : maxerr;
      double t = now();
      dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
      double once = now() - t;
      reps = (long)(target / (once > 1e-7 ? once : 1e-7) + 0.5);
      if (reps < 1) reps = 1;
    }
    double t = now();
    for (long r = 0; r < reps; ++r) dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    double secs = now() - t;
    printf("%.6f %.3g\n", 2.0 * (double)m * (double)n * (double)k * (double)reps / secs / 1e9, check);
  }
  free(a); free(b); free(c);
  return 0;
}
