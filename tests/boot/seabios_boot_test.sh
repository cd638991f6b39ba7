#!/usr/bin/env bash
# SeaBIOS boot tests: Debian's SeaBIOS (/usr/share/seabios/bios.bin, package seabios)
# runs unmodified on Kestrel's i440FX board. Each case reads SeaBIOS's debug output
# (port 0x402, which kestrel writes to stdout) and checks the lines that prove a
# part of the platform works.
#
# usage: seabios_boot_test.sh [KESTREL]
# Prints "ok NAME" or "FAIL NAME: reason" per case, then "seabios: N passed, M failed".
# Logs: build/test-logs/seabios-*.log.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
kestrel=${1:-$root/build/kestrel}
bios=/usr/share/seabios/bios.bin
logs=$root/build/test-logs
mkdir -p "$logs"
pass=0
fail=0

if [ ! -f "$bios" ]; then
  echo "$0: $bios is missing (apt-get install seabios)" >&2
  echo "seabios: 0 passed, 1 failed"
  exit 1
fi

ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() {
  echo "FAIL $1: $2"
  [ -n "${3:-}" ] && tail -n 15 "$3" | sed 's/^/    /'
  fail=$((fail + 1))
}
# expect NAME LOG LINE...: every LINE (a fixed string) is in LOG, in this order.
expect() {
  local name=$1 log=$2 prev=0 line n
  shift 2
  for line in "$@"; do
    n=$(grep -n -F -- "$line" "$log" | awk -F: -v p="$prev" '$1 > p { print $1; exit }')
    if [ -z "$n" ]; then
      bad "$name" "no '$line' (after line $prev)" "$log"
      return 1
    fi
    prev=$n
  done
  ok "$name"
}

# 1. No drives: POST through the chipset and fw_cfg, then INT 19h tries every boot
# device, waits etc/boot-fail-wait (5 s of guest time) and reboots through 0xCF9.
log=$logs/seabios-post.log
timeout 120 "$kestrel" --bios "$bios" -m 128M --no-reboot --serial none --display none >"$log" 2>&1
status=$?
if [ $status -ne 0 ]; then
  bad seabios-post "kestrel exited with status $status" "$log"
else
  expect seabios-post "$log" \
    "SeaBIOS (version 1.16" \
    "Running on QEMU (i440fx)" \
    "Found QEMU fw_cfg" \
    "QEMU fw_cfg DMA interface supported" \
    "qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 [RAM]" \
    "Moving pm_base to 0x600" \
    "PCI: init bdf=00:00.0 id=8086:1237" \
    "PCI: init bdf=00:01.0 id=8086:7000" \
    "PCI: init bdf=00:01.3 id=8086:7113" \
    "Using pmtimer, ioport 0x608" \
    "Found 1 cpu(s) max supported 1 cpu(s)" \
    "sercon: using ioport 0x3f8" \
    "3: 0000000000100000 - 0000000007fff000 = 1 RAM" \
    "enter handle_19:" \
    "Booting from Hard Disk..." \
    "No bootable device." \
    "reset through port 0xCF9; ending the run (--no-reboot)"
fi

echo "seabios: $pass passed, $fail failed"
[ $fail -eq 0 ]
