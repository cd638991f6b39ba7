#!/usr/bin/env bash
# SeaBIOS boot tests: Debian's SeaBIOS (/usr/share/seabios/bios.bin, package seabios)
# runs unmodified on Kestrel's i440FX board. Each case reads SeaBIOS's debug output
# (port 0x402, which kestrel writes to stdout) and checks the lines that prove a
# part of the platform works.
#
# usage: seabios_boot_test.sh [KESTREL]
# The Linux case uses the guest images of scripts/prepare-guest.sh (.cache/guest).
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

# 2. Option errors: a clear message and exit status 2.
expect_error() {
  local name=$1 want=$2 out status
  shift 2
  out=$("$kestrel" "$@" 2>&1 </dev/null)
  status=$?
  if [ $status -eq 2 ] && printf '%s' "$out" | grep -qF -- "$want"; then ok "$name"; else
    bad "$name" "status $status, output: $out"
  fi
}
expect_error seabios-missing-file "--bios: cannot open '/nonexistent/bios.bin'" --bios /nonexistent/bios.bin
expect_error seabios-kernel-not-bzimage "with --bios only a Linux bzImage boots through the BIOS" \
  --bios seabios --kernel "$bios"

# 3. Linux through SeaBIOS: --bios with --kernel/--initrd. fw_cfg offers the parts,
# Kestrel's linuxboot option ROM (genroms/, first in bootorder) loads them and runs
# the setup code, the kernel finds the ACPI tables SeaBIOS placed from etc/table-loader
# (an RSDP in the F segment) and the CI initramfs checks itself and powers off.
if ! bash scripts/prepare-guest.sh >"$logs/prepare-guest.log" 2>&1; then
  bad seabios-linux "scripts/prepare-guest.sh failed (see $logs/prepare-guest.log)"
else
  guest=$root/.cache/guest
  log=$logs/seabios-linux.log
  start=$(date +%s)
  timeout "${LINUX_BOOT_TIMEOUT:-900}" "$kestrel" --bios seabios -m 256M --kernel "$guest/bzImage" \
    --initrd "$guest/initrd-ci.gz" --append "console=ttyS0 panic=-1" --no-reboot --display none \
    --serial-input none </dev/null >"$log" 2>&1
  status=$?
  end=$(date +%s)
  if [ $status -ne 0 ]; then
    bad seabios-linux "kestrel exited with status $status" "$log"
  elif grep -Eq 'Oops|BUG:|Call Trace|Kernel panic' "$log"; then
    bad seabios-linux "the console shows: $(grep -Em1 'Oops|BUG:|Call Trace|Kernel panic' "$log")" "$log"
  elif expect seabios-linux "$log" \
    "SeaBIOS (version 1.16" \
    "Running option rom at c" \
    "Searching bootorder for: /rom@genroms/kestrel-linuxboot.bin" \
    "Booting from c" \
    "Command line: console=ttyS0 panic=-1" \
    "BIOS-e820: [mem 0x0000000000100000-0x000000000fffefff] usable" \
    "ACPI: RSDP 0x00000000000F" \
    "KESTREL-BOOT-TEST: PASS" \
    "ACPI S5 power off"; then
    echo "   (Linux through SeaBIOS: $((end - start))s)"
  fi
fi

echo "seabios: $pass passed, $fail failed"
[ $fail -eq 0 ]
