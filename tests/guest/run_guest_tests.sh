#!/usr/bin/env bash
# Runs every assembled guest test program under kestrel and reports one line each.
#
# usage: run_guest_tests.sh [KESTREL [BUILD_DIR [PROGRAM...]]] [-- KESTREL_ARGS...]
#   KESTREL      the kestrel binary (default: BUILD_DIR/kestrel, else BUILD_DIR/src/cli/kestrel)
#   BUILD_DIR    the meson build directory holding tests/guest/*.bin (default: build)
#   PROGRAM...   run only these programs (names without .bin)
#   KESTREL_ARGS extra options for every run (e.g. a CPU tier, once there are several)
#
# A program passes when kestrel exits with status 0 within the time limit, its
# standard output holds the line "PASS <name>", and no line of it starts with
# "FAIL". Prints "ok <name>" or "FAIL <name>: <reason>" with the last lines of
# output, then "guest: N passed, M failed". Exit status 1 if any failed, 2 on a
# usage problem. GUEST_TIMEOUT (seconds, default 20) bounds each run.
set -u

kestrel=""
build="build"
programs=()
extra=()
pos=0
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  case $pos in
    0) kestrel=$1 ;;
    1) build=$1 ;;
    *) programs+=("$1") ;;
  esac
  pos=$((pos + 1))
  shift
done

if [ -z "$kestrel" ]; then
  if [ -x "$build/kestrel" ]; then kestrel="$build/kestrel"; else kestrel="$build/src/cli/kestrel"; fi
fi
if [ ! -x "$kestrel" ]; then
  echo "run_guest_tests: kestrel binary '$kestrel' not found or not executable (pass it as the first argument)" >&2
  exit 2
fi
bindir="$build/tests/guest"
if [ ${#programs[@]} -eq 0 ]; then
  shopt -s nullglob
  for f in "$bindir"/*.bin; do programs+=("$(basename "$f" .bin)"); done
  shopt -u nullglob
fi
if [ ${#programs[@]} -eq 0 ]; then
  echo "run_guest_tests: no guest programs in '$bindir' (build them first: ninja -C $build)" >&2
  exit 2
fi

limit=${GUEST_TIMEOUT:-20}
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
    # Every FAIL line (they name the failed checks), then the end of the output.
    grep '^FAIL' "$out" | head -n 40 | sed 's/^/    | /'
    tail -n 12 "$out" | grep -v '^FAIL' | sed 's/^/    | /'
    tail -n 8 "$err" | sed 's/^/    ! /'
    failed=$((failed + 1))
  fi
done

echo "guest: $passed passed, $failed failed"
[ $failed -eq 0 ]
