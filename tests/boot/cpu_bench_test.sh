#!/usr/bin/env bash
# The CPU benchmark guest as a differential test: bench/cpu's kernels (hashing,
# sorting, a bytecode interpreter, memcpy/memset, string search) built as a
# multiboot kernel must print the same per-kernel checksums as the same C code
# run natively on the host, with the JIT on, off and in verify mode.
#
# usage: cpu_bench_test.sh KESTREL BUILD_DIR
# Prints "ok"/"FAIL" per case, then "cpu-bench-test: N passed, M failed".
set -u
kestrel=$1
build=$2
elf=$build/bench/cpu/cpu-bench.elf
host=$build/bench/cpu/cpu-bench-host
for f in "$kestrel" "$elf" "$host"; do
  [ -f "$f" ] || { echo "$0: missing $f (build first)" >&2; echo "cpu-bench-test: 0 passed, 1 failed"; exit 1; }
done
# The per-kernel checksum lines without the host's timings.
want=$("$host" quick | awk '/^cpu-bench: / && $2 != "total" { print $2, $3 }')
pass=0
fail=0
for mode in on off verify; do
  out=$(timeout 300 "$kestrel" -m 64M --serial stdio --debug-exit --jit "$mode" \
        --kernel "$elf" --append quick </dev/null 2>&1)
  status=$?
  got=$(printf '%s\n' "$out" | tr -d '\r' | awk '/^cpu-bench: / { print $2, $3 }')
  if [ "$status" -eq 1 ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
    echo "ok   --jit $mode"
    pass=$((pass + 1))
  else
    echo "FAIL --jit $mode: exit status $status (want 1)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | head -20
    printf '%s\n' "$out" | tail -5
    fail=$((fail + 1))
  fi
done
# --perf-map: the JIT names every translated block in /tmp/perf-PID.map (PID: kestrel's).
"$kestrel" -m 64M --serial stdio --debug-exit --perf-map --kernel "$elf" --append quick </dev/null >/dev/null 2>&1 &
pid=$!
wait "$pid"
map=/tmp/perf-$pid.map
blocks=$(grep -cE '^[0-9a-f]+ [0-9a-f]+ kestrel:guest-lin-[0-9a-f]+$' "$map" 2>/dev/null)
others=$(grep -cvE '^[0-9a-f]+ [0-9a-f]+ kestrel:(guest-lin|trampoline)-[0-9a-f]+$' "$map" 2>/dev/null)
if [ "${blocks:-0}" -ge 50 ] && [ "${others:-1}" -eq 0 ]; then
  echo "ok   --perf-map ($blocks blocks named)"
  pass=$((pass + 1))
else
  echo "FAIL --perf-map: $map has ${blocks:-no} block lines and ${others:-?} malformed ones"
  head -5 "$map" 2>/dev/null
  fail=$((fail + 1))
fi
rm -f "$map"
echo "cpu-bench-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
