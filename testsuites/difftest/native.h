// The native runner: executes difftest cases on the host CPU (the forked 64-bit
// child of the driver, and difftest-child32 built with -m32). See native.cpp.
#pragma once

namespace difftest {

// Serves batches: reads commands from cmd_fd, runs the cases in `shm` (a block of
// kShmSize bytes laid out as in layout.h), answers on reply_fd. Returns the exit status.
int native_runner_main(int cmd_fd, int reply_fd, void* shm);

}  // namespace difftest
