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
bash scripts/build.sh
bash scripts/prepare-guest.sh >/dev/null 2>&1
if ! command -v qemu-system-x86_64 >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "bench: install qemu-system-x86 (needs root)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
fi
kernel=.cache/guest/bzImage
initrd=.cache/guest/initrd.gz
marker='=== Kestrel guest:'
limit=600

# time_to_marker CMD...: seconds until CMD prints the marker line (then CMD is killed).
time_to_marker() {
  local start end line pid out
  out=$(mktemp -u /tmp/kestrel-bench.XXXXXX)
  mkfifo "$out"
  start=$(date +%s.%N)
  "$@" </dev/null >"$out" 2>/dev/null &
  pid=$!
  end=""
  while IFS= read -r -t "$limit" line; do
    if [[ "$line" == *"$marker"* ]]; then
      end=$(date +%s.%N)
      break
    fi
  done <"$out"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  [ -n "$end" ] || { echo "timeout"; return; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

best() {
  local b="" t
  for ((i = 0; i < runs; i++)); do
    t=$(time_to_marker "$@")
    [ "$t" = timeout ] && { echo timeout; return; }
    if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b"
}

qemu=$(best qemu-system-x86_64 -accel tcg -M pc -m 256 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$initrd" -append console=ttyS0)
kjit=$(best build/kestrel -m 256M --serial stdio --kernel "$kernel" --initrd "$initrd" --append console=ttyS0)
kint=$(best build/kestrel -m 256M --jit off --serial stdio --kernel "$kernel" --initrd "$initrd" --append console=ttyS0)
ratio() {
  if [ "$1" = timeout ] || [ "$2" = timeout ]; then echo "-"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
printf 'linux boot to the shell (kernel %s, best of %d):\n' "$(cat .cache/guest/kernel-version)" "$runs"
printf '  qemu tcg          %8s s\n' "$qemu"
printf '  kestrel (jit)     %8s s   %sx qemu\n' "$kjit" "$(ratio "$kjit" "$qemu")"
printf '  kestrel (interp)  %8s s   %sx qemu\n' "$kint" "$(ratio "$kint" "$qemu")"
