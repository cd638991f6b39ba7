// difftest-child32: the native runner in a 32-bit process (built with -m32).
// Usage (by the driver only): difftest-child32 CMD_FD REPLY_FD SHM_FD
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "layout.h"
#include "native.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "difftest-child32: started by difftest (usage: difftest-child32 CMD_FD REPLY_FD SHM_FD)\n");
    return 2;
  }
  int cmd = atoi(argv[1]), reply = atoi(argv[2]), shm_fd = atoi(argv[3]);
  void* shm = mmap(nullptr, difftest::kShmSize, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  if (shm == MAP_FAILED) {
    perror("difftest-child32: mmap of the shared block");
    return 2;
  }
  return difftest::native_runner_main(cmd, reply, shm);
}
