// bench/crosscore.c: the cost of reading data another core has just written (issue 16, DISTRIBUTED.md session 23).
// Core 0 and core 1 take turns: one writes N floats, the other reads them all (a sum); prints the reader's median time
// in microseconds and, for comparison, the same read of data the reading core wrote itself. N = 117,573 floats: half
// of the MLP's 235,146 parameters, what each rank of a sharded 2-process step must read from the other twice a step
// (its gradient half, then its updated parameter half).
//   gcc -O2 -mavx512f -pthread bench/crosscore.c -o /tmp/crosscore && /tmp/crosscore
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <time.h>
#include <immintrin.h>
#define N 117573
#define ROUNDS 2000
static float *buf;
static _Atomic int phase;
static double rd[ROUNDS], wr[ROUNDS];
static volatile float sink;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec * 1e-3; }
static void pin(int c) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(c, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }
static void *worker(void *arg) {
  int me = (int)(long)arg; pin(me);
  for (int r = 0; r < ROUNDS; r++) {
    int writer = r & 1;
    if (me == writer) {
      while (atomic_load(&phase) != 2 * r) _mm_pause();
      double t0 = now();
      __m512 v = _mm512_set1_ps((float)r);
      for (int i = 0; i + 16 <= N; i += 16) _mm512_storeu_ps(buf + i, v);
      wr[r] = now() - t0;
      atomic_store(&phase, 2 * r + 1);
    } else {
      while (atomic_load(&phase) != 2 * r + 1) _mm_pause();
      double t0 = now();
      __m512 s = _mm512_setzero_ps();
      for (int i = 0; i + 16 <= N; i += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(buf + i));
      sink = _mm512_reduce_add_ps(s);
      rd[r] = now() - t0;
      atomic_store(&phase, 2 * r + 2);
    }
  }
  return 0;
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(void) {
  buf = aligned_alloc(64, (N * 4 + 63) / 64 * 64);
  pthread_t a, b; pthread_create(&a, 0, worker, (void *)0); pthread_create(&b, 0, worker, (void *)1);
  pthread_join(a, 0); pthread_join(b, 0);
  qsort(rd + 100, ROUNDS - 100, sizeof(double), cmp); qsort(wr + 100, ROUNDS - 100, sizeof(double), cmp);
  int m = 100 + (ROUNDS - 100) / 2, p10 = 100 + (ROUNDS - 100) / 10;
  printf("bytes %d read_other_core_us median %.2f p10 %.2f write_us median %.2f p10 %.2f\n", N * 4, rd[m], rd[p10], wr[m], wr[p10]);
  // The same read of data this core wrote itself (in its own cache): the local cost.
  double best = 1e9, t;
  for (int r = 0; r < 200; r++) { __m512 v = _mm512_set1_ps(r); for (int i = 0; i + 16 <= N; i += 16) _mm512_storeu_ps(buf + i, v);
    double t0 = now(); __m512 s = _mm512_setzero_ps(); for (int i = 0; i + 16 <= N; i += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(buf + i)); sink = _mm512_reduce_add_ps(s); t = now() - t0; if (t < best) best = t; }
  printf("read_own_cache_us best %.2f\n", best);
  return 0;
}
