#!/usr/bin/env bash
# The command-line side of direct kernel boots, without downloading anything: the
# reboot policy (--no-reboot), the serial console's host ends (--serial file:PATH,
# none) and the kernel-format checks of --initrd/--module, using the multiboot
# test kernel and a hand-made bzImage (made with python3; those cases are skipped
# without it) that writes "LX" to COM1 and halts.
#
# usage: cli_options_test.sh KESTREL DIR
#   KESTREL  the kestrel binary
#   DIR      the directory holding mb_elf.elf (build/tests/guest/multiboot)
#
# Prints "ok <case>" or "FAIL <case>: <reason>", then "cli-boot: N passed, M failed".
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 KESTREL DIR" >&2
  exit 2
fi
kestrel=$1
elf=$2/mb_elf.elf
source "$(dirname "$0")/lib.sh"
require_files "$kestrel" "$elf"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
limit=60
start_suite cli-boot

# A bzImage (boot protocol 2.15, one setup sector, 64-bit) whose 64-bit entry writes
# "LX" to COM1 and halts with interrupts off.
make_bzimage() {
  python3 - "$1" <<'EOF'
import struct, sys
f = bytearray(0x400)
f[0x1F1] = 1
struct.pack_into('<H', f, 0x1FE, 0xAA55)
f[0x200:0x202] = b'\xeb\x6a'
f[0x202:0x206] = b'HdrS'
struct.pack_into('<H', f, 0x206, 0x20F)
f[0x211] = 0x01
struct.pack_into('<I', f, 0x22C, 0x7FFFFFFF)
struct.pack_into('<I', f, 0x230, 0x200000)
f[0x234] = 1
struct.pack_into('<H', f, 0x236, 1)
struct.pack_into('<I', f, 0x238, 0x7FF)
struct.pack_into('<Q', f, 0x258, 0x1000000)
struct.pack_into('<I', f, 0x260, 0x100000)
code = bytearray(b'\x90' * 0x200)
# mov dx,0x3f8; mov al,'L'; out dx,al; mov al,'X'; out dx,al; mov al,10; out dx,al; cli; hlt
code += b'\x66\xba\xf8\x03\xb0L\xee\xb0X\xee\xb0\x0a\xee\xfa\xf4'
open(sys.argv[1], 'wb').write(f + code)
EOF
}

check triple-reset-no-reboot 0 /dev/null '^triple faulting$' 'ending the run \(--no-reboot\)' \
  -- --kernel "$elf" --append triple --on-triple-fault reset --no-reboot
check serial-bad 2 /dev/null "^kestrel: error: --serial: 'tcp:1234' is not stdio, file:PATH or none" \
  -- --kernel "$elf" --serial tcp:1234
check initrd-multiboot 2 /dev/null "^kestrel: error: --initrd: '.*' is a multiboot kernel; pass its files with --module" \
  -- --kernel "$elf" --initrd "$elf"
check initrd-no-kernel 2 /dev/null '^kestrel: error: --initrd: only a kernel takes' -- --initrd "$elf" --load "$elf@0x10000"
check clock-bad 2 /dev/null "^kestrel: error: --clock: 'wall' is neither icount nor host" -- --kernel "$elf" --clock wall
if command -v python3 >/dev/null; then
  make_bzimage "$work/bzImage"
  check bzimage-entry 0 /dev/null '^LX$' '^kestrel: CPU halted with interrupts disabled' -- --kernel "$work/bzImage"
  check bzimage-host-clock 0 /dev/null '^LX$' -- --kernel "$work/bzImage" --clock host
  check bzimage-module 2 /dev/null "^kestrel: error: --module: '.*' is a Linux bzImage, which takes an --initrd" \
    -- --kernel "$work/bzImage" --module "$elf"
  head -c 100 /dev/zero >"$work/small-initrd"
  check serial-file 0 /dev/null '^kestrel: CPU halted' -- --kernel "$work/bzImage" --serial "file:$work/com1.txt"
  reason=""
  [ "$(cat "$work/com1.txt" 2>/dev/null)" = "LX" ] || reason="$work/com1.txt does not hold COM1's output 'LX'"
  result serial-file-contents "$reason"
  check serial-none 0 /dev/null '^kestrel: CPU halted' -- --kernel "$work/bzImage" --serial none
  check bzimage-initrd 0 /dev/null '^LX$' -- --kernel "$work/bzImage" --initrd "$work/small-initrd"
  check bzimage-small-ram 2 /dev/null "^kestrel: error: --kernel: '.*' needs RAM up to 0x1100000" \
    -- -m 8M --kernel "$work/bzImage"
fi
finish
