#!/usr/bin/env bash
# CPU benchmark (issue 6, bench (a)): the integer kernels of bench/cpu (hashing,
# sorting, a bytecode interpreter, memcpy/memset, string search) as a multiboot
# kernel on Kestrel with the JIT, Kestrel's interpreter and QEMU's TCG
# (qemu-system-x86_64 -accel tcg, same image), and natively (the same C code built
# as a 32-bit host program with the same flags), all in one run.
#
#   bash bench/cpu.sh [SCALE] [RUNS]    (default scale 1, 1 run each; the best time is kept)
#
# Reports wall time per runner, guest MIPS (Kestrel's retired-instruction count of
# the same image divided by each runner's time), the slowdown against native and
# the ratio against QEMU. Every runner must print the same checksum as native.
# Run on demand, never as a timed test. QEMU's time includes its SeaBIOS start
# (about 0.07 s here); Kestrel loads the kernel directly.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
scale=${1:-1}
runs=${2:-1}
bash scripts/build.sh >/dev/null
need_qemu
elf=build/bench/cpu/cpu-bench.elf
host=build/bench/cpu/cpu-bench-host
[ -f "$elf" ] || { echo "bench: $elf was not built (needs gcc-multilib on an x86 host)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: runs CMD RUNS times, keeps the best wall time in $tmp/NAME.time
# and the output of the last run in $tmp/NAME.out.
run() {
  local name=$1 best="" t s e
  shift
  for ((i = 0; i < runs; i++)); do
    s=$(date +%s.%N)
    "$@" </dev/null >"$tmp/$name.out" 2>&1 || true
    e=$(date +%s.%N)
    t=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  echo "$best" >"$tmp/$name.time"
}
checksum() { tr -d '\r' <"$tmp/$1.out" | awk '/^cpu-bench: checksum/ { print $3 }' | tail -n 1; }

run native "$host" "$scale"
run qemu qemu-system-x86_64 -accel tcg -M pc -m 64 -nographic -no-reboot -nodefaults -serial stdio \
  -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$elf" -append "scale=$scale"
run kjit build/kestrel -m 64M --serial stdio --debug-exit --stats --kernel "$elf" --append "scale=$scale"
run kint build/kestrel -m 64M --serial stdio --debug-exit --stats --jit off --kernel "$elf" --append "scale=$scale"

want=$(checksum native)
insns=$(awk '/kestrel: stats:/ { print $3 }' "$tmp/kjit.out" | tail -n 1)
native_t=$(cat "$tmp/native.time")
qemu_t=$(cat "$tmp/qemu.time")
echo "cpu-bench, scale $scale, $insns guest instructions, best of $runs run(s), $(date -u +%Y-%m-%d)"
printf '%-18s %9s %9s %12s %10s  %s\n' runner seconds MIPS vs-native vs-QEMU checksum
for r in native qemu kjit kint; do
  t=$(cat "$tmp/$r.time")
  c=$(checksum "$r")
  ok=ok
  [ "$c" = "$want" ] || ok="WRONG (want $want)"
  case $r in
    native) label="native (host)" ;;
    qemu) label="QEMU TCG" ;;
    kjit) label="Kestrel JIT" ;;
    kint) label="Kestrel interp" ;;
  esac
  awk -v l="$label" -v t="$t" -v n="$insns" -v nt="$native_t" -v qt="$qemu_t" -v c="$c" -v ok="$ok" \
    'BEGIN { printf "%-18s %9.3f %9.1f %11.2fx %9.2fx  %s %s\n", l, t, n / t / 1e6, t / nt, t / qt, c, ok }'
done
echo "(vs-QEMU below 1.00x means faster than QEMU)"
