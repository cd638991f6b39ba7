#!/usr/bin/env bash
# Configures (once) and builds Kestrel into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build >/dev/null || ninja -C build
