#!/usr/bin/env bash
# memtest86+ as a kernel: Debian's memtest86+ (fetched with apt-get download into
# .cache/guest, not installed) boots through the Linux boot protocol with its
# serial console on COM1 and 64 MiB of RAM, and must run its tests #0 to #9 with no
# error. Its console is a VT100 screen; the test reads the test numbers ("#N  [...")
# and the error counter ("Errors: N") from it and stops the run when test #10 (the
# bit-fade test, which waits minutes of guest time by design) begins, or when the
# first pass ends. Slow: about 60 s of guest time (60 G instructions with the
# default instruction-counted clock), 12-25 minutes on this machine; run on demand.
#
# usage: memtest_test.sh [KESTREL]
# Prints "ok memtest" or "FAIL memtest: reason", then "memtest: N passed, M failed".
# MEMTEST_TIMEOUT (seconds, default 1500) bounds the run; the console is kept in
# build/test-logs/memtest-console.log.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
kestrel=${1:-$root/build/kestrel}
limit=${MEMTEST_TIMEOUT:-1500}
cache=$root/.cache/guest
logs=$root/build/test-logs
mkdir -p "$logs" "$cache/debs"
log=$logs/memtest-console.log

fail() {
  echo "FAIL memtest: $1"
  [ -f "$log" ] && tail -c 1500 "$log" | tr -c '[:print:]\n' ' ' | sed 's/^/    | /' | tail -n 8
  echo "memtest: 0 passed, 1 failed"
  exit 1
}

image=$cache/memtest-root/boot/memtest86+x64.bin
if [ ! -f "$image" ]; then
  deb=$(ls "$cache"/debs/memtest86+_*.deb 2>/dev/null | head -n 1)
  if [ -z "$deb" ]; then
    (cd "$cache/debs" && apt-get download memtest86+ >"$logs/memtest-download.log" 2>&1) ||
      fail "apt-get download memtest86+ failed (see $logs/memtest-download.log)"
    deb=$(ls "$cache"/debs/memtest86+_*.deb 2>/dev/null | head -n 1)
  fi
  [ -n "$deb" ] || fail "no memtest86+ package in $cache/debs"
  rm -rf "$cache/memtest-root"
  dpkg-deb -x "$deb" "$cache/memtest-root" || fail "dpkg-deb -x $deb failed"
  [ -f "$image" ] || fail "$deb has no boot/memtest86+x64.bin"
fi

# Run in the background, watch the console, stop at test #10 (or the end of pass 1).
start=$(date +%s)
: >"$log"
"$kestrel" -m 64M --kernel "$image" --append "console=ttyS0,115200" --display none \
  --serial stdio --serial-input none --no-reboot </dev/null >"$log" 2>&1 &
pid=$!
reason=""
while :; do
  sleep 2
  if grep -aq '#10 *\[\|Pass: *1 ' "$log"; then break; fi
  if grep -aqE 'Errors: *[1-9]' "$log"; then reason="memtest reports errors"; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then reason="kestrel ended before test #10"; break; fi
  if [ $(($(date +%s) - start)) -ge "$limit" ]; then reason="timed out after ${limit}s"; break; fi
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
end=$(date +%s)
[ -n "$reason" ] && fail "$reason"

# memtest runs its tests in order, so test #10 (or the end of the pass) means #0 to #9
# have run; the screen is redrawn about once a second of guest time, so short tests
# (#1, #2, #3, #7 take well under a second here) may never be on it. Check what
# must be there: the first test, the hand-over to #10, and an error counter that
# never left 0.
grep -aq '#0  *\[' "$log" || fail "test #0 never showed"
grep -aq '#9  *\[\|Pass: *1 ' "$log" || fail "test #9 never showed"
grep -aqE 'Errors: *[1-9]' "$log" && fail "memtest reports errors"
grep -aq 'Errors: *0' "$log" || fail "no error counter on the console"
echo "ok memtest (tests #0-#9 over 64 MiB, 0 errors, $((end - start))s)"
echo "memtest: 1 passed, 0 failed"
