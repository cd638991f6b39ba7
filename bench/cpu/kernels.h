/* The CPU benchmark's kernels, shared by the guest (multiboot) and host builds. */
#ifndef KESTREL_BENCH_CPU_KERNELS_H
#define KESTREL_BENCH_CPU_KERNELS_H

struct bench_kernel {
  const char* name;
  unsigned (*run)(unsigned scale);  /* returns the kernel's checksum */
  unsigned rounds;                  /* rounds at scale 1 */
};

/* Terminated by an entry with name == 0. */
extern const struct bench_kernel bench_kernels[];

/* Re-seeds the data generator; every run seeds it the same way. */
void bench_seed(unsigned seed);

#endif
