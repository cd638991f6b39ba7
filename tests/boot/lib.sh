# Shared by the boot tests that take "[KESTREL] [CASE...]" (sourced, not run):
# bios_boot_test.sh and memtest_test.sh. The caller cds to the repository root
# first, so every path here is the checkout's.
#
# boot_test_setup SUITE "DEFAULT CASES" ARGS...: sets suite (the summary line's
# label), root (the checkout), logs (build/test-logs, created), kestrel (the first
# of ARGS when it is an executable file, else build/kestrel), cases (the rest of
# ARGS, or the default cases when there are none) and the counters pass and fail.
boot_test_setup() {
  suite=$1
  local defaults=$2
  shift 2
  root=$(pwd)
  kestrel=$root/build/kestrel
  if [ $# -gt 0 ] && [ -x "$1" ] && [ ! -d "$1" ]; then
    kestrel=$1
    shift
  fi
  cases=("$@")
  [ ${#cases[@]} -eq 0 ] && read -r -a cases <<<"$defaults"
  logs=$root/build/test-logs
  mkdir -p "$logs"
  pass=0
  fail=0
}

# give_up WHAT REASON [LOG]: the suite cannot run at all: "FAIL WHAT: REASON" (with
# LOG's last lines), then the summary line that counts it as one failure; exits 1.
give_up() {
  echo "FAIL $1: $2"
  [ $# -gt 2 ] && tail -n 15 "$3" | sed 's/^/    | /'
  echo "$suite: 0 passed, 1 failed"
  exit 1
}

# result NAME REASON NOTE: "ok NAME (NOTE)" and one more pass when REASON is empty;
# else "FAIL NAME: REASON", one more failure and status 1 (the caller then shows
# its logs).
result() {
  if [ -z "$2" ]; then
    echo "ok $1 ($3)"
    pass=$((pass + 1))
  else
    echo "FAIL $1: $2"
    fail=$((fail + 1))
    return 1
  fi
}

# unknown_case NAME KNOWN: counts a case name the suite does not have as a failure.
unknown_case() {
  echo "FAIL $1: unknown case ($2)"
  fail=$((fail + 1))
}

# finish: the summary line "SUITE: N passed, M failed"; the exit status says whether
# everything passed.
finish() {
  echo "$suite: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
