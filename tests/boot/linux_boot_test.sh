#!/usr/bin/env bash
# The Linux boot test: boots Debian's kernel with the CI initramfs from
# scripts/prepare-guest.sh under kestrel and checks that the guest's /init printed
# "KESTREL-BOOT-TEST: PASS" (uname -r, no Oops/BUG/Call Trace in dmesg, a checksum
# computed in the guest matches the host's), that the console shows no Oops, BUG
# or kernel panic, that the kernel took the CPU model's speculation controls (no
# page-table isolation, no "Vulnerable", no retpolines or software BHB clearing:
# see machine/msr.cpp, arch_capabilities), and that kestrel ended with exit status 0
# (the guest powers off through ACPI S5).
#
# usage: linux_boot_test.sh [--pvh] [KESTREL] [-- KESTREL_ARGS...]
#   --pvh         boot the uncompressed vmlinux through its PVH entry instead of
#                 the bzImage (skips the in-guest decompression)
#   KESTREL       the kestrel binary (default: build/kestrel)
#   KESTREL_ARGS  extra options (e.g. --jit verify --jit-verify-every 64); the
#                 console log's name then carries them
#
# Prints "ok linux-boot" or "FAIL linux-boot: <reason>" with the console's last
# lines, then "linux-boot: N passed, M failed"; exit status 1 on failure, 2 when
# the guest cannot be prepared. LINUX_BOOT_TIMEOUT (seconds, default 900) bounds
# the run; the full console log is kept in build/test-logs/linux-boot-console.log.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)

kernel_kind=bzImage
if [ "${1:-}" = "--pvh" ]; then
  kernel_kind=vmlinux
  shift
fi
kestrel=$root/build/kestrel
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  kestrel=$1
  shift
fi
extra=()
if [ "${1:-}" = "--" ]; then
  shift
  extra=("$@")
fi
limit=${LINUX_BOOT_TIMEOUT:-900}
if [ ! -x "$kestrel" ]; then
  echo "$0: no kestrel binary at $kestrel (build first)" >&2
  exit 2
fi
mkdir -p build/test-logs
if ! bash scripts/prepare-guest.sh >build/test-logs/prepare-guest.log 2>&1; then
  echo "$0: scripts/prepare-guest.sh failed: cannot get the guest kernel and initramfs" >&2
  tail -n 5 build/test-logs/prepare-guest.log >&2
  exit 2
fi
guest=$root/.cache/guest
kernel=$guest/$kernel_kind
if [ ! -f "$kernel" ]; then
  echo "$0: $kernel is missing (prepare-guest.sh could not produce it)" >&2
  exit 2
fi
suffix=$(printf '%s' "${extra[*]:-}" | tr -c 'A-Za-z0-9' '-' | sed 's/--*/-/g; s/^-//; s/-$//')
log=$root/build/test-logs/linux-boot-console${suffix:+-$suffix}.log

# panic=-1 and --no-reboot: a kernel panic ends the run at once instead of hanging
# until the timeout (it still fails below: no PASS marker, "Kernel panic" in the log).
start=$(date +%s)
timeout "$limit" "$kestrel" -m 256M --kernel "$kernel" --initrd "$guest/initrd-ci.gz" \
  --append "console=ttyS0 panic=-1" --no-reboot --serial-input none "${extra[@]}" </dev/null >"$log" 2>&1
status=$?
end=$(date +%s)

reason=""
if [ "$status" -eq 124 ]; then
  reason="timed out after ${limit}s"
elif ! grep -q '^KESTREL-BOOT-TEST: PASS' "$log"; then
  reason="no PASS marker$(grep -m1 '^KESTREL-BOOT-TEST: FAIL' "$log" | sed 's/^KESTREL-BOOT-TEST: / (/; s/$/)/')"
elif grep -Eq 'Oops|BUG:|Call Trace|Kernel panic' "$log"; then
  reason="the console shows: $(grep -Em1 'Oops|BUG:|Call Trace|Kernel panic' "$log")"
elif grep -Eq 'page tables isolation: enabled|Vulnerable|Retpolines|SW BHB clearing' "$log"; then
  reason="the kernel mitigates what the CPU model says it is immune to: $(grep -Em1 'page tables isolation: enabled|Vulnerable|Retpolines|SW BHB clearing' "$log")"
elif [ "$status" -ne 0 ]; then
  reason="kestrel exit status $status, want 0"
fi
if [ -z "$reason" ]; then
  echo "ok linux-boot ($kernel_kind${extra[*]:+ ${extra[*]}}, $((end - start))s, $(grep -m1 '^KESTREL-BOOT-TEST: kernel' "$log" | sed 's/^KESTREL-BOOT-TEST: //'))"
  echo "linux-boot: 1 passed, 0 failed"
  exit 0
fi
echo "FAIL linux-boot: $reason (full log: $log)"
tail -n 25 "$log" | sed 's/^/    | /'
echo "linux-boot: 0 passed, 1 failed"
exit 1
