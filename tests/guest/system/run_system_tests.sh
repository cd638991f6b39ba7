#!/usr/bin/env bash
# Runs the system guest test programs (tests/guest/system) under kestrel.
#
# usage: run_system_tests.sh KESTREL BIN_DIR [PROGRAM...] [-- KESTREL_ARGS...]
#   KESTREL      the kestrel binary
#   BIN_DIR      the directory holding the assembled NAME.bin files
#                (the build directory's tests/guest/system)
#   PROGRAM...   run only these programs (names without .bin); default: every .bin
#   KESTREL_ARGS extra options for every run
#
# A program passes when kestrel exits with status 0 within the time limit (the
# guest ended with CLI; HLT), its output holds the line "PASS <name>" and no
# line of it starts with "FAIL". Prints "ok <name>" or "FAIL <name>: <reason>"
# (with the FAIL lines and the end of the output), then
# "system: N passed, M failed". Exit status 1 if any failed, 2 on a usage
# problem. SYSTEM_TIMEOUT (seconds, default 20) bounds each run.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 KESTREL BIN_DIR [PROGRAM...] [-- KESTREL_ARGS...]" >&2
  exit 2
fi
kestrel=$1
bindir=$2
shift 2
programs=()
extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  programs+=("$1")
  shift
done

if [ ! -x "$kestrel" ]; then
  echo "run_system_tests: kestrel binary '$kestrel' not found or not executable" >&2
  exit 2
fi
if [ ${#programs[@]} -eq 0 ]; then
  shopt -s nullglob
  for f in "$bindir"/*.bin; do programs+=("$(basename "$f" .bin)"); done
  shopt -u nullglob
fi
if [ ${#programs[@]} -eq 0 ]; then
  echo "run_system_tests: no .bin files in '$bindir' (build them first)" >&2
  exit 2
fi

limit=${SYSTEM_TIMEOUT:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
for name in "${programs[@]}"; do
  bin="$bindir/$name.bin"
  out="$tmp/$name.out"
  err="$tmp/$name.err"
  if [ ! -f "$bin" ]; then
    echo "FAIL $name: $bin does not exist"
    failed=$((failed + 1))
    continue
  fi
  timeout "$limit" "$kestrel" --load "$bin@0x7c00" --entry 0000:7c00 "${extra[@]}" >"$out" 2>"$err" </dev/null
  status=$?
  reason=""
  if [ $status -eq 124 ]; then
    reason="timed out after ${limit}s"
  elif [ $status -ne 0 ]; then
    reason="exit status $status"
  fi
  if grep -q '^FAIL' "$out"; then
    n=$(grep -c '^FAIL' "$out")
    reason="${reason:+$reason; }$n FAIL line(s)"
  fi
  if ! grep -qx "PASS $name" "$out"; then
    reason="${reason:+$reason; }no 'PASS $name' line"
  fi
  if [ -z "$reason" ]; then
    echo "ok $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $reason"
    grep '^FAIL' "$out" | head -n 40 | sed 's/^/    | /'
    tail -n 12 "$out" | grep -v '^FAIL' | sed 's/^/    | /'
    tail -n 8 "$err" | sed 's/^/    ! /'
    failed=$((failed + 1))
  fi
done

echo "system: $passed passed, $failed failed"
[ $failed -eq 0 ]
