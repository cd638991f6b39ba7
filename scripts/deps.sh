#!/usr/bin/env bash
# Installs the Debian 12 packages Kestrel builds and tests with, when missing.
set -euo pipefail
pkgs=(meson ninja-build cmake pkg-config g++ gcc-multilib nasm
      libasmjit-dev libzydis-dev libfmt-dev doctest-dev nlohmann-json3-dev zlib1g-dev libcli11-dev libpng-dev
      seabios)  # bios.bin and vgabios-stdvga.bin for the BIOS boot tests
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kestrel: installing missing packages: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "kestrel: need root to install packages (run as root, or install: ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
