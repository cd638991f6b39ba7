#!/usr/bin/env bash
# BIOS boots from the drives: Debian's SeaBIOS (the default --bios with a drive)
# boots images built at test time from Debian's packages (tests/boot/make_boot_images.sh):
#
#   disk    a FAT16 hard disk with SYSLINUX (--hda) boots Debian's kernel and the CI
#           initramfs, which prints "KESTREL-BOOT-TEST: PASS" and powers off
#   cdrom   an El Torito ISO made by grub-mkrescue (--cdrom) boots the same
#   floppy  FreeDOS from ../shared/testdata/freedos/freedos722.img (a copy; --fda)
#           runs its AUTOEXEC.BAT, which runs HELLO.COM; read from the VGA text
#           screen (--display text): the batch file's lines, HELLO's "Hello,
#           World!" between them, then COMMAND.COM's A:\> prompt (the vga-boot
#           suite types VER there). HELLO's output also goes to COM1
#           (bench/bios_boots.sh times it there).
#   linux-ide  the GRUB ISO with libata's modules (--cdrom, booted with --boot d)
#           and a data disk (--hda): Linux reads both whole through ata_piix (bus-
#           master DMA and PIO; their SHA-256 must match the host's), writes a
#           line to the disk that must land in the image file, and its libata
#           transfer mode must be DMA, its messages show no errors; it runs under
#           ACPI: Linux finds the PCI root bridge in our DSDT, enumerates the board's
#           PCI functions (listed from /sys/bus/pci/devices), configures the PIIX3
#           interrupt links, and takes IRQ 14 and 15 through the IOAPIC; it halts at
#           the end
#
# Every case also checks SeaBIOS's "Booting from Hard Disk..." / "Booting from
# DVD/CD..." / "Booting from Floppy..." line on its debug port (0x402, standard
# output; COM1 goes to a file). Guests write to copies of the images.
#
# usage: bios_boot_test.sh [KESTREL] [CASE...]   (cases: disk cdrom floppy; default all)
# Prints "ok CASE (time)" or "FAIL CASE: reason" with the logs' last lines, then
# "bios-boot: N passed, M failed". BIOS_BOOT_TIMEOUT (seconds, default 900) bounds
# each boot. Logs: build/test-logs/bios-boot-CASE.{debug,serial}.log.
set -u
cd "$(dirname "$0")/../.."
source tests/boot/lib.sh
boot_test_setup bios-boot 'disk cdrom floppy linux-ide' "$@"
limit=${BIOS_BOOT_TIMEOUT:-900}
images=$root/build/boot-images

bash tests/boot/make_boot_images.sh "$images" >"$logs/make-boot-images.log" 2>&1 ||
  give_up images "tests/boot/make_boot_images.sh failed:" "$logs/make-boot-images.log"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# boot NAME MARKER STOP -- KESTREL-ARGS...: runs kestrel with COM1 in a file until it
# exits, or (STOP=1: on COM1; STOP=2: on standard output, where the debug port and
# the --display text screens go) until every regex of MARKER (extended regexes
# separated by ';;') shows, or the time limit. Sets status (kestrel's exit status, "killed" after MARKER, "timeout") and secs.
boot() {
  local name=$1 marker=$2 stop=$3
  shift 4
  dbg=$logs/bios-boot-$name.debug.log
  ser=$logs/bios-boot-$name.serial.log
  : >"$ser"
  local start end pid
  start=$(date +%s.%N)
  "$kestrel" --no-reboot --serial-input none --serial "file:$ser" "$@" </dev/null >"$dbg" 2>&1 &
  pid=$!
  status=timeout
  local deadline=$(($(date +%s) + limit))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      status=$?
      break
    fi
    if { [ "$stop" = 1 ] && all_seen "$marker" "$ser"; } || { [ "$stop" = 2 ] && all_seen "$marker" "$dbg"; }; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      status=killed
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
}

all_seen() {
  local rest=$1 file=$2 re
  while [ -n "$rest" ]; do
    re=${rest%%;;*}
    [ "$re" = "$rest" ] && rest="" || rest=${rest#*;;}
    tr -d '\r' <"$file" | grep -aEq -- "$re" || return 1
  done
  return 0
}

# report NAME REASON: the case's result; a failure shows the ends of both logs.
report() {
  result "$1" "$2" "${secs}s" && return
  echo "    debug port (last lines of $dbg):"
  tail -n 8 "$dbg" | sed 's/^/    | /'
  echo "    COM1 (last lines of $ser):"
  tail -n 12 "$ser" | sed 's/^/    | /'
}

# linux_reason BOOTLINE: why a Linux boot failed, or nothing.
linux_reason() {
  local bootline=$1
  if [ "$status" = timeout ]; then echo "timed out after ${limit}s"
  elif ! grep -aqF "$bootline" "$dbg"; then echo "SeaBIOS did not say '$bootline'"
  elif ! grep -aq '^KESTREL-BOOT-TEST: PASS' "$ser"; then
    echo "no PASS marker$(grep -am1 '^KESTREL-BOOT-TEST: FAIL' "$ser" | sed 's/^KESTREL-BOOT-TEST: / (/; s/$/)/')"
  elif grep -aEq 'Oops|BUG:|Call Trace|Kernel panic' "$ser"; then
    echo "the console shows: $(grep -aEm1 'Oops|BUG:|Call Trace|Kernel panic' "$ser")"
  elif [ "$status" != 0 ]; then echo "kestrel exit status $status, want 0 (ACPI power-off)"
  fi
}

# acpi_pci_reason SERIAL-LOG: why Linux under ACPI did not see the PCI board through the
# DSDT or did not take the IDE interrupts through the IOAPIC, or nothing.
acpi_pci_reason() {
  local log=$1 f irq
  local text
  text=$(tr -d '\r' <"$log")
  if grep -aEq 'Command line:.*(acpi=off|pci=noacpi|noapic)' <<<"$text"; then
    echo "the kernel ran without ACPI or the IOAPIC: $(grep -am1 'Command line:' <<<"$text")"; return
  fi
  for f in 'ACPI: Interpreter enabled' 'ACPI: Using IOAPIC for interrupt routing' 'ACPI: PCI Root Bridge \[PCI0\]' \
           'root bus resource \[io  0x0d00-0xffff window\]' 'Interrupt link LNKA configured for IRQ' \
           'Interrupt link LNKS configured for IRQ 9' 'PCI: Using ACPI for IRQ routing'; do
    grep -aq -- "$f" <<<"$text" || { echo "Linux did not say '$f'"; return; }
  done
  if grep -aEq 'ACPI (BIOS )?Error|ACPI Exception|AE_[A-Z_]+' <<<"$text"; then
    echo "ACPI complained: $(grep -aEm1 'ACPI (BIOS )?Error|ACPI Exception|AE_[A-Z_]+' <<<"$text")"; return
  fi
  # The board's PCI functions as Linux lists them (bus:dev.fn vendor:device).
  for f in '0000:00:00.0 0x8086:0x1237' '0000:00:01.0 0x8086:0x7000' '0000:00:01.1 0x8086:0x7010' \
           '0000:00:01.3 0x8086:0x7113' '0000:00:02.0 0x1234:0x1111'; do
    grep -aq "^KESTREL-IDE: pci $f " <<<"$text" || { echo "Linux did not enumerate PCI function $f"; return; }
  done
  for irq in 14 15; do
    grep -aEq "^KESTREL-IDE-LOG: +$irq: +[1-9][0-9]* +IO-APIC +$irq-edge +ata_piix" <<<"$text" ||
      { echo "IRQ $irq did not reach ata_piix through the IOAPIC: $(grep -aEm1 "^KESTREL-IDE-LOG: +$irq:" <<<"$text")"; return; }
  done
}

for c in "${cases[@]}"; do
  case $c in
    disk)
      cp "$images/syslinux-disk.img" "$work/disk.img"
      boot disk '' 0 -- -m 256M --hda "$work/disk.img"
      report bios-boot-disk "$(linux_reason 'Booting from Hard Disk...')"
      ;;
    cdrom)
      boot cdrom '' 0 -- -m 256M --cdrom "$images/grub.iso"
      report bios-boot-cdrom "$(linux_reason 'Booting from DVD/CD...')"
      ;;
    floppy)
      if [ ! -f "$images/freedos.img" ]; then
        report bios-boot-floppy "no FreeDOS image (../shared/testdata/freedos/freedos722.img missing)"
        continue
      fi
      cp "$images/freedos.img" "$work/freedos.img"
      # AUTOEXEC.BAT ran to its end and the prompt came: on the screen.
      boot floppy 'KESTREL-DOS: HELLO DONE;;^A:\\>$' 2 -- -m 64M --fda "$work/freedos.img" --display text
      # The last screen printed (a --display text screen is a header and 25 rows).
      screen=$(tr -d '\r' <"$dbg" | awk '/^--- kestrel screen /{s=""; next} {s=s $0 "\n"} END{printf "%s", s}')
      reason=""
      if ! grep -aqF 'Booting from Floppy...' "$dbg"; then reason="SeaBIOS did not say 'Booting from Floppy...'"
      elif ! grep -aq 'Hello, World!KESTREL-DOS: HELLO DONE' "$ser"; then reason="HELLO.COM's output is missing on COM1"
      elif ! grep -aq '^KESTREL-DOS: AUTOEXEC$' <<<"$screen"; then reason="AUTOEXEC.BAT did not run (no start line on the screen)"
      elif ! awk '/^KESTREL-DOS: AUTOEXEC$/{a=NR} /^Hello, World!/{if(a&&!h)h=NR} /KESTREL-DOS: HELLO DONE$/{if(h)d=NR} /^A:\\>$/{if(d)p=NR} END{exit !(a&&h&&d&&p)}' <<<"$screen"; then
        reason="the screen does not show the start line, HELLO's 'Hello, World!', the done line and the A:\\> prompt in order"
      elif [ "$status" != killed ]; then reason="kestrel ended ($status) before the prompt"
      fi
      if [ -n "$reason" ]; then
        echo "    the last screen:"
        sed 's/^/    # /' <<<"$screen" | grep -v '^    # $' | tail -n 14
      fi
      report bios-boot-floppy "$reason"
      ;;
    linux-ide)
      cp "$images/data-disk.img" "$work/data.img"
      want_sda=$(sha256sum "$work/data.img" | cut -d' ' -f1)
      want_sr0=$(sha256sum "$images/ide-test.iso" | cut -d' ' -f1)
      boot linux-ide '' 0 -- -m 256M --hda "$work/data.img" --cdrom "$images/ide-test.iso" --boot d
      got_sda=$(tr -d '\r' <"$ser" | sed -n 's/^KESTREL-IDE: sda //p' | head -n 1)
      got_sr0=$(tr -d '\r' <"$ser" | sed -n 's/^KESTREL-IDE: sr0 //p' | head -n 1)
      reason=""
      if [ "$status" = timeout ]; then reason="timed out after ${limit}s"
      elif ! grep -aqF 'Booting from DVD/CD...' "$dbg"; then reason="SeaBIOS did not say 'Booting from DVD/CD...'"
      elif grep -aq 'KESTREL-IDE: FAIL' "$ser"; then reason="$(grep -am1 'KESTREL-IDE: FAIL' "$ser" | tr -d '\r')"
      elif ! grep -aq 'KESTREL-IDE: DONE' "$ser"; then reason="the guest's test did not finish"
      elif [ "$got_sda" != "$want_sda" ]; then reason="/dev/sda reads as sha256 '$got_sda', the image is $want_sda"
      elif [ "$got_sr0" != "$want_sr0" ]; then reason="/dev/sr0 reads as sha256 '$got_sr0', the ISO is $want_sr0"
      elif ! dd if="$work/data.img" bs=512 skip=2048 count=1 2>/dev/null | grep -aq KESTREL-IDE-WRITE-TEST; then
        reason="the guest's write to sector 2048 is not in the image"
      elif ! grep -aEq 'KESTREL-IDE: xfer sda XFER_(MW_|U)DMA' "$ser"; then
        reason="the disk's transfer mode is not DMA: $(grep -am1 'KESTREL-IDE: xfer' "$ser" | tr -d '\r')"
      elif grep -aEq 'failed command|exception Emask|I/O error|timeout|Oops|Kernel panic' "$ser"; then
        reason="the console shows: $(grep -aEm1 'failed command|exception Emask|I/O error|timeout|Oops|Kernel panic' "$ser")"
      else reason=$(acpi_pci_reason "$ser")
      fi
      if [ -z "$reason" ] && [ "$status" != 0 ]; then reason="kestrel exit status $status, want 0 (the halted guest)"; fi
      report bios-boot-linux-ide "$reason"
      ;;
    *) unknown_case "$c" 'disk, cdrom, floppy, linux-ide' ;;
  esac
done
finish
