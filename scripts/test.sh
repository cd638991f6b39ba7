#!/usr/bin/env bash
# Builds Kestrel and runs every test suite; ends with the line "N passed, M failed".
# This is the README's test command; .ci/run calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if ! bash scripts/build.sh; then
  echo "kestrel: the build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

total_pass=0
total_fail=0
summary=()
log_dir=build/test-logs
mkdir -p "$log_dir"

# run_suite NAME REGEX COMMAND...: runs a suite, echoes its output to a log, and
# reads its counts from the last line matching REGEX (two capture groups: passed,
# failed; with counts_are_cases=1 in the environment: cases, mismatches).
run_suite() {
  local name=$1 regex=$2
  shift 2
  local log="$log_dir/$name.log" start end status line p f
  start=$(date +%s)
  "$@" >"$log" 2>&1
  status=$?
  end=$(date +%s)
  line=$(grep -E "$regex" "$log" | tail -n 1)
  if [[ -n "$line" && "$line" =~ $regex ]]; then
    p=${BASH_REMATCH[1]}
    f=${BASH_REMATCH[2]}
    # A difftest reports (cases, mismatches): the cases that matched passed.
    [[ -n "${counts_are_cases:-}" ]] && p=$((p - f))
  else
    p=0
    f=1
    echo "--- $name printed no summary (exit status $status); last lines:"
    tail -n 20 "$log"
  fi
  if [[ $status -ne 0 && $f -eq 0 ]]; then
    f=1  # a crash or a non-zero exit is a failure even if the counts look clean
    echo "--- $name exited with status $status"
    tail -n 20 "$log"
  fi
  if [[ $f -ne 0 ]]; then
    echo "--- $name: failures (full log: $log)"
    grep -E "FAIL|ERROR|error|mismatch" "$log" | head -n 40
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  summary+=("$(printf '%-10s %7d passed %5d failed  (%ss)' "$name" "$p" "$f" $((end - start)))")
}

if [[ -x build/tests/unit-tests ]]; then
  run_suite unit 'test cases:[^|]*\|[[:space:]]*([0-9]+) passed[[:space:]]*\|[[:space:]]*([0-9]+) failed' \
    build/tests/unit-tests
fi
if [[ -x build/tests/fpu/fpu-difftest ]]; then
  # Passed = cases that matched the host FPU; failed = mismatches.
  counts_are_cases=1 run_suite fpu 'fpu-difftest: ([0-9]+) cases, ([0-9]+) mismatches' build/tests/fpu/fpu-difftest
fi
if [[ -x build/tests/fpu/x87-difftest ]]; then
  # Random x87 instruction sequences against the host x87 (x86-64 hosts only).
  counts_are_cases=1 run_suite x87 'x87-difftest: ([0-9]+) cases, ([0-9]+) mismatches' build/tests/fpu/x87-difftest
  # The same sequences translated by the JIT on their first run, and under --jit verify.
  if [[ "$(build/tests/fpu/x87-difftest --help 2>&1)" == *--jit* ]]; then
    counts_are_cases=1 run_suite x87-jit 'x87-difftest: ([0-9]+) cases, ([0-9]+) mismatches' \
      build/tests/fpu/x87-difftest --jit on
    counts_are_cases=1 run_suite x87-jv 'x87-difftest: ([0-9]+) cases, ([0-9]+) mismatches' \
      build/tests/fpu/x87-difftest --jit verify
  fi
fi
if [[ -x build/testsuites/difftest/difftest ]]; then
  # Every instruction form of the table against the host CPU in 32- and 64-bit mode
  # (x86-64 Linux hosts only), with a fixed seed: integer forms, then the x87, MMX
  # and SSE families (NaNs, denormals, infinities, signed zeros, rounding boundaries,
  # every rounding mode and precision control, masked and unmasked exceptions).
  counts_are_cases=1 run_suite difftest-int 'difftest-int: ([0-9]+) cases, ([0-9]+) mismatches' \
    build/testsuites/difftest/difftest --family int --seed 0x4B657374726C
  counts_are_cases=1 run_suite difftest-fp 'difftest-fp: ([0-9]+) cases, ([0-9]+) mismatches' \
    build/testsuites/difftest/difftest --family fp --seed 0x4B657374726C
  # The same cases with each block translated by the JIT on its first run (-jit), and
  # translated plus re-run in the interpreter with the first difference reported (-jv).
  if [[ "$(build/testsuites/difftest/difftest --help 2>&1)" == *--jit* ]]; then
    for jm in jit:on jv:verify; do
      counts_are_cases=1 run_suite "difftest-int-${jm%%:*}" 'difftest-int: ([0-9]+) cases, ([0-9]+) mismatches' \
        build/testsuites/difftest/difftest --family int --seed 0x4B657374726C --jit "${jm#*:}"
      counts_are_cases=1 run_suite "difftest-fp-${jm%%:*}" 'difftest-fp: ([0-9]+) cases, ([0-9]+) mismatches' \
        build/testsuites/difftest/difftest --family fp --seed 0x4B657374726C --jit "${jm#*:}"
    done
  fi
fi
if [[ -x build/testsuites/sst-runner ]]; then
  run_suite sst 'sst-80286: ([0-9]+) passed, ([0-9]+) failed' \
    build/testsuites/sst-runner --dir "$root/../shared/testdata/sst-80286-real"
  # The same vectors with every block translated by the JIT (-jit), and translated
  # plus checked against the interpreter (-jv).
  if build/testsuites/sst-runner --help 2>&1 | grep -q -- '--jit'; then
    run_suite sst-jit 'sst-80286: ([0-9]+) passed, ([0-9]+) failed' \
      build/testsuites/sst-runner --dir "$root/../shared/testdata/sst-80286-real" --jit on
    run_suite sst-jv 'sst-80286: ([0-9]+) passed, ([0-9]+) failed' \
      build/testsuites/sst-runner --dir "$root/../shared/testdata/sst-80286-real" --jit verify
  fi
fi
if [[ -f tests/guest/run_guest_tests.sh ]]; then
  run_suite guest 'guest: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/run_guest_tests.sh "$root/build/kestrel" "$root/build"
fi
if [[ -f tests/guest/system/run_system_tests.sh ]]; then
  run_suite system 'system: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/system/run_system_tests.sh "$root/build/kestrel" "$root/build/tests/guest/system"
fi
# The guest programs again with every native block checked against the interpreter.
if [[ -f tests/guest/run_guest_tests.sh ]]; then
  run_suite guest-jv 'guest: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/run_guest_tests.sh "$root/build/kestrel" "$root/build" -- --jit verify
fi
if [[ -f tests/guest/system/run_system_tests.sh ]]; then
  run_suite system-jv 'system: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/system/run_system_tests.sh "$root/build/kestrel" "$root/build/tests/guest/system" -- --jit verify
fi
if [[ -d build/tests/guest/fpu ]]; then
  run_suite guest-fpu 'system: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/system/run_system_tests.sh "$root/build/kestrel" "$root/build/tests/guest/fpu"
  run_suite guest-fpu-jv 'system: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/system/run_system_tests.sh "$root/build/kestrel" "$root/build/tests/guest/fpu" -- --jit verify
fi
if [[ -f tests/guest/multiboot/run_multiboot_tests.sh ]]; then
  run_suite multiboot 'multiboot: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/guest/multiboot/run_multiboot_tests.sh "$root/build/kestrel" "$root/build/tests/guest/multiboot"
fi

if [[ -f tests/boot/cli_options_test.sh ]]; then
  run_suite cli-boot 'cli-boot: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/cli_options_test.sh "$root/build/kestrel" "$root/build/tests/guest/multiboot"
fi
# The CPU benchmark guest's checksums against the same C code run on the host.
if [[ -f tests/boot/cpu_bench_test.sh ]]; then
  run_suite cpu-bench 'cpu-bench-test: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/cpu_bench_test.sh "$root/build/kestrel" "$root/build"
fi
if [[ -f tests/boot/drive_options_test.sh ]]; then
  run_suite drive-opts 'drive-options: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/drive_options_test.sh "$root/build/kestrel"
fi
# The VGA: guest programs in modes 03h/12h/13h read back through --display text and --screenshot.
if [[ -f tests/boot/vga_boot_test.sh ]]; then
  run_suite vga-boot 'vga-boot: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/vga_boot_test.sh "$root/build/kestrel" "$root/build/tests/guest/vga"
fi
# Debian's SeaBIOS on the i440FX board.
if [[ -f tests/boot/seabios_boot_test.sh ]]; then
  run_suite seabios 'seabios: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/seabios_boot_test.sh "$root/build/kestrel"
fi
# SeaBIOS boots a SYSLINUX disk and a GRUB ISO to Linux's shell test, and FreeDOS
# from floppy to its prompt (images built from Debian's packages at test time).
if [[ -f tests/boot/bios_boot_test.sh ]]; then
  run_suite bios-boot 'bios-boot: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/bios_boot_test.sh "$root/build/kestrel"
fi
# memtest86+ (Debian's) over 64 MiB, booted as a kernel (tests #0-#9 with no error on
# its serial console) and from its ISO through SeaBIOS (its VGA screen read with
# --display text): about a minute each.
if [[ -f tests/boot/memtest_test.sh ]]; then
  run_suite memtest 'memtest: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/memtest_test.sh "$root/build/kestrel" kernel iso
fi
# Debian's kernel and a busybox initramfs (fetched once into .cache/guest/).
if [[ -f tests/boot/linux_boot_test.sh ]]; then
  run_suite linux-boot 'linux-boot: ([0-9]+) passed, ([0-9]+) failed' \
    bash tests/boot/linux_boot_test.sh "$root/build/kestrel"
  # The same boot under --jit verify: each translated block's first 8 runs, then one
  # run in 64, are undone and re-run in the interpreter (the whole boot, ~13 M checks).
  if [[ "$("$root/build/kestrel" --help 2>&1)" == *--jit-verify-every* ]]; then
    run_suite linux-boot-jv 'linux-boot: ([0-9]+) passed, ([0-9]+) failed' \
      bash tests/boot/linux_boot_test.sh "$root/build/kestrel" -- --jit verify --jit-verify-every 64
  fi
fi

echo "=== test suites"
for s in "${summary[@]}"; do echo "$s"; done
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
