#!/usr/bin/env bash
# BIOS boot benchmark (issue 7): wall time from process start to a marker on the
# serial console, for QEMU's TCG (`qemu-system-x86_64 -accel tcg -M pc`) and for
# Kestrel with the same images, in one run, and the ratios. Both run Debian's
# SeaBIOS with its console on the serial port (no display). Run on demand, never as
# a timed test.
#
#   boot-sector  SeaBIOS from reset to "Booting from Hard Disk..." (the SYSLINUX disk)
#   disk-linux   SYSLINUX disk -> Debian's kernel -> "KESTREL-BOOT-TEST: PASS"
#   cdrom-linux  GRUB El Torito ISO -> the same kernel -> "KESTREL-BOOT-TEST: PASS"
#   floppy-dos   FreeDOS floppy -> HELLO.COM's "Hello, World!" from AUTOEXEC.BAT
#
#   bash bench/bios_boots.sh [RUNS]     (default 1 run each; the best time is kept)
#
# Images come from tests/boot/make_boot_images.sh (build/boot-images); every run
# boots a fresh copy of the writable ones. Needs qemu-system-x86 (installed with
# apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
source bench/lib.sh
bash scripts/build.sh
bash tests/boot/make_boot_images.sh build/boot-images >/dev/null 2>&1
need_qemu
images=build/boot-images
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
limit=900

# one_run MARKER DRIVE-KIND IMAGE EMULATOR: one boot's time to MARKER, on a fresh
# copy of a writable IMAGE.
one_run() {
  local marker=$1 kind=$2 image=$3 emu=$4 img=$3 args
  if [ "$kind" != cdrom ]; then
    img=$work/$(basename "$image")
    cp "$image" "$img"
  fi
  if [ "$emu" = qemu ]; then
    case $kind in
      hda) args=(-drive "file=$img,format=raw,if=ide,index=0" -boot c) ;;
      cdrom) args=(-cdrom "$img" -boot d) ;;
      fda) args=(-drive "file=$img,format=raw,if=floppy,index=0" -boot a) ;;
    esac
    time_to_marker "$limit" "$marker" qemu-system-x86_64 -accel tcg -M pc -m 256 -smp 1 -nographic -nodefaults \
      -serial stdio -no-reboot "${args[@]}"
  else
    case $kind in
      hda) args=(--hda "$img") ;;
      cdrom) args=(--cdrom "$img") ;;
      fda) args=(--fda "$img") ;;
    esac
    # SeaBIOS's debug port shares standard output with COM1 and interleaves with
    # it: the boot-sector marker is read from the debug port alone.
    local serial=(--serial stdio --serial-input none)
    [ "$marker" = 'Booting from Hard Disk' ] && serial=(--serial none)
    time_to_marker "$limit" "$marker" build/kestrel -m 256M "${serial[@]}" --no-reboot "${args[@]}"
  fi
}

printf 'BIOS boots (SeaBIOS %s, kernel %s), seconds to the marker, best of %d:\n' \
  "$(dpkg-query -W -f='${Version}' seabios 2>/dev/null || echo '?')" "$(cat .cache/guest/kernel-version)" "$runs"
printf '  %-12s %10s %10s %8s\n' case qemu-tcg kestrel ratio
row() {
  local name=$1 marker=$2 kind=$3 image=$4 q k
  q=$(best_of "$runs" one_run "$marker" "$kind" "$image" qemu)
  k=$(best_of "$runs" one_run "$marker" "$kind" "$image" kestrel)
  printf '  %-12s %10s %10s %7sx\n' "$name" "$q" "$k" "$(ratio "$k" "$q")"
}
row boot-sector 'Booting from Hard Disk' hda "$images/syslinux-disk.img"
row disk-linux 'KESTREL-BOOT-TEST: PASS' hda "$images/syslinux-disk.img"
row cdrom-linux 'KESTREL-BOOT-TEST: PASS' cdrom "$images/grub.iso"
if [ -f "$images/freedos.img" ]; then
  row floppy-dos 'Hello, World!' fda "$images/freedos.img"
fi
