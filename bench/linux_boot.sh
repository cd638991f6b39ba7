#!/usr/bin/env bash
# Boot benchmark (issue 5): wall time from process start to the shell's first line
# ("=== Kestrel guest: ..." printed by the initramfs's init just before the shell)
# for Kestrel and for QEMU's TCG with the same kernel and initramfs, in one run,
# and the ratio. Run on demand, never as a timed test.
#
#   bash bench/linux_boot.sh [RUNS]     (default 1 run each; the best time is kept)
#
# Needs qemu-system-x86 (installed with apt-get when missing) and the guest from
# scripts/prepare-guest.sh. Kestrel runs with its defaults (JIT on, icount clock)
# and again with --jit off.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
source bench/lib.sh
bash scripts/build.sh
bash scripts/prepare-guest.sh >/dev/null 2>&1
need_qemu
kernel=.cache/guest/bzImage
initrd=.cache/guest/initrd.gz
marker='=== Kestrel guest:'
limit=600

qemu=$(best_of "$runs" time_to_marker "$limit" "$marker" qemu-system-x86_64 -accel tcg -M pc -m 256 -nographic \
  -no-reboot -kernel "$kernel" -initrd "$initrd" -append console=ttyS0)
kjit=$(best_of "$runs" time_to_marker "$limit" "$marker" build/kestrel -m 256M --serial stdio --kernel "$kernel" \
  --initrd "$initrd" --append console=ttyS0)
kint=$(best_of "$runs" time_to_marker "$limit" "$marker" build/kestrel -m 256M --jit off --serial stdio \
  --kernel "$kernel" --initrd "$initrd" --append console=ttyS0)
printf 'linux boot to the shell (kernel %s, best of %d):\n' "$(cat .cache/guest/kernel-version)" "$runs"
printf '  qemu tcg          %8s s\n' "$qemu"
printf '  kestrel (jit)     %8s s   %sx qemu\n' "$kjit" "$(ratio "$kjit" "$qemu")"
printf '  kestrel (interp)  %8s s   %sx qemu\n' "$kint" "$(ratio "$kint" "$qemu")"
