#!/usr/bin/env bash
# The main job: builds Kestrel and boots the default guest.
# Today the default guest is the demo in firmware/demo (real mode -> protected
# mode -> long mode, a workload, a report).
#
#   scripts/run.sh [ARGS...]           the demo; ARGS go to kestrel
#   scripts/run.sh --linux [ARGS...]   Debian's Linux kernel with a busybox
#                                      initramfs (scripts/prepare-guest.sh fetches
#                                      them into .cache/guest/), its console on the
#                                      terminal: a shell prompt once it is up,
#                                      Ctrl-A X quits; ARGS go to kestrel
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--linux" ]]; then
  shift
  bash scripts/build.sh
  bash scripts/prepare-guest.sh
  # Host time: an interactive guest should keep wall-clock time and sleep when idle.
  exec build/kestrel -m 256M --clock host --kernel .cache/guest/bzImage --initrd .cache/guest/initrd.gz \
    --append "console=ttyS0" "$@"
fi
bash scripts/build.sh
exec build/kestrel --load build/firmware/demo/demo.bin@0x7c00 "$@"
