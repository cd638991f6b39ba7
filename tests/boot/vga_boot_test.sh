#!/usr/bin/env bash
# The VGA and the PS/2 keyboard through the kestrel command: guest programs that
# program modes 03h, 12h and 13h register by register (tests/guest/vga), read back
# with --display text (the exact screen format the README documents) and
# --screenshot (pixels decoded with tests/boot/png_pixels.py); a program that
# echoes the keyboard's scan codes, fed by --keys and by a pipe; the option checks
# of --vga/--display/--screenshot/--keys.
#
# usage: vga_boot_test.sh KESTREL DIR
#   KESTREL  the kestrel binary
#   DIR      the directory holding the VGA guest programs (build/tests/guest/vga)
#
# Prints "ok <case>" or "FAIL <case>: <reason>", then "vga-boot: N passed, M failed".
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 KESTREL DIR" >&2
  exit 2
fi
kestrel=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_files "$kestrel" "$dir/vga_text.bin" "$dir/vga_mode12.bin" "$dir/vga_mode13.bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start_suite vga-boot

# run NAME ARGS...: runs kestrel (20 s limit) with stdout in $work/NAME.out and
# stderr in $work/NAME.err; the exit status in $status.
run() {
  local name=$1
  shift
  timeout 20 "$kestrel" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null
  status=$?
}

# pixels NAME PNG WANT X,Y...: compares png_pixels.py's output with WANT.
pixels() {
  local name=$1 png=$2 want=$3
  shift 3
  local got
  got=$(python3 "$here/png_pixels.py" "$png" "$@" 2>&1)
  if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "pixels differ: got [$got], want [$want]"; fi
}

# Mode 03h: the whole screen as --display text prints it at the end of the run.
run text --load "$dir/vga_text.bin@0x7c00" --display text --screenshot "$work/text.png"
{
  echo "--- kestrel screen 80x25 ---"
  echo "KESTREL VGA TEXT MODE 03"
  echo "readback ok"
  for _ in $(seq 22); do echo; done
  printf '%69s%s\n' "" "bottom line"
} >"$work/text.want"
if [ $status -ne 0 ]; then bad vga-text "exit status $status: $(tail -n 3 "$work/text.err")"
elif cmp -s "$work/text.out" "$work/text.want"; then ok vga-text
else bad vga-text "screen differs: $(diff "$work/text.want" "$work/text.out" | head -n 8)"; fi
# No font was loaded into plane 2, so the text mode picture is the background:
# 720x400, black where the grey-on-black blanks are.
pixels vga-text-screenshot "$work/text.png" "$(printf '720x400\n700,200 0 0 0')" 700,200

# Mode 13h: DAC entries 1-3 (6-bit 10,20,30 / 63,0,0 / 0,63,0) widened to 8 bits.
run m13 --load "$dir/vga_mode13.bin@0x7c00" --screenshot "$work/m13.png"
if [ $status -ne 0 ]; then bad vga-mode13 "exit status $status"; fi
pixels vga-mode13 "$work/m13.png" "$(printf '320x200\n0,0 40 81 121\n319,99 40 81 121\n0,150 255 0 0\n105,55 0 255 0\n110,55 40 81 121')" \
  0,0 319,99 0,150 105,55 110,55

# Mode 12h: stripe k (pixels 40k..40k+39) has colour k = DAC (4k, 63-4k, 2k).
want="640x480"
points=()
for k in 0 1 7 8 15; do
  x=$((40 * k + 39))
  r6=$((4 * k)); g6=$((63 - 4 * k)); b6=$((2 * k))
  want+=$'\n'"$x,240 $(((r6 << 2) | (r6 >> 4))) $(((g6 << 2) | (g6 >> 4))) $(((b6 << 2) | (b6 >> 4)))"
  points+=("$x,240")
done
run m12 --load "$dir/vga_mode12.bin@0x7c00" --screenshot "$work/m12.png"
if [ $status -ne 0 ]; then bad vga-mode12 "exit status $status"; fi
pixels vga-mode12 "$work/m12.png" "$want" "${points[@]}"

# --display defaults: text when --serial is not stdio, none when it is.
run auto --load "$dir/vga_text.bin@0x7c00" --serial none
if grep -q "^KESTREL VGA TEXT MODE 03$" "$work/auto.out"; then ok display-auto-text
else bad display-auto-text "no screen on stdout with --serial none"; fi
run quiet --load "$dir/vga_text.bin@0x7c00"
if grep -q "kestrel screen" "$work/quiet.out"; then bad display-auto-none "a screen was printed with --serial stdio"
else ok display-auto-none; fi

# Debian's VGA BIOS (seabios package) run directly: INT 10h mode 03h and teletype
# output, drawn with the font it loads into plane 2; VBE mode 0x101 through DISPI.
vgarom=/usr/share/seabios/vgabios-stdvga.bin
if [ ! -f "$vgarom" ]; then
  bad vgabios-text "$vgarom is missing (install Debian's seabios package: scripts/deps.sh)"
else
  run vbt --load "$vgarom@0xc0000" --load "$dir/vgabios_text.bin@0x7c00" --entry 0:7c00 --display text \
    --screenshot "$work/vbt.png"
  if [ $status -eq 0 ] && sed -n '/^--- kestrel screen 80x25 ---$/,$p' "$work/vbt.out" | head -n 3 |
       cmp -s - <(printf -- '--- kestrel screen 80x25 ---\nHello from SeaVGABIOS\nsecond line\n'); then
    ok vgabios-text
  else bad vgabios-text "status $status: $(sed -n '/kestrel screen/,+3p' "$work/vbt.out")"; fi
  # 'H' of the ROM's 8x16 font (rows 2-5 C6, row 6 FE), grey (attribute 07) on black.
  pixels vgabios-text-font "$work/vbt.png" "$(printf '720x400\n0,2 170 170 170\n2,2 0 0 0\n5,2 170 170 170\n3,6 170 170 170\n7,6 0 0 0\n0,0 0 0 0')" \
    0,2 2,2 5,2 3,6 7,6 0,0
  # The BIOS's graphics modes: diagonal colour 3, row 20 colour 1 (cyan and blue;
  # in the CGA modes 04h white and cyan, 06h white), odd and even lines alike.
  for mode in 04 06 0d 12 13; do
    case $mode in
      04) size=320x200; c3="255 255 255"; c1="85 255 255" ;;
      06) size=640x200; c3="255 255 255"; c1="255 255 255" ;;
      0d|13) size=320x200; c3="0 170 170"; c1="0 0 170" ;;
      12) size=640x480; c3="0 170 170"; c1="0 0 170" ;;
    esac
    run "mode$mode" --load "$vgarom@0xc0000" --load "$dir/vgabios_mode$mode.bin@0x7c00" --entry 0:7c00 \
      --screenshot "$work/mode$mode.png"
    pixels "vgabios-mode$mode" "$work/mode$mode.png" \
      "$(printf '%s\n5,5 %s\n6,6 %s\n6,5 0 0 0\n50,20 %s\n199,20 %s\n200,20 0 0 0' "$size" "$c3" "$c3" "$c1" "$c1")" \
      5,5 6,6 6,5 50,20 199,20 200,20
  done
  run vbe --load "$vgarom@0xc0000" --load "$dir/vgabios_vbe.bin@0x7c00" --entry 0:7c00 --screenshot "$work/vbe.png"
  if [ $status -eq 0 ] && grep -q "^PASS vgabios-vbe" "$work/vbe.out"; then ok vgabios-vbe
  else bad vgabios-vbe "status $status: $(grep -E 'FAIL|PASS' "$work/vbe.out")"; fi
  # The ROM's default 256-colour palette: 4 = (42,0,0), 15 = white, 2 = (0,42,0).
  pixels vgabios-vbe-pixels "$work/vbe.png" "$(printf '640x480\n10,10 170 0 0\n0,0 0 0 0\n5,100 255 255 255\n639,110 0 170 0')" \
    10,10 0,0 5,100 639,110
fi

# SeaBIOS with the VGA as PCI 00:02.0 and its expansion ROM: the banner on the
# VGA's text screen (no boot device: the BIOS reboots, which ends the run).
if [ -f /usr/share/seabios/bios.bin ] && [ -f "$vgarom" ]; then
  run seabios --bios /usr/share/seabios/bios.bin --display text --serial none --no-reboot
  if [ $status -eq 0 ] && sed -n '/^--- kestrel screen 80x25 ---$/{n;p;q}' "$work/seabios.out" |
       grep -qx "SeaBIOS (version .*)" &&
     grep -q "^No bootable device" "$work/seabios.out" && grep -q "Running option rom at c000:0003" "$work/seabios.out"; then
    ok seabios-vga-banner
  else bad seabios-vga-banner "status $status: $(sed -n '/kestrel screen/,+4p' "$work/seabios.out" | head -n 5)"; fi
else
  bad seabios-vga-banner "Debian's seabios package is missing (scripts/deps.sh installs it)"
fi

# SeaBIOS's own PS/2 keyboard driver and INT 16h: a boot sector on a floppy image
# reads a line (--keys, typed once its prompt shows) and echoes it on the VGA;
# Up and F1 have no character and show their scan codes.
cp "$dir/kbd_bootsector.bin" "$work/kbd.img" && truncate -s 1440K "$work/kbd.img"
run kbdboot --fda "$work/kbd.img" --display text --serial none --keys 'Hi, DOS!\e[A\eOP\n' --keys-after 'Type: '
if [ $status -eq 0 ] && grep -qx 'Got: Hi, DOS!<48><3B>' "$work/kbdboot.out" &&
   grep -qx 'Hi, DOS!<48><3B>' "$work/kbdboot.out"; then
  ok seabios-keyboard
else bad seabios-keyboard "status $status: $(grep -E '^(Type|Got)' "$work/kbdboot.out" | tail -n 2)"; fi

# The PS/2 keyboard: --keys typed through the translating controller (set 1), raw
# set 2 with translation off, and a pipe on standard input when COM1 does not read it.
run keys --load "$dir/kbd_echo.bin@0x7c00" --display text --keys 'Hi there!\n'
if [ $status -eq 0 ] && grep -qx "Hi there!" "$work/keys.out" &&
   grep -qx "2A 23 A3 AA 17 97 39 B9 14 94 23 A3 12 92 13 93 12 92 2A 02 82 AA 1C 9C" "$work/keys.out"; then
  ok keys-set1
else bad keys-set1 "status $status: $(head -n 4 "$work/keys.out")"; fi
run keys2 --load "$dir/kbd_echo_set2.bin@0x7c00" --display text --keys 'Hi\n'
if [ $status -eq 0 ] && grep -qx "12 33 F0 33 F0 12 43 F0 43 5A F0 5A" "$work/keys2.out"; then ok keys-set2
else bad keys-set2 "status $status: $(head -n 4 "$work/keys2.out")"; fi
printf 'ab c\n' | timeout 20 "$kestrel" --load "$dir/kbd_echo.bin@0x7c00" --serial none >"$work/pipe.out" 2>&1
if grep -qx "ab c" "$work/pipe.out" && grep -qx "1E 9E 30 B0 39 B9 2E AE 1C 9C" "$work/pipe.out"; then ok keys-stdin-pipe
else bad keys-stdin-pipe "$(head -n 4 "$work/pipe.out")"; fi
# --keys-after: nothing is typed until the screen shows the text (row 1 of the
# echo program never shows "zzz", so the run ends at --max-insns with no codes).
run keysafter --load "$dir/kbd_echo.bin@0x7c00" --display text --keys 'a' --keys-after zzz --max-insns 20000000
if [ $status -eq 3 ] && ! grep -q "1E 9E" "$work/keysafter.out" && grep -q "kestrel screen" "$work/keysafter.out"; then
  ok keys-after-waits
else bad keys-after-waits "status $status: $(head -n 3 "$work/keysafter.out")"; fi
# ...and types once it does: three blanks appear only once the program has set
# mode 03h and cleared the screen (before that there is no text screen at all).
run keysafter2 --load "$dir/kbd_echo.bin@0x7c00" --display text --keys 'ok\n' --keys-after "   " --max-insns 200000000
if [ $status -eq 0 ] && grep -qx "ok" "$work/keysafter2.out"; then ok keys-after-types
else bad keys-after-types "status $status: $(head -n 3 "$work/keysafter2.out")"; fi

# FreeDOS (../shared/testdata, on a copy): at its A:\> prompt --keys types VER,
# and the run ends once the screen shows FreeCOM's answer and the next prompt.
freedos=$here/../../../shared/testdata/freedos/freedos722.img
if [ ! -f "$freedos" ]; then
  bad freedos-keys "missing $freedos (the shared test data)"
else
  cp "$freedos" "$work/freedos.img" && chmod u+w "$work/freedos.img"
  timeout 120 "$kestrel" --fda "$work/freedos.img" --display text --serial none --keys 'ver\n' --keys-after 'A:\>' \
    --stop-on-screen $'A:\\>ver\n\nFreeCom version 0.82 pl 3 XMS_Swap [Dec 10 2003 06:49:21]\n\nA:\\>' \
    >"$work/freedos.out" 2>"$work/freedos.err" </dev/null
  status=$?
  if [ $status -eq 0 ] && grep -q "the screen shows" "$work/freedos.err" && grep -qx 'A:\\>ver' "$work/freedos.out"; then
    ok freedos-keys
  else bad freedos-keys "status $status: $(tail -n 4 "$work/freedos.out")"; fi
fi

# --stop-on-screen ends a run that would go on (no Enter: the program keeps polling),
# also on a text spanning two rows.
run stopon --load "$dir/kbd_echo.bin@0x7c00" --display text --keys 'abc' --stop-on-screen $'abc\n1E 9E'
if [ $status -eq 0 ] && grep -q "the screen shows" "$work/stopon.err" && grep -qx "abc" "$work/stopon.out"; then
  ok stop-on-screen
else bad stop-on-screen "status $status: $(cat "$work/stopon.err" | head -n 2)"; fi

# Option errors: exit status 2 with a clear message.
run badkeys --load "$dir/vga_text.bin@0x7c00" --keys 'a\q'
if [ $status -eq 2 ] && grep -q "unknown escape" "$work/badkeys.err"; then ok keys-bad-escape
else bad keys-bad-escape "status $status: $(cat "$work/badkeys.err")"; fi
run lonekeys --load "$dir/vga_text.bin@0x7c00" --keys-after 'A:'
if [ $status -eq 2 ] && grep -q "no --keys" "$work/lonekeys.err"; then ok keys-after-alone
else bad keys-after-alone "status $status: $(cat "$work/lonekeys.err")"; fi
run novga --load "$dir/vga_text.bin@0x7c00" --vga none --display text
if [ $status -eq 2 ] && grep -q "no display adapter" "$work/novga.err"; then ok vga-none-display
else bad vga-none-display "status $status: $(cat "$work/novga.err")"; fi
run badshot --load "$dir/vga_text.bin@0x7c00" --screenshot /nonexistent-dir/x.png
if [ $status -eq 2 ] && grep -q "cannot create" "$work/badshot.err"; then ok screenshot-unwritable
else bad screenshot-unwritable "status $status: $(cat "$work/badshot.err")"; fi
run baddisplay --load "$dir/vga_text.bin@0x7c00" --display sdl
if [ $status -eq 2 ] && grep -q "neither none nor text" "$work/baddisplay.err"; then ok display-bad-value
else bad display-bad-value "status $status: $(cat "$work/baddisplay.err")"; fi

finish
