#!/usr/bin/env bash
# SeaBIOS benchmark (issue 7): wall time from process start until Debian's SeaBIOS
# has run POST and INT 19h has loaded and started a boot sector, for Kestrel and for
# QEMU's TCG (`qemu-system-x86_64 -accel tcg -M pc`) with the same BIOS, VGA BIOS and
# image, in one run, and the ratio. The boot sector prints a marker on port 0x402
# and ends the emulator through isa-debug-exit (port 0xF4), so the time is the whole
# process: start-up, POST, option ROMs, the boot and the exit. Run on demand, never
# as a timed test.
#
#   bash bench/seabios.sh [RUNS]     (default 5 runs each; the median is kept)
#
# Cases: a 1.44 MB floppy and a hard disk (raw image on IDE), each with the same boot
# sector; a case Kestrel cannot boot yet is reported as such. Needs nasm and
# qemu-system-x86 (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-5}
bash scripts/build.sh >/dev/null
need_qemu
kestrel=build/kestrel
bios=/usr/share/seabios/bios.bin
work=$(mktemp -d /tmp/kestrel-bench-seabios.XXXXXX)
trap 'rm -rf "$work"' EXIT
marker='KESTREL-BENCH: boot sector reached'

cat >"$work/bs.asm" <<'ASM'
bits 16
org 0x7c00
    cld
    xor ax, ax
    mov ds, ax
    mov si, msg
    mov dx, 0x402
.print:
    lodsb
    test al, al
    jz .exit
    out dx, al
    jmp .print
.exit:
    mov dx, 0xf4            ; isa-debug-exit
    xor al, al
    out dx, al
    cli
    hlt
msg: db 'KESTREL-BENCH: boot sector reached', 10, 0
    times 510 - ($ - $$) db 0
    dw 0xAA55
ASM
nasm -f bin -o "$work/bs.bin" "$work/bs.asm"
dd if=/dev/zero of="$work/floppy.img" bs=1024 count=1440 2>/dev/null
dd if="$work/bs.bin" of="$work/floppy.img" conv=notrunc 2>/dev/null
dd if=/dev/zero of="$work/disk.img" bs=1M count=16 2>/dev/null
dd if="$work/bs.bin" of="$work/disk.img" conv=notrunc 2>/dev/null

# run_once LOG CMD...: seconds for one run; "fail" unless LOG shows the marker.
run_once() {
  local log=$1 start end
  shift
  start=$(date +%s.%N)
  timeout 120 "$@" </dev/null >"$log" 2>&1 || true
  end=$(date +%s.%N)
  if grep -qF "$marker" "$log"; then awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'; else echo fail; fi
}

# median CMD...: the median of $runs runs, or "fail".
median() {
  local times=() t i
  for ((i = 0; i < runs; i++)); do
    t=$(run_once "$work/run.log" "$@")
    [ "$t" = fail ] && { echo fail; return; }
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

qemu_common=(qemu-system-x86_64 -accel tcg -M pc -m 256 -smp 1 -bios "$bios" -display none -vga std -nodefaults
  -chardev "file,id=dbg,path=$work/qemu-debug.log" -device isa-debugcon,iobase=0x402,chardev=dbg
  -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot)
kestrel_common=("$kestrel" --bios "$bios" -m 256M --display none --serial none --debug-exit --no-reboot)

echo "SeaBIOS to the boot sector (median of $runs runs each, wall time of the whole process)"
printf '%-10s %10s %10s %8s\n' case qemu-tcg kestrel ratio
for kind in floppy disk; do
  if [ $kind = floppy ]; then
    q=(-drive "file=$work/floppy.img,format=raw,if=floppy")
    k=(--fda "$work/floppy.img" --boot a)
  else
    q=(-drive "file=$work/disk.img,format=raw,if=ide")
    k=(--hda "$work/disk.img" --boot c)
  fi
  # QEMU's marker goes to its debugcon file: check that file instead of stdout.
  tq=fail
  times=()
  for ((i = 0; i < runs; i++)); do
    rm -f "$work/qemu-debug.log"
    start=$(date +%s.%N)
    timeout 120 "${qemu_common[@]}" "${q[@]}" </dev/null >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    grep -qF "$marker" "$work/qemu-debug.log" 2>/dev/null || { times=(); break; }
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }')")
  done
  [ ${#times[@]} -gt 0 ] && tq=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  tk=$(median "${kestrel_common[@]}" "${k[@]}")
  ratio=n/a
  [ "$tq" != fail ] && [ "$tk" != fail ] && ratio=$(awk -v k="$tk" -v q="$tq" 'BEGIN { printf "%.2fx\n", k / q }')
  printf '%-10s %10s %10s %8s\n' "$kind" "$tq" "$tk" "$ratio"
done
echo "(ratio = Kestrel / QEMU; 'fail': the boot sector was not reached)"
