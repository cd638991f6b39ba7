#!/usr/bin/env bash
# memtest86+ over 64 MiB, two ways, from Debian's memtest86+ package (fetched with
# apt-get download into .cache/guest, not installed):
#
#   kernel  boot/memtest86+x64.bin booted as a kernel (--kernel, the Linux boot
#           protocol) with its serial console on COM1 ("console=ttyS0,115200"): its
#           VT100 screen is read from COM1
#   iso     usr/lib/memtest86+/memtest86+x64.iso on the ATAPI CD-ROM (--cdrom), booted
#           by SeaBIOS through El Torito (a 1.44 MB floppy emulation image): no
#           command line, so no serial console; its VGA text screen is read with
#           --display text
#
# Each must run tests #0 to #9 with no error: the test reads the test numbers
# ("#N  [...") and the error counter ("Errors: N") from the screen and stops the run
# when test #10 (the bit-fade test, which waits minutes of guest time by design)
# begins, or when the first pass ends. About 61 G guest instructions (57 s of guest
# time with the default instruction-counted clock) each: the kernel case takes about
# 1-2 minutes here (QEMU TCG: ~56 s), the ISO case about a minute (SeaBIOS leaves
# IRQ 0 pending while memtest runs with IF clear; translated code keeps running
# then); both run in CI (scripts/test.sh).
#
# usage: memtest_test.sh [KESTREL] [CASE...]   (cases: kernel iso; default both)
# Prints "ok memtest-CASE" or "FAIL memtest-CASE: reason", then "memtest: N passed,
# M failed". MEMTEST_TIMEOUT (seconds, default 1500) bounds each run; the screens are
# kept in build/test-logs/memtest-CASE.log.
set -u
cd "$(dirname "$0")/../.."
source tests/boot/lib.sh
boot_test_setup memtest 'kernel iso' "$@"
limit=${MEMTEST_TIMEOUT:-1500}
cache=$root/.cache/guest
mkdir -p "$cache/debs"

image=$cache/memtest-root/boot/memtest86+x64.bin
iso=$cache/memtest-root/usr/lib/memtest86+/memtest86+x64.iso
if [ ! -f "$image" ] || [ ! -f "$iso" ]; then
  deb=$(ls "$cache"/debs/memtest86+_*.deb 2>/dev/null | head -n 1)
  if [ -z "$deb" ]; then
    (cd "$cache/debs" && apt-get download memtest86+ >"$logs/memtest-download.log" 2>&1) ||
      give_up memtest "apt-get download memtest86+ failed (see $logs/memtest-download.log)"
    deb=$(ls "$cache"/debs/memtest86+_*.deb 2>/dev/null | head -n 1)
  fi
  [ -n "$deb" ] || give_up memtest "no memtest86+ package in $cache/debs"
  rm -rf "$cache/memtest-root"
  dpkg-deb -x "$deb" "$cache/memtest-root" || give_up memtest "dpkg-deb -x $deb failed"
  [ -f "$image" ] || give_up memtest "$deb has no boot/memtest86+x64.bin"
  [ -f "$iso" ] || give_up memtest "$deb has no usr/lib/memtest86+/memtest86+x64.iso"
fi

# run_case NAME FIRST KESTREL-ARGS...: runs in the background with everything it
# prints in the case's log, stops at test #10 (or the end of pass 1), then checks the
# screens; FIRST is the highest test number that must be seen among the first ones.
run_case() {
  local name=$1 first=$2
  shift 2
  local log=$logs/memtest-$name.log
  : >"$log"
  local start end pid reason=""
  start=$(date +%s)
  "$kestrel" -m 64M --no-reboot "$@" </dev/null >"$log" 2>&1 &
  pid=$!
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
  # memtest runs its tests in order, so test #10 (or the end of the pass) means #0 to
  # #9 have run; the serial screen is redrawn about once a second of guest time, so
  # short tests (#1, #2, #3, #7 take well under a second here) may never be on it,
  # and --display text prints a changing screen once a second of guest time, which
  # can miss #0 as well. Check what must be there: one of the first tests, the
  # hand-over to #10, and an error counter that never left 0.
  if [ -z "$reason" ]; then
    if ! grep -aqE "#[0-$first]  *\[" "$log"; then reason="none of tests #0-#$first showed"
    elif ! grep -aq '#9  *\[\|Pass: *1 ' "$log"; then reason="test #9 never showed"
    elif grep -aqE 'Errors: *[1-9]' "$log"; then reason="memtest reports errors"
    elif ! grep -aq 'Errors: *0' "$log"; then reason="no error counter on the screen"
    fi
  fi
  if ! result "memtest-$name" "$reason" "tests #0-#9 over 64 MiB, 0 errors, $((end - start))s"; then
    tail -c 2000 "$log" | tr -c '[:print:]\n' ' ' | sed 's/^/    | /' | tail -n 12
  fi
}

for c in "${cases[@]}"; do
  case $c in
    kernel) run_case kernel 0 --kernel "$image" --append "console=ttyS0,115200" --display none --serial stdio \
              --serial-input none ;;
    iso) run_case iso 5 --cdrom "$iso" --display text --serial none ;;
    *) unknown_case "memtest-$c" 'kernel, iso' ;;
  esac
done
finish
