// Shared by the difftest driver (x86-64) and the native runners (the forked
// 64-bit child and the -m32 helper difftest-child32): the guest address layout
// and the case/result records exchanged through shared memory. Every field has
// a fixed width and an explicit offset, so the i386 and x86-64 builds agree.
#pragma once

#include <cstddef>
#include <cstdint>

namespace difftest {

// Guest-visible layout, the same natively and in Kestrel. Everything sits below
// 64 KiB so that 16-bit addressing (67 prefix in 32-bit code) and 16-bit branch
// targets reach it too. The pages around the code page and the data region are
// unmapped on both sides (page-fault targets).
inline constexpr uint32_t kCodePage = 0x8000;   // instruction + int3 filler (read-only, executable)
inline constexpr uint32_t kDataBase = 0xA000;   // data page
inline constexpr uint32_t kStackBase = 0xB000;  // stack page (directly above the data page)
inline constexpr uint32_t kRegionSize = 0x2000;  // data + stack, compared after every case
inline constexpr uint32_t kPageSize = 0x1000;
// Unmapped on both sides: 0x7000 (below the code page), 0x9000 (above it and below
// the data), 0xC000 (above the stack), and everything else below 1 MiB.

inline constexpr uint8_t kFiller = 0xCC;  // int3

// Case flags.
enum : uint32_t {
  kCaseFp = 1,  // load x87/SSE state from `fx` (otherwise the default FNINIT/0x1F80 state)
};

// One test case. 16-byte aligned; 64-bit register values (the 32-bit runner uses the low halves).
struct alignas(16) CaseIn {
  uint8_t fx[512];          // FXSAVE image loaded with FXRSTOR(64)
  uint64_t gpr[16];
  uint64_t rflags;
  uint32_t code_off;        // instruction at kCodePage + code_off
  uint32_t len;             // instruction bytes in `code`
  uint32_t flags;           // kCase*
  uint32_t pad0;
  uint8_t code[16];
  uint8_t region[kRegionSize];  // initial data + stack pages
};
static_assert(offsetof(CaseIn, fx) == 0);
static_assert(offsetof(CaseIn, gpr) == 512);
static_assert(offsetof(CaseIn, rflags) == 640);
static_assert(offsetof(CaseIn, code) == 664);
static_assert(offsetof(CaseIn, region) == 680);
static_assert(sizeof(CaseIn) % 16 == 0);

// Outcome status.
enum : uint32_t {
  kStatusException = 1,  // stopped at an exception (the terminating int3 is vector 3)
  kStatusNoStop = 2,     // Kestrel only: no exception within the instruction budget
  kStatusCrash = 3,      // native only: the runner died or hung on this case
  kStatusOther = 4,      // native only: a signal without a usable vector
};

// The state when the first exception after entry was raised: for faults the
// registers before the instruction and RIP on it, for traps (int3, INTO, INT n
// through a DPL-3 gate) RIP after the trapping instruction.
struct alignas(16) CaseOut {
  uint8_t fx[512];          // FXSAVE image of the x87/SSE state
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  uint64_t cr2;             // #PF only
  uint32_t status;
  uint32_t vector;
  uint32_t error;
  uint32_t signo;           // native: the signal, for diagnostics
  uint16_t sel[6];          // ES CS SS DS FS GS (32-bit runner: all; 64-bit: CS and SS)
  uint16_t pad1[2];
  uint8_t region[kRegionSize];
};
static_assert(offsetof(CaseOut, gpr) == 512);
static_assert(offsetof(CaseOut, rip) == 640);
static_assert(offsetof(CaseOut, status) == 664);
static_assert(offsetof(CaseOut, sel) == 680);
static_assert(offsetof(CaseOut, region) == 696);
static_assert(sizeof(CaseOut) % 16 == 0);

inline constexpr uint32_t kBatchMax = 256;
inline constexpr uint32_t kShmMagic = 0x44494654;  // "DIFT"

// Shared-memory block: header, then the cases, then the results.
struct alignas(64) ShmHeader {
  uint32_t magic;
  uint32_t count;       // cases in this batch
  uint32_t done;        // cases finished so far (the runner's progress, for crash recovery)
  uint32_t start;       // first case to run in this batch (after a crash, the one after)
  uint16_t host_sel[6]; // the runner's segment selectors at start-up (ES CS SS DS FS GS)
  uint16_t pad[2];
  uint32_t cpuid1_ecx, cpuid1_edx, cpuid7_ebx, pad2;
  // Access rights (LAR) and limits (LSL) of the runner's GDT selectors 0x00..0x78
  // (0 when LAR fails at CPL 3).
  uint32_t lar[16];
  uint32_t lsl[16];
};

inline constexpr size_t kShmCasesOffset = 4096;
inline constexpr size_t kShmResultsOffset = kShmCasesOffset + sizeof(CaseIn) * kBatchMax;
inline constexpr size_t kShmSize = kShmResultsOffset + sizeof(CaseOut) * kBatchMax;

// Runner commands on the command pipe: one 4-byte word; the runner answers with
// one 4-byte word on the reply pipe when the batch is done.
enum : uint32_t { kCmdRun = 1, kCmdQuit = 2, kCmdHello = 3 };

}  // namespace difftest
