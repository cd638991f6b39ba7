#!/usr/bin/env bash
# The main job: builds Kestrel and boots the default guest, Debian's Linux kernel
# (linux-image-amd64) with a busybox initramfs, its serial console on the terminal.
#
#   scripts/run.sh [ARGS...]          Linux: scripts/prepare-guest.sh fetches the
#                                     kernel and busybox-static with apt-get download
#                                     into .cache/guest/ (nothing is installed); a
#                                     shell prompt once it is up; Ctrl-A X quits,
#                                     Ctrl-A H lists the keys; ARGS go to kestrel
#   scripts/run.sh --demo [ARGS...]   the small demo guest in firmware/demo (real
#                                     mode -> protected mode -> long mode, a workload)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--demo" ]]; then
  shift
  bash scripts/build.sh
  exec build/kestrel --load build/firmware/demo/demo.bin@0x7c00 "$@"
fi
[[ "${1:-}" == "--linux" ]] && shift  # the default; accepted for compatibility
bash scripts/build.sh
bash scripts/prepare-guest.sh
# Host time: an interactive guest should keep wall-clock time and sleep when idle.
exec build/kestrel -m 256M --clock host --kernel .cache/guest/bzImage --initrd .cache/guest/initrd.gz \
  --append "console=ttyS0" "$@"
