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
source "$(dirname "$0")/run_programs.sh"
run_programs guest "$kestrel" "$build/tests/guest" "${GUEST_TIMEOUT:-20}"
