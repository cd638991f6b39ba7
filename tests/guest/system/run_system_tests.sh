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
source "$(dirname "$0")/../run_programs.sh"
run_programs system "$kestrel" "$bindir" "${SYSTEM_TIMEOUT:-20}"
