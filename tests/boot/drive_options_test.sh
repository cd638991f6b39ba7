#!/usr/bin/env bash
# The drive options (--hda, --hdb, --cdrom, --fda, --boot): bad images and
# impossible boot devices end with a clear "kestrel: error:" line and exit status 2
# before the guest starts; --help describes the options.
#
# usage: drive_options_test.sh KESTREL
# Prints "ok <case>" or "FAIL <case>: <reason>", then "drive-options: N passed, M failed".
set -u
kestrel=${1:?usage: $0 KESTREL}
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start_suite drive-options

# expect_error NAME PATTERN ARGS...: kestrel exits 2 and stderr matches PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  local out status
  out=$(timeout 20 "$kestrel" "$@" </dev/null 2>&1 >/dev/null)
  status=$?
  if [ "$status" -ne 2 ]; then bad "$name" "exit status $status, want 2 ($out)"
  elif ! grep -q -- "$pattern" <<<"$out"; then bad "$name" "stderr does not say '$pattern': $out"
  else ok "$name"
  fi
}

head -c 1000 /dev/zero >"$work/odd.img"
: >"$work/empty.img"
head -c $((737280 - 512)) /dev/zero >"$work/short-floppy.img"
head -c $((2048 * 8)) /dev/zero >"$work/short.iso"
head -c $((1 << 20)) /dev/zero >"$work/disk.img"
head -c 1474560 /dev/zero >"$work/floppy.img"
expect_error missing-hda "cannot open '$work/none.img'" --hda "$work/none.img"
expect_error odd-sized-hda "not a whole number of 512-byte sectors" --hda "$work/odd.img"
expect_error empty-hdb "is empty" --hda "$work/disk.img" --hdb "$work/empty.img"
expect_error truncated-floppy "no floppy format" --fda "$work/short-floppy.img"
expect_error truncated-iso "too short for an ISO 9660 image" --cdrom "$work/short.iso"
expect_error directory-cdrom "not a regular file" --cdrom "$work"
expect_error boot-d-without-cdrom "no CD-ROM to boot from" --hda "$work/disk.img" --boot d
expect_error boot-a-without-floppy "no floppy to boot from" --hda "$work/disk.img" --boot a
expect_error boot-bad-letter "is not c (hard disk), d (CD-ROM) or a (floppy)" --hda "$work/disk.img" --boot x
expect_error missing-bios "cannot" --hda "$work/disk.img" --bios "$work/no-bios.bin"
if [ "$(id -u)" -ne 0 ]; then
  cp "$work/disk.img" "$work/ro.img"
  chmod 0444 "$work/ro.img"
  expect_error read-only-hda "cannot be opened for writing" --hda "$work/ro.img"
fi

help=$("$kestrel" --help 2>&1)
missing=""
for opt in --hda --hdb --cdrom --fda --boot; do
  grep -q -- "$opt" <<<"$help" || missing="$missing $opt"
done
if [ -z "$missing" ] && grep -q "seabios/bios.bin" <<<"$help"; then ok help
else bad help "--help does not describe:$missing (or the SeaBIOS default)"
fi
finish
