# Shared by the tests that run the kestrel command and count cases (sourced, not
# run): the boot tests that take "[KESTREL] [CASE...]" (bios_boot_test.sh,
# memtest_test.sh), the option and loader checks (cli_options_test.sh,
# tests/guest/multiboot/run_multiboot_tests.sh, drive_options_test.sh) and the VGA
# test (vga_boot_test.sh).
# Results are counted in pass and fail; finish prints the suite's summary line.

# start_suite SUITE: SUITE labels the summary line; the counters start at 0.
start_suite() {
  suite=$1
  pass=0
  fail=0
}

# boot_test_setup SUITE "DEFAULT CASES" ARGS...: from the repository root (the
# caller cds there first): start_suite SUITE, and sets root (the checkout), logs
# (build/test-logs, created), kestrel (the first of ARGS when it is an executable
# file, else build/kestrel) and cases (the rest of ARGS, or the default cases when
# there are none).
boot_test_setup() {
  start_suite "$1"
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
}

# give_up WHAT REASON [LOG]: the suite cannot run at all: "FAIL WHAT: REASON" (with
# LOG's last lines), then the summary line that counts it as one failure; exits 1.
give_up() {
  echo "FAIL $1: $2"
  [ $# -gt 2 ] && tail -n 15 "$3" | sed 's/^/    | /'
  echo "$suite: 0 passed, 1 failed"
  exit 1
}

# require_files FILE...: exits with status 2 (an incomplete build, not a test
# result) naming the first FILE that does not exist.
require_files() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || { echo "$0: missing $f (build first)" >&2; exit 2; }
  done
}

# ok NAME: a passed case. bad NAME REASON: a failed one (status 1).
ok() {
  echo "ok $1"
  pass=$((pass + 1))
}
bad() {
  echo "FAIL $1: $2"
  fail=$((fail + 1))
  return 1
}

# result NAME REASON [NOTE]: ok (with " (NOTE)" after the name) when REASON is
# empty, else bad; status 1 on a failure, so the caller can then show its logs.
result() {
  if [ -z "$2" ]; then
    ok "$1${3:+ ($3)}"
  else
    bad "$1" "$2"
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

# check NAME STATUS INPUT PATTERN... -- KESTREL-ARGS...: runs $kestrel with INPUT
# (a file) on standard input for at most $limit seconds; passes when it exits with
# STATUS and its stdout+stderr match every PATTERN (grep -E). A failure shows the
# output's last 20 lines.
check() {
  local name=$1 want=$2 input=$3
  shift 3
  local patterns=()
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  local out status reason="" p
  out=$(timeout "$limit" "$kestrel" "$@" <"$input" 2>&1)
  status=$?
  if [ "$status" -ne "$want" ]; then
    reason="exit status $status, want $want"
  else
    for p in "${patterns[@]}"; do
      if ! printf '%s\n' "$out" | grep -Eq -- "$p"; then
        reason="no output line matches '$p'"
        break
      fi
    done
  fi
  result "$name" "$reason" || printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /'
}
