#!/usr/bin/env bash
# The main job: builds Kestrel and boots the default guest.
# Today the default guest is the demo in firmware/demo (real mode -> protected
# mode -> long mode, a workload, a report); the Linux guest replaces it later.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/kestrel --load build/firmware/demo/demo.bin@0x7c00 "$@"
