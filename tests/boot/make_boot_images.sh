#!/usr/bin/env bash
# Builds the BIOS boot test images from Debian's packages and the guest kernel
# (scripts/prepare-guest.sh): nothing here is committed, everything is made at
# test time into OUT (default build/boot-images), and kept while its inputs are
# unchanged.
#
#   syslinux-disk.img  64 MiB hard disk: SYSLINUX's MBR (mbr.bin), one FAT16
#                      partition from 1 MiB made with mkfs.fat, SYSLINUX installed
#                      with `syslinux --install`, the kernel and the CI initramfs
#   grub.iso           an El Torito CD-ROM made with grub-mkrescue (GRUB for BIOS)
#                      that boots the same kernel and initramfs
#   freedos.img        a copy of ../shared/testdata/freedos/freedos722.img whose
#                      AUTOEXEC.BAT (changed with mtools) writes a start line and
#                      HELLO.COM's output to COM1 (for bench/bios_boots.sh), then
#                      the same on the screen and a done line; COMMAND.COM's A:\>
#                      prompt follows on the VGA text screen
#   ide-test.iso,      Linux drives the IDE devices itself: a GRUB ISO whose
#   data-disk.img      initramfs loads libata's ata_piix, sd and sr and prints the
#                      SHA-256 of /dev/sda (the 8 MiB data disk of known bytes) and
#                      /dev/sr0 (the ISO), writes a line at sector 2048 of the disk
#                      and prints libata's messages ("KESTREL-IDE: ..." lines)
#
# Both Linux images use the kernel command line "console=ttyS0 panic=-1"; the CI
# initramfs prints "KESTREL-BOOT-TEST: PASS" and powers off.
#
# usage: make_boot_images.sh [OUT]
# Needs (installed with apt-get when missing and running as root): syslinux,
# syslinux-common, mtools, dosfstools, grub-pc-bin, grub-common, xorriso, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${1:-$root/build/boot-images}
mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute: the initramfs is packed from inside a staging folder
say() { echo "make_boot_images: $*" >&2; }

pkgs=(syslinux syslinux-common mtools dosfstools grub-pc-bin grub-common xorriso python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing packages: ${missing[*]} (install them, or run as root)"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bash scripts/prepare-guest.sh >/dev/null
guest=$root/.cache/guest
kernel=$guest/bzImage
initrd=$guest/initrd-ci.gz
for f in "$kernel" "$initrd"; do
  [ -f "$f" ] || { say "$f is missing (scripts/prepare-guest.sh failed?)"; exit 1; }
done

# up_to_date TARGET INPUTS...: TARGET exists and is newer than every input.
up_to_date() {
  local t=$1
  shift
  [ -s "$t" ] || return 1
  for i in "$@"; do [ "$t" -nt "$i" ] || return 1; done
  return 0
}
self=$root/tests/boot/make_boot_images.sh

# --- SYSLINUX on a partitioned FAT16 disk
disk=$out/syslinux-disk.img
if ! up_to_date "$disk" "$kernel" "$initrd" "$self"; then
  say "building $disk"
  tmp=$disk.tmp
  rm -f "$tmp"
  truncate -s 64M "$tmp"
  part_start=2048
  part_sectors=$((64 * 2048 - part_start))
  # The MBR: SYSLINUX's boot code and one active FAT16 (LBA) partition.
  python3 - "$tmp" /usr/lib/syslinux/mbr/mbr.bin "$part_start" "$part_sectors" <<'PY'
import struct, sys
img, mbr, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
code = open(mbr, 'rb').read()[:440]
entry = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x0E, b'\xfe\xff\xff', start, count)
sector = code.ljust(446, b'\0') + entry + b'\0' * 48 + b'\x55\xaa'
with open(img, 'r+b') as f:
    f.write(sector)
PY
  mkfs.fat -F 16 -n KESTREL --offset "$part_start" "$tmp" $((part_sectors / 2)) >/dev/null
  syslinux --install --offset $((part_start * 512)) "$tmp"
  cfg=$out/syslinux.cfg
  printf '%s\n' 'SERIAL 0 115200' 'DEFAULT linux' 'PROMPT 0' 'TIMEOUT 0' 'LABEL linux' \
    '  KERNEL bzImage' '  INITRD initrd.gz' '  APPEND console=ttyS0 panic=-1' >"$cfg"
  export MTOOLS_SKIP_CHECK=1
  mcopy -i "$tmp@@$((part_start * 512))" "$kernel" ::bzImage
  mcopy -i "$tmp@@$((part_start * 512))" "$initrd" ::initrd.gz
  mcopy -i "$tmp@@$((part_start * 512))" "$cfg" ::syslinux.cfg
  mv "$tmp" "$disk"
fi

# grub_iso ISO TITLE INITRD: an El Torito CD-ROM made with grub-mkrescue (GRUB for
# BIOS, its console on the serial port) whose one menu entry, TITLE, boots the
# kernel with INITRD; rebuilt when the kernel, INITRD or this script is newer.
grub_iso() {
  local iso=$1 title=$2 initrd=$3 tree
  up_to_date "$iso" "$kernel" "$initrd" "$self" && return
  say "building $iso"
  tree=$iso.tree
  rm -rf "$tree"
  mkdir -p "$tree/boot/grub"
  cp "$kernel" "$tree/bzImage"
  cp "$initrd" "$tree/initrd.gz"
  cat >"$tree/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "$title" {
  linux /bzImage console=ttyS0 panic=-1
  initrd /initrd.gz
}
CFG
  grub-mkrescue -o "$iso.tmp" "$tree" >/dev/null 2>"$out/grub-mkrescue.log" ||
    { say "grub-mkrescue failed:"; cat "$out/grub-mkrescue.log" >&2; exit 1; }
  mv "$iso.tmp" "$iso"
  rm -rf "$tree"
}

# --- GRUB El Torito ISO
grub_iso "$out/grub.iso" Linux "$initrd"

# --- FreeDOS floppy (a copy: the shared image stays as it is)
fd_src=$root/../shared/testdata/freedos/freedos722.img
fd=$out/freedos.img
if [ -f "$fd_src" ] && ! up_to_date "$fd" "$fd_src" "$self"; then
  say "building $fd"
  cp "$fd_src" "$fd.tmp"
  chmod u+w "$fd.tmp"  # the guest writes to its floppy
  printf '%s\r\n' '@echo off' 'set PATH=A:\FDOS;A:\GAMES' 'ECHO KESTREL-DOS: AUTOEXEC >COM1' 'HELLO >COM1' \
    'ECHO KESTREL-DOS: HELLO DONE >COM1' 'ECHO KESTREL-DOS: AUTOEXEC' 'HELLO' 'ECHO KESTREL-DOS: HELLO DONE' \
    >"$out/autoexec.bat"
  MTOOLS_SKIP_CHECK=1 mcopy -o -i "$fd.tmp" "$out/autoexec.bat" ::AUTOEXEC.BAT
  mv "$fd.tmp" "$fd"
fi
# --- Linux drives its IDE devices: an initramfs with libata's ata_piix, sd and sr
# on a GRUB ISO, and a data disk of known bytes. The guest prints the SHA-256 of
# /dev/sda and /dev/sr0 (read through libata's DMA and PIO paths), writes a line at
# sector 2048 of /dev/sda, prints the transfer modes, the interrupt counts and
# libata's messages, lists the PCI functions it found (/sys/bus/pci/devices: vendor,
# device, class) and halts. The kernel runs under ACPI (our DSDT's \_SB.PCI0, _PRT and
# interrupt links), its interrupts through the IOAPIC.
kroot=$guest/kernel-root
kver=$(cat "$guest/kernel-version")
mods=(scsi_common scsi_mod libata ata_piix cdrom sr_mod crct10dif_common crct10dif_generic crc-t10dif crc64
      crc64_rocksoft_generic crc64-rocksoft t10-pi sd_mod)
ide_initrd=$out/initrd-ide.gz
if ! up_to_date "$ide_initrd" "$self" "$kernel"; then
  say "building $ide_initrd"
  stage=$(mktemp -d "$out/stage.XXXXXX")
  mkdir -p "$stage"/{bin,proc,sys,dev,lib/modules}
  cp "$guest/busybox-root/bin/busybox" "$stage/bin/busybox"
  for m in "${mods[@]}"; do
    f=$(find "$kroot/lib/modules/$kver/kernel" -name "$m.ko" | head -n 1)
    [ -n "$f" ] || { say "module $m.ko is not in $kroot"; exit 1; }
    cp "$f" "$stage/lib/modules/"
  done
  cat >"$stage/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${mods[*]}; do insmod /lib/modules/\$m.ko || echo "KESTREL-IDE: FAIL insmod \$m"; done
i=0
while { [ ! -b /dev/sda ] || [ ! -b /dev/sr0 ]; } && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
echo "KESTREL-IDE: sda \$(sha256sum /dev/sda | cut -d' ' -f1)"
echo "KESTREL-IDE: sr0 \$(sha256sum /dev/sr0 | cut -d' ' -f1)"
echo "KESTREL-IDE-WRITE-TEST" | dd of=/dev/sda bs=512 seek=2048 conv=sync,fsync 2>/dev/null || echo "KESTREL-IDE: FAIL write"
sync
echo "KESTREL-IDE: xfer sda \$(cat /sys/class/ata_device/dev1.0/xfer_mode) sr0 \$(cat /sys/class/ata_device/dev2.0/xfer_mode)"
for d in /sys/bus/pci/devices/*; do echo "KESTREL-IDE: pci \${d##*/} \$(cat \$d/vendor):\$(cat \$d/device) \$(cat \$d/class)"; done
sed 's/^/KESTREL-IDE-LOG: /' /proc/interrupts
dmesg | grep -iE "ata|scsi|sd |sr |piix|cdrom" | sed 's/^/KESTREL-IDE-LOG: /'
echo "KESTREL-IDE: DONE"
poweroff -f
INIT
  chmod 755 "$stage/init"
  if [ "$(id -u)" -eq 0 ]; then
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
  fi
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -9 -n >"$ide_initrd.tmp")
  mv "$ide_initrd.tmp" "$ide_initrd"
  rm -rf "$stage"
fi
grub_iso "$out/ide-test.iso" "Linux IDE test" "$ide_initrd"
data=$out/data-disk.img
if ! up_to_date "$data" "$self"; then
  say "building $data"
  # 8 MiB of bytes that differ from sector to sector (a counter through SHA-256).
  python3 - "$data.tmp" <<'PY'
import hashlib, sys
with open(sys.argv[1], 'wb') as f:
    for i in range(8 * 1024 * 1024 // 32):
        f.write(hashlib.sha256(i.to_bytes(8, 'little')).digest())
PY
  mv "$data.tmp" "$data"
fi
say "images in $out"
