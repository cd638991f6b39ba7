/* The CPU benchmark as a host program (the native baseline, issue 6 bench (a)):
 * the same kernels.c as the guest, built with the same compiler flags for the
 * same 32-bit target, timed with the host's monotonic clock.
 *
 *   cpu-bench-host [SCALE|quick]   prints one line per kernel and the checksum line
 *   (quick: one round of each kernel, as the guest's "quick" for the CI check)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
  unsigned scale = argc > 1 && !quick ? (unsigned)strtoul(argv[1], 0, 0) : 1;
  if (scale == 0 || argc > 2) {
    fprintf(stderr, "usage: %s [SCALE>=1 | quick]\n", argv[0]);
    return 2;
  }
  unsigned total = 0;
  double start = now();
  bench_seed(1);
  for (const struct bench_kernel* k = bench_kernels; k->name; ++k) {
    double t = now();
    unsigned sum = k->run(quick ? 1 : k->rounds * scale);
    printf("cpu-bench: %-7s %08x %.3f s\n", k->name, sum, now() - t);
    total = total * 0x9E3779B1u + sum;
  }
  printf("cpu-bench: checksum %08x\n", total);
  printf("cpu-bench: total %.3f s\n", now() - start);
  return 0;
}
