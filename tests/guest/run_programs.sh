# Shared by run_guest_tests.sh and system/run_system_tests.sh (sourced, not run):
# runs guest programs under kestrel and reports one line each.
#
# run_programs LABEL KESTREL BIN_DIR LIMIT: runs every name in the array
# `programs` (every BIN_DIR/*.bin when empty) as `KESTREL --load NAME.bin@0x7c00
# --entry 0000:7c00 ${extra[@]}`. A program passes when kestrel exits with status
# 0 within LIMIT seconds, its output holds the line "PASS <name>" and no line of
# it starts with "FAIL". Prints "ok <name>" or "FAIL <name>: <reason>" (with the
# FAIL lines and the end of the output), then "LABEL: N passed, M failed".
# Returns 1 if any failed, 2 when there is nothing to run.
run_programs() {
  local label=$1 kestrel=$2 bindir=$3 limit=$4
  if [ ${#programs[@]} -eq 0 ]; then
    shopt -s nullglob
    local f
    for f in "$bindir"/*.bin; do programs+=("$(basename "$f" .bin)"); done
    shopt -u nullglob
  fi
  if [ ${#programs[@]} -eq 0 ]; then
    echo "$label: no guest programs (.bin) in '$bindir' (build them first)" >&2
    return 2
  fi
  local tmp
  tmp=$(mktemp -d)
  local passed=0 failed=0 name bin out err status reason n
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
  rm -rf "$tmp"
  echo "$label: $passed passed, $failed failed"
  [ $failed -eq 0 ]
}
