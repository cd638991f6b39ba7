#!/usr/bin/env bash
# Prepares the default Linux guest in .cache/guest/ (git-ignored): Debian's
# kernel (linux-image-amd64) and a busybox initramfs, without installing either
# on the host. Idempotent: work already done is kept, so a second run is quick.
#
#   .cache/guest/bzImage          the kernel (boot/vmlinuz-* of the package)
#   .cache/guest/vmlinux          the same kernel uncompressed (an ELF with a PVH
#                                 entry: kestrel boots it without the in-guest
#                                 decompression), when the payload is XZ
#   .cache/guest/initrd.gz        interactive: an /init that mounts /proc, /sys,
#                                 /dev, prints a banner and starts a shell on the
#                                 console; leaving the shell powers off
#   .cache/guest/initrd-ci.gz     the CI boot test: an /init that checks the boot
#                                 and a computed checksum, prints
#                                 "KESTREL-BOOT-TEST: PASS" (or FAIL: why) and powers off
#   .cache/guest/initrd-bench.gz  bench/linux_sha256.sh: three timed rounds of
#                                 sha256sum over 16 MiB, marked on the console
#   .cache/guest/kernel-version   the kernel's release (uname -r)
#
# Needs apt-get (Debian 12), dpkg-deb, gzip and cpio; as root it installs cpio
# with apt-get when missing. Options: --force rebuilds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="$root/.cache/guest"
force=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare-guest: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "prepare-guest: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  die "apt-get and dpkg-deb are needed (a Debian or Ubuntu host)"

missing=()
command -v cpio >/dev/null || missing+=(cpio)
command -v gzip >/dev/null || missing+=(gzip)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; install it (apt-get install ${missing[*]}) or run as root"
  say "installing ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
fi

mkdir -p "$cache/debs"
((force)) && rm -rf "$cache/debs"/*.deb "$cache/kernel-root" "$cache/busybox-root" "$cache"/initrd*.gz

# The versioned kernel package behind the linux-image-amd64 meta-package.
resolve_kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
kpkg=$(resolve_kernel_pkg)
if [[ -z "$kpkg" ]]; then
  say "apt-cache does not know linux-image-amd64; running apt-get update"
  [[ $(id -u) -eq 0 ]] || die "run as root (apt-get update needs it) or run 'apt-get update' first"
  apt-get update >/dev/null || die "apt-get update failed"
  kpkg=$(resolve_kernel_pkg)
  [[ -n "$kpkg" ]] || die "cannot resolve linux-image-amd64 to a versioned package"
fi

download() {  # download PACKAGE: the .deb into $cache/debs unless already there
  local pkg=$1
  if ! compgen -G "$cache/debs/${pkg}_*.deb" >/dev/null; then
    say "downloading $pkg"
    # As root, apt downloads as the _apt user, who cannot write here: say who downloads.
    local sandbox=()
    [[ $(id -u) -eq 0 ]] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$cache/debs" && apt-get download "${sandbox[@]}" "$pkg" >/dev/null) || die "apt-get download $pkg failed"
  fi
  compgen -G "$cache/debs/${pkg}_*.deb" | head -n 1
}
kdeb=$(download "$kpkg")
bdeb=$(download busybox-static)

extract() {  # extract DEB DIR: unpack once (the stamp names the .deb)
  local deb=$1 dir=$2
  if [[ ! -f "$dir/.from" || "$(cat "$dir/.from")" != "$(basename "$deb")" ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
    basename "$deb" >"$dir/.from"
  fi
}
extract "$kdeb" "$cache/kernel-root"
extract "$bdeb" "$cache/busybox-root"

vmlinuz=$(compgen -G "$cache/kernel-root/boot/vmlinuz-*" | head -n 1)
[[ -n "$vmlinuz" ]] || die "no boot/vmlinuz-* in $kdeb"
cp -f "$vmlinuz" "$cache/bzImage"
kver=${vmlinuz##*/vmlinuz-}
echo "$kver" >"$cache/kernel-version"
busybox="$cache/busybox-root/bin/busybox"

# The uncompressed kernel: the bzImage's payload (setup header fields payload_offset
# at 0x248 and payload_length at 0x24C, from the protected-mode part at
# (setup_sects + 1) * 512) is an XZ stream followed by the 4-byte decompressed size.
u8() { od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
if [[ ! -f "$cache/vmlinux" || "$cache/bzImage" -nt "$cache/vmlinux" ]]; then
  pm=$((($(u8 "$cache/bzImage" $((0x1F1))) + 1) * 512))
  poff=$(u32 "$cache/bzImage" $((0x248)))
  plen=$(u32 "$cache/bzImage" $((0x24C)))
  if [[ "$(od -An -tx1 -j $((pm + poff)) -N 6 "$cache/bzImage" | tr -d ' ')" == fd377a585a00 ]] && command -v xz >/dev/null; then
    # --single-stream stops at the end of the XZ stream and ignores what follows.
    xz -dc --single-stream < <(tail -c +$((pm + poff + 1)) "$cache/bzImage" | head -c "$plen") >"$cache/vmlinux.tmp" &&
      mv "$cache/vmlinux.tmp" "$cache/vmlinux" || { rm -f "$cache/vmlinux.tmp"; say "note: could not unpack the kernel's XZ payload; no vmlinux"; }
  else
    say "note: the kernel's payload is not XZ (or xz is missing); no vmlinux for PVH boots"
  fi
fi
[[ -x "$busybox" ]] || die "no bin/busybox in $bdeb"

# The CI test's known answer, computed here with the same commands the guest runs.
ci_data_cmd="dd if=/dev/zero bs=1M count=4 2>/dev/null | tr '\\000' k | sha256sum"
expected=$(dd if=/dev/zero bs=1M count=4 2>/dev/null | tr '\000' k | sha256sum | cut -d' ' -f1)

# make_initramfs OUT INIT_SCRIPT: busybox, its applet links, /init, a console node.
make_initramfs() {
  local out=$1 init=$2 stage
  stage=$(mktemp -d "$cache/stage.XXXXXX")
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc}
  cp "$busybox" "$stage/bin/busybox"
  local applet
  while read -r applet; do
    [[ -z "$applet" || "$applet" == bin/busybox ]] && continue
    mkdir -p "$stage/$(dirname "$applet")"
    [[ -e "$stage/$applet" ]] || ln -s /bin/busybox "$stage/$applet"
  done < <("$busybox" --list-full)
  printf '%s\n' "$init" >"$stage/init"
  chmod 755 "$stage/init"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
  # The kernel opens /dev/console for init before anything mounts devtmpfs.
  if [[ $(id -u) -eq 0 ]]; then
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
  else
    say "note: not root, so the initramfs has no /dev/console node (init starts without a console until devtmpfs)"
  fi
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible |
     gzip -9 -n >"$out.tmp") || die "building $out failed"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
}

read -r -d '' init_interactive <<'EOF' || true
#!/bin/sh
# Kestrel's default guest: a busybox shell on the console.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
echo
echo "=== Kestrel guest: Linux $(uname -r), busybox initramfs ==="
echo "=== 'exit' or 'poweroff -f' ends the emulator; Ctrl-A X quits at once ==="
echo
setsid cttyhack sh -l
echo "the shell exited: powering off"
poweroff -f
EOF

read -r -d '' init_ci <<EOF || true
#!/bin/sh
# Kestrel's CI boot test: prints "KESTREL-BOOT-TEST: PASS" when the boot looks healthy
# and a computed checksum is right, then powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "KESTREL-BOOT-TEST: kernel \$(uname -r)"
why=""
if dmesg | grep -E 'Oops|BUG|Call Trace'; then why="\$why dmesg-has-oops"; fi
sum=\$($ci_data_cmd | cut -d' ' -f1)
echo "KESTREL-BOOT-TEST: sha256 \$sum"
[ "\$sum" = "$expected" ] || why="\$why checksum(expected $expected)"
if [ -z "\$why" ]; then echo "KESTREL-BOOT-TEST: PASS"; else echo "KESTREL-BOOT-TEST: FAIL:\$why"; fi
poweroff -f
EOF

# bench/linux_sha256.sh: a CPU workload inside the guest, timed by the host from the
# moments the START and END lines reach the serial port (the guest's own clock
# follows the virtual clock, not the wall).
read -r -d '' init_bench <<'EOF' || true
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for i in 1 2 3; do
  echo "KESTREL-BENCH: START $i"
  sum=$(dd if=/dev/zero bs=1M count=16 2>/dev/null | tr '\000' k | sha256sum | cut -d' ' -f1)
  echo "KESTREL-BENCH: END $i $sum"
done
poweroff -f
EOF

if ((force)) || [[ ! -f "$cache/initrd.gz" || "$0" -nt "$cache/initrd.gz" || "$busybox" -nt "$cache/initrd.gz" ]]; then
  make_initramfs "$cache/initrd.gz" "$init_interactive"
fi
if ((force)) || [[ ! -f "$cache/initrd-ci.gz" || "$0" -nt "$cache/initrd-ci.gz" || "$busybox" -nt "$cache/initrd-ci.gz" ]]; then
  make_initramfs "$cache/initrd-ci.gz" "$init_ci"
fi
if ((force)) || [[ ! -f "$cache/initrd-bench.gz" || "$0" -nt "$cache/initrd-bench.gz" || "$busybox" -nt "$cache/initrd-bench.gz" ]]; then
  make_initramfs "$cache/initrd-bench.gz" "$init_bench"
fi
say "ready: kernel $kver ($cache/bzImage$([[ -f "$cache/vmlinux" ]] && echo ", $cache/vmlinux")), initramfs $cache/initrd.gz and $cache/initrd-ci.gz"
