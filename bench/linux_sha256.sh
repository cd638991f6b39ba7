#!/usr/bin/env bash
# A CPU workload inside the Linux guest (issue 6, bench (c)):
#   dd if=/dev/zero bs=1M count=16 | tr '\000' k | sha256sum
# run three times by the initramfs of scripts/prepare-guest.sh (initrd-bench.gz)
# under QEMU's TCG and Kestrel (JIT), and natively with the same busybox binary.
# Each round is timed on the host, from the moment its START line reaches the
# serial console to the moment its END line does; the best round is kept.
#
#   bash bench/linux_sha256.sh
#
# Run on demand, never as a timed test.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bash scripts/build.sh >/dev/null
bash scripts/prepare-guest.sh >/dev/null 2>&1
need_qemu
kernel=.cache/guest/bzImage
initrd=.cache/guest/initrd-bench.gz
busybox=.cache/guest/busybox-root/bin/busybox
want=$(dd if=/dev/zero bs=1M count=16 2>/dev/null | tr '\000' k | sha256sum | cut -d' ' -f1)
limit=900

# best_round CMD...: runs CMD, prints the best START→END round time in seconds
# (or "failed: why").
best_round() {
  local out pid line start="" best="" t now
  out=$(mktemp -u /tmp/kestrel-bench.XXXXXX)
  mkfifo "$out"
  "$@" </dev/null >"$out" 2>/dev/null &
  pid=$!
  while IFS= read -r -t "$limit" line; do
    line=${line%$'\r'}
    now=$(date +%s.%N)
    case "$line" in
      *"KESTREL-BENCH: START"*) start=$now ;;
      *"KESTREL-BENCH: END"*)
        [ "${line##* }" = "$want" ] || { best="failed: wrong sha256 ${line##* }"; break; }
        t=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi ;;
    esac
  done <"$out"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  echo "${best:-failed: no END line}"
}

native_best=""
for i in 1 2 3; do
  s=$(date +%s.%N)
  got=$("$busybox" sh -c "dd if=/dev/zero bs=1M count=16 2>/dev/null | $busybox tr '\\000' k | $busybox sha256sum" | cut -d' ' -f1)
  e=$(date +%s.%N)
  [ "$got" = "$want" ] || { echo "bench: native busybox sha256 is wrong" >&2; exit 1; }
  t=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
  if [ -z "$native_best" ] || awk -v t="$t" -v b="$native_best" 'BEGIN { exit !(t < b) }'; then native_best=$t; fi
done
qemu=$(best_round qemu-system-x86_64 -accel tcg -M pc -m 256 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet")
kjit=$(best_round build/kestrel -m 256M --serial stdio --kernel "$kernel" --initrd "$initrd" --append "console=ttyS0 quiet")

echo "sha256sum of 16 MiB in the guest (Linux $(cat .cache/guest/kernel-version), busybox), best of 3 rounds, $(date -u +%Y-%m-%d)"
printf '%-16s %9s %11s %9s\n' runner seconds vs-native vs-QEMU
for r in native qemu kjit; do
  case $r in native) l="native busybox"; t=$native_best ;; qemu) l="QEMU TCG"; t=$qemu ;; kjit) l="Kestrel JIT"; t=$kjit ;; esac
  case $t in failed*) printf '%-16s %s\n' "$l" "$t"; continue ;; esac
  case $qemu in failed*) q=0 ;; *) q=$qemu ;; esac
  awk -v l="$l" -v t="$t" -v n="$native_best" -v q="$q" \
    'BEGIN { printf "%-16s %9.3f %10.2fx %8s\n", l, t, t / n, (q > 0 ? sprintf("%.2fx", t / q) : "-") }'
done
echo "(vs-QEMU below 1.00x means faster than QEMU)"
