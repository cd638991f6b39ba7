// The host's x87 and SSE instructions, run with inline asm for the
// floating-point difftest (x86-64 only). Every wrapper sets the control
// word / MXCSR it is given, runs one instruction, reads the status back and
// leaves the FPU in its default state.
#pragma once

#include <cstdint>

#include "interp/fpu/softfloat.h"

namespace kestrel::fpu_test {

using kestrel::interp::fpu::f80;

inline constexpr uint32_t kDefaultMxcsr = 0x1F80;
enum HostX87Op { kFadd, kFsub, kFmul, kFdiv, kFsubr, kFdivr, kFprem, kFprem1, kFscale, kFsqrt, kFrndint };
enum UnOp { uAdd, uSub, uMul, uDiv, uSqrt, uScale, uRndint, uPrem, uPrem1, uFst32, uFst64, uFist32, uFist16,
            uFld32, uFld64, uFcom, uFcomi, uFucomi };
struct SaveArea {
    uint8_t b[108];
};
inline constexpr uint64_t kSentinel = 0x5A5A5A5A5A5A5A5Aull;
enum SseOp { kAdd, kSub, kMul, kDiv, kSqrt, kMin, kMax, kNumSseBin };
enum SseUnOp { suAddss, suSubsd, suMulss, suDivsd, suDivss, suSqrtss, suSqrtsd, suMinsd, suCvtsd2ss, suCvtss2sd,
               suCvtsd2si, suComiss, suRoundsd, suNumOps };

void host_x87(HostX87Op op, uint16_t cw, const f80& a, const f80& b, f80& r, uint16_t& sw);
void host_fxtract(uint16_t cw, const f80& a, f80& sig, f80& exp, uint16_t& sw);
void host_fcom(bool quiet, uint16_t cw, const f80& a, const f80& b, uint16_t& sw);
void host_fxam(const f80& a, uint16_t& sw);
void host_fist(int kind, bool trunc, uint16_t cw, const f80& a, int64_t& out, uint16_t& sw);
void host_fild(int kind, int64_t v, f80& r, uint16_t& sw);
void host_fld32(uint16_t cw, uint32_t v, f80& r, uint16_t& sw);
void host_fld64(uint16_t cw, uint64_t v, f80& r, uint16_t& sw);
void host_fst32(uint16_t cw, const f80& a, uint32_t& r, uint16_t& sw);
void host_fst64(uint16_t cw, const f80& a, uint64_t& r, uint16_t& sw);
void host_x87_mem(int op, bool is64, uint16_t cw, const f80& a, uint64_t m, f80& r, uint16_t& sw);
void host_x87_unmasked(UnOp op, uint16_t cw, const f80& a, const f80& b, SaveArea& sv, uint64_t& mem);
void host_cvt_ss2sd(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo);
void host_cvt_sd2ss(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo);
void host_cvt_si2f(bool to_double, bool is64, uint32_t mx, int64_t v, uint64_t& r, uint32_t& mxo);
void host_cvt_f2si(bool from_double, bool is64, bool trunc, uint32_t mx, uint64_t a, int64_t& out, uint32_t& mxo);
void host_round_imm(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo);
bool host_sse_unmasked(SseUnOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo);
void host_sse_bin(bool dbl, SseOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo);
unsigned host_sse_comi(bool dbl, bool quiet, uint32_t mx, uint64_t a, uint64_t b, uint32_t& mxo);
void host_round(bool dbl, int imm, uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo);

}  // namespace kestrel::fpu_test
