# Shared by the benchmarks that race Kestrel against QEMU's TCG (sourced, not run).

# need_qemu: installs qemu-system-x86 with apt-get when qemu-system-x86_64 is
# missing; without root it says what to install and exits.
need_qemu() {
  command -v qemu-system-x86_64 >/dev/null && return
  [ "$(id -u)" -eq 0 ] || { echo "bench: install qemu-system-x86 (needs root)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
}

# time_to_marker LIMIT MARKER CMD...: seconds from starting CMD until it prints a
# line containing MARKER (then CMD is killed), or "timeout" when CMD prints nothing
# for LIMIT seconds or ends first. CMD's output goes through a fifo, so the marker
# is seen the moment its line is written.
time_to_marker() {
  local limit=$1 marker=$2 start end line pid out
  shift 2
  out=$(mktemp -u /tmp/kestrel-bench.XXXXXX)
  mkfifo "$out"
  start=$(date +%s.%N)
  "$@" </dev/null >"$out" 2>/dev/null &
  pid=$!
  end=""
  while IFS= read -r -t "$limit" line; do
    if [[ "$line" == *"$marker"* ]]; then
      end=$(date +%s.%N)
      break
    fi
  done <"$out"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  [ -n "$end" ] || { echo "timeout"; return; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

# best_of RUNS CMD...: the smallest of the times CMD prints over RUNS runs, or
# "timeout" as soon as one run prints it.
best_of() {
  local runs=$1 b="" t i
  shift
  for ((i = 0; i < runs; i++)); do
    t=$("$@")
    [ "$t" = timeout ] && { echo timeout; return; }
    if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b"
}

# ratio A B: A / B to two decimals, or "-" when either timed out.
ratio() {
  if [ "$1" = timeout ] || [ "$2" = timeout ]; then echo "-"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
