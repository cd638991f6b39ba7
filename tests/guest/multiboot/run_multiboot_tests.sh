#!/usr/bin/env bash
# Boots the multiboot test kernels under kestrel --kernel and checks exit status
# and output of each case; also checks the loader's errors on broken images.
#
# usage: run_multiboot_tests.sh KESTREL DIR
#   KESTREL  the kestrel binary
#   DIR      the directory holding mb_elf.elf and mb_aout.bin (the meson build dir)
#
# Prints "ok <case>" or "FAIL <case>: <reason>" with the output, then
# "multiboot: N passed, M failed"; exit status 1 if any failed, 2 on a usage
# problem. MB_TIMEOUT (seconds, default 20) bounds each run.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 KESTREL DIR" >&2
  exit 2
fi
kestrel=$1
dir=$2
elf=$dir/mb_elf.elf
aout=$dir/mb_aout.bin
source "$(dirname "$0")/../../boot/lib.sh"
require_files "$kestrel" "$elf" "$aout"
limit=${MB_TIMEOUT:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start_suite multiboot

null=/dev/null
check elf 33 $null '^PASS mb_elf$' "^cmdline: $elf hello world\$" '^mmap 0000000000100000 len .* type 1$' \
  -- --kernel "$elf" --append "hello world" --debug-exit
check aout 33 $null '^PASS mb_aout$' "^cmdline: $aout\$" -- --kernel "$aout" --debug-exit
check debug-exit-size-1 33 $null '^PASS mb_aout$' -- --kernel "$aout" --debug-exit 0xf4,1
# 4 GiB of RAM above the PCI hole: the map gets an entry above 4 GiB.
check high-ram 33 $null '^PASS mb_elf$' '^mmap 0000000100000000 len 0000000020000000 type 1$' \
  -- -m 4G --kernel "$elf" --debug-exit

printf 'first module\n' >"$work/mod1.txt"
printf 'second\n' >"$work/mod2.txt"
check modules 33 $null '^PASS mb_elf$' '^module 00[0-9a-f]{3}000-[0-9a-f]{8} mod one, args: first module$' \
  "^module 00[0-9a-f]{3}000-[0-9a-f]{8} $work/mod2.txt: second\$" \
  -- --kernel "$elf" --module "$work/mod1.txt,mod one, args" --module "$work/mod2.txt" --debug-exit

# The loader must zero the bss: preload garbage over the kernel's whole range.
head -c 65536 /dev/urandom >"$work/garbage"
check bss-zeroed 33 $null '^PASS mb_elf$' -- --load "$work/garbage@0x100000" --kernel "$elf" --debug-exit

printf 'ping pong\n' >"$work/input"
check serial-stdin 33 "$work/input" '^echo: ping pong$' -- --kernel "$elf" --append echo --debug-exit
check serial-none 33 "$work/input" '^echo: \(timeout\)$' \
  -- --kernel "$elf" --append echo --debug-exit --serial-input none

check triple-stop 1 $null '^triple faulting$' '^kestrel: triple fault \(last exception #GP' '^cr0=00000011' \
  -- --kernel "$elf" --append triple --debug-exit
check triple-reset 33 $null '^kestrel: triple fault .*: resetting the machine$' '^rebooted after a triple fault$' \
  '^PASS mb_elf$' -- --kernel "$elf" --append triple --debug-exit --on-triple-fault reset

# Without --debug-exit the kernel halts with interrupts off: status 0.
check no-debug-exit 0 $null '^PASS mb_elf$' -- --kernel "$elf"

# Broken images: one error line naming the file, status 2.
check no-header 2 $null "^kestrel: error: --kernel: '$work/mod1.txt' is not a multiboot kernel" \
  -- --kernel "$work/mod1.txt"
cp "$aout" "$work/badsum.bin"
printf '\x55' | dd of="$work/badsum.bin" bs=1 seek=8 conv=notrunc status=none
check bad-checksum 2 $null "^kestrel: error: --kernel: '$work/badsum.bin': multiboot header has a bad checksum" \
  -- --kernel "$work/badsum.bin"
head -c 5000 "$elf" >"$work/trunc.elf"
check truncated-elf 2 $null "^kestrel: error: --kernel: '$work/trunc.elf': truncated ELF file" \
  -- --kernel "$work/trunc.elf"
cp "$elf" "$work/elf64.elf"
printf '\x02' | dd of="$work/elf64.elf" bs=1 seek=4 conv=notrunc status=none
check elf64 2 $null "^kestrel: error: --kernel: '$work/elf64.elf' is a 64-bit ELF file" -- --kernel "$work/elf64.elf"
check outside-ram 2 $null "^kestrel: error: --kernel: '$elf': ELF segment .* does not fit in guest RAM" \
  -- -m 1M --kernel "$elf"

finish
