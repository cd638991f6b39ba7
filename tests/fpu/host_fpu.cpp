#if defined(__x86_64__) && !defined(KESTREL_FPU_NO_HOST)

#include "host_fpu.h"

#include <csetjmp>
#include <csignal>
#include <cstring>
#include <ucontext.h>

namespace kestrel::fpu_test {
// ------------------------------------------------------------ host x87 ----
#define X87_PRE "fninit\n\tfldcw %[cw]\n\t"
#define X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "memory"

// ST(0) = a, ST(1) = b; one result popped from ST(0).
#define X87_AB_R(body)                                                                          \
    asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\t" body "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" \
                 : [r] "=m"(r), [sw] "=m"(sw)                                                   \
                 : [cw] "m"(cw), [a] "m"(a), [b] "m"(b)                                         \
                 : X87_CLOBBERS)
#define X87_A_R(body)                                                                   \
    asm volatile(X87_PRE "fldt %[a]\n\t" body "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" \
                 : [r] "=m"(r), [sw] "=m"(sw)                                           \
                 : [cw] "m"(cw), [a] "m"(a)                                             \
                 : X87_CLOBBERS)


void host_x87(HostX87Op op, uint16_t cw, const f80& a, const f80& b, f80& r, uint16_t& sw) {
    switch (op) {
        case kFadd: X87_AB_R("fadd %%st(1), %%st"); break;
        case kFsub: X87_AB_R("fsub %%st(1), %%st"); break;
        case kFmul: X87_AB_R("fmul %%st(1), %%st"); break;
        case kFdiv: X87_AB_R("fdiv %%st(1), %%st"); break;
        case kFsubr: X87_AB_R("fsubr %%st(1), %%st"); break;
        case kFdivr: X87_AB_R("fdivr %%st(1), %%st"); break;
        case kFprem: X87_AB_R("fprem"); break;
        case kFprem1: X87_AB_R("fprem1"); break;
        case kFscale: X87_AB_R("fscale"); break;
        case kFsqrt: X87_A_R("fsqrt"); break;
        case kFrndint: X87_A_R("frndint"); break;
    }
}

void host_fxtract(uint16_t cw, const f80& a, f80& sig, f80& exp, uint16_t& sw) {
    asm volatile(X87_PRE "fldt %[a]\n\tfxtract\n\tfnstsw %[sw]\n\tfstpt %[s]\n\tfstpt %[e]\n\tfninit"
                 : [s] "=m"(sig), [e] "=m"(exp), [sw] "=m"(sw)
                 : [cw] "m"(cw), [a] "m"(a)
                 : X87_CLOBBERS);
}

void host_fcom(bool quiet, uint16_t cw, const f80& a, const f80& b, uint16_t& sw) {
    if (quiet)
        asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\tfucompp\n\tfnstsw %[sw]\n\tfninit"
                     : [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a), [b] "m"(b) : X87_CLOBBERS);
    else
        asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\tfcompp\n\tfnstsw %[sw]\n\tfninit"
                     : [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a), [b] "m"(b) : X87_CLOBBERS);
}

void host_fxam(const f80& a, uint16_t& sw) {
    const uint16_t cw = 0x37F;
    asm volatile(X87_PRE "fldt %[a]\n\tfxam\n\tfnstsw %[sw]\n\tfninit"
                 : [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a) : X87_CLOBBERS);
}

// FIST/FISTTP m16/m32/m64: kind 0..2 = 16/32/64 bits, trunc = FISTTP.
void host_fist(int kind, bool trunc, uint16_t cw, const f80& a, int64_t& out, uint16_t& sw) {
    int16_t r16 = 0;
    int32_t r32 = 0;
    int64_t r64 = 0;
#define FIST(insn, dst) \
    asm volatile(X87_PRE "fldt %[a]\n\t" insn " %[r]\n\tfnstsw %[sw]\n\tfninit" \
                 : [r] "=m"(dst), [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a) : X87_CLOBBERS)
    switch (kind * 2 + trunc) {
        case 0: FIST("fistps", r16); out = r16; break;
        case 1: FIST("fisttps", r16); out = r16; break;
        case 2: FIST("fistpl", r32); out = r32; break;
        case 3: FIST("fisttpl", r32); out = r32; break;
        case 4: FIST("fistpll", r64); out = r64; break;
        default: FIST("fisttpll", r64); out = r64; break;
    }
#undef FIST
}

void host_fild(int kind, int64_t v, f80& r, uint16_t& sw) {
    const uint16_t cw = 0x37F;
    const int16_t v16 = int16_t(v);
    const int32_t v32 = int32_t(v);
#define FILD(insn, src) \
    asm volatile(X87_PRE insn " %[v]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" \
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [v] "m"(src) : X87_CLOBBERS)
    switch (kind) {
        case 0: FILD("filds", v16); break;
        case 1: FILD("fildl", v32); break;
        default: FILD("fildll", v); break;
    }
#undef FILD
}

void host_fld32(uint16_t cw, uint32_t v, f80& r, uint16_t& sw) {
    asm volatile(X87_PRE "flds %[v]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [v] "m"(v) : X87_CLOBBERS);
}
void host_fld64(uint16_t cw, uint64_t v, f80& r, uint16_t& sw) {
    asm volatile(X87_PRE "fldl %[v]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [v] "m"(v) : X87_CLOBBERS);
}
void host_fst32(uint16_t cw, const f80& a, uint32_t& r, uint16_t& sw) {
    asm volatile(X87_PRE "fldt %[a]\n\tfstps %[r]\n\tfnstsw %[sw]\n\tfninit"
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a) : X87_CLOBBERS);
}
void host_fst64(uint16_t cw, const f80& a, uint64_t& r, uint16_t& sw) {
    asm volatile(X87_PRE "fldt %[a]\n\tfstpl %[r]\n\tfnstsw %[sw]\n\tfninit"
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a) : X87_CLOBBERS);
}
// FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR/FCOM with a 32/64-bit memory operand: ST(0) = a op m.
void host_x87_mem(int op, bool is64, uint16_t cw, const f80& a, uint64_t m, f80& r, uint16_t& sw) {
    const uint32_t m32 = uint32_t(m);
    r = f80{};
#define XM(insn, src) \
    asm volatile(X87_PRE "fldt %[a]\n\t" insn " %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" \
                 : [r] "=m"(r), [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a), [m] "m"(src) : X87_CLOBBERS)
#define XC(insn, src) \
    asm volatile(X87_PRE "fldt %[a]\n\t" insn " %[m]\n\tfnstsw %[sw]\n\tfninit" \
                 : [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a), [m] "m"(src) : X87_CLOBBERS)
    switch (op * 2 + is64) {
        case 0: XM("fadds", m32); break;
        case 1: XM("faddl", m); break;
        case 2: XM("fsubs", m32); break;
        case 3: XM("fsubl", m); break;
        case 4: XM("fsubrs", m32); break;
        case 5: XM("fsubrl", m); break;
        case 6: XM("fmuls", m32); break;
        case 7: XM("fmull", m); break;
        case 8: XM("fdivs", m32); break;
        case 9: XM("fdivl", m); break;
        case 10: XM("fdivrs", m32); break;
        case 11: XM("fdivrl", m); break;
        case 12: XC("fcomps", m32); break;
        default: XC("fcompl", m); break;
    }
#undef XM
#undef XC
}

// x87 with some exceptions unmasked: the pending exception is never
// delivered because the state is read with FNSAVE (a non-waiting instruction
// that also reinitialises the FPU). ST(0) = a, ST(1) = b; store forms write
// `mem` (pre-filled with a sentinel to see suppressed writes).

void host_x87_unmasked(UnOp op, uint16_t cw, const f80& a, const f80& b, SaveArea& sv, uint64_t& mem) {
    mem = (op == uFld32 || op == uFld64) ? b.sig : kSentinel;
#define XU(body)                                                                                    \
    asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\t" body "\n\tfnsave %[sv]\n\tfninit"           \
                 : [sv] "=m"(sv), [m] "+m"(mem)                                                      \
                 : [cw] "m"(cw), [a] "m"(a), [b] "m"(b)                                              \
                 : X87_CLOBBERS)
    switch (op) {
        case uAdd: XU("fadd %%st(1), %%st"); break;
        case uSub: XU("fsub %%st(1), %%st"); break;
        case uMul: XU("fmul %%st(1), %%st"); break;
        case uDiv: XU("fdiv %%st(1), %%st"); break;
        case uSqrt: XU("fsqrt"); break;
        case uScale: XU("fscale"); break;
        case uRndint: XU("frndint"); break;
        case uPrem: XU("fprem"); break;
        case uPrem1: XU("fprem1"); break;
        case uFst32: XU("fsts %[m]"); break;
        case uFst64: XU("fstl %[m]"); break;
        case uFist32: XU("fistl %[m]"); break;
        case uFist16: XU("fists %[m]"); break;
        case uFld32: XU("flds %[m]"); break;
        case uFld64: XU("fldl %[m]"); break;
        case uFcom: XU("fcom %%st(1)"); break;
        default: {
            // FCOMI/FUCOMI: EFLAGS ZF, PF, CF go to bits 2:0 of mem
            bool zf, pf, cf;
            if (op == uFcomi)
                asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\tfcomi %%st(1), %%st\n\tfnsave %[sv]\n\tfninit"
                             : [sv] "=m"(sv), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                             : [cw] "m"(cw), [a] "m"(a), [b] "m"(b) : X87_CLOBBERS);
            else
                asm volatile(X87_PRE "fldt %[b]\n\tfldt %[a]\n\tfucomi %%st(1), %%st\n\tfnsave %[sv]\n\tfninit"
                             : [sv] "=m"(sv), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                             : [cw] "m"(cw), [a] "m"(a), [b] "m"(b) : X87_CLOBBERS);
            mem = uint64_t(zf) << 2 | uint64_t(pf) << 1 | uint64_t(cf);
            break;
        }
    }
#undef XU
}

// ------------------------------------------------------------ host SSE ----


template <bool kDouble>
void sse_bin_impl(SseOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo) {
#define SSE2(insn)                                                                                         \
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm0\n\tmovq %[b], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t" \
                 "movq %%xmm0, %[r]\n\tstmxcsr %[mo]\n\tldmxcsr %[def]"                                   \
                 : [r] "=&r"(r), [mo] "=m"(mxo)                                                            \
                 : [mi] "m"(mx), [a] "r"(a), [b] "r"(b), [def] "m"(kDefaultMxcsr)                         \
                 : "xmm0", "xmm1")
    if (kDouble) {
        switch (op) {
            case kAdd: SSE2("addsd"); break;
            case kSub: SSE2("subsd"); break;
            case kMul: SSE2("mulsd"); break;
            case kDiv: SSE2("divsd"); break;
            case kSqrt: SSE2("sqrtsd"); break;  // sqrt of the second operand
            case kMin: SSE2("minsd"); break;
            default: SSE2("maxsd"); break;
        }
    } else {
        switch (op) {
            case kAdd: SSE2("addss"); break;
            case kSub: SSE2("subss"); break;
            case kMul: SSE2("mulss"); break;
            case kDiv: SSE2("divss"); break;
            case kSqrt: SSE2("sqrtss"); break;
            case kMin: SSE2("minss"); break;
            default: SSE2("maxss"); break;
        }
        r &= 0xFFFFFFFFull;
    }
#undef SSE2
}

// COMISS/UCOMISS/COMISD/UCOMISD: returns ZF<<2 | PF<<1 | CF.
template <bool kDouble>
unsigned sse_comi_impl(bool quiet, uint32_t mx, uint64_t a, uint64_t b, uint32_t& mxo) {
    bool zf, pf, cf;
#define COMI(insn)                                                                                          \
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm0\n\tmovq %[b], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t" \
                 "stmxcsr %[mo]\n\tldmxcsr %[def]"                                                         \
                 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf), [mo] "=m"(mxo)                                   \
                 : [mi] "m"(mx), [a] "r"(a), [b] "r"(b), [def] "m"(kDefaultMxcsr)                          \
                 : "xmm0", "xmm1")
    if (kDouble) {
        if (quiet) COMI("ucomisd");
        else COMI("comisd");
    } else {
        if (quiet) COMI("ucomiss");
        else COMI("comiss");
    }
#undef COMI
    return unsigned(zf) << 2 | unsigned(pf) << 1 | unsigned(cf);
}

void host_cvt_ss2sd(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) {
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm1\n\tcvtss2sd %%xmm1, %%xmm0\n\tmovq %%xmm0, %[r]\n\t"
                 "stmxcsr %[mo]\n\tldmxcsr %[def]"
                 : [r] "=&r"(r), [mo] "=m"(mxo) : [mi] "m"(mx), [a] "r"(a), [def] "m"(kDefaultMxcsr)
                 : "xmm0", "xmm1");
}
void host_cvt_sd2ss(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) {
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm1\n\tcvtsd2ss %%xmm1, %%xmm0\n\tmovq %%xmm0, %[r]\n\t"
                 "stmxcsr %[mo]\n\tldmxcsr %[def]"
                 : [r] "=&r"(r), [mo] "=m"(mxo) : [mi] "m"(mx), [a] "r"(a), [def] "m"(kDefaultMxcsr)
                 : "xmm0", "xmm1");
    r &= 0xFFFFFFFFull;
}

// CVTSI2SS/SD from a 32- or 64-bit integer.
void host_cvt_si2f(bool to_double, bool is64, uint32_t mx, int64_t v, uint64_t& r, uint32_t& mxo) {
    const int32_t v32 = int32_t(v);
#define CVT(insn, src)                                                                                   \
    asm volatile("ldmxcsr %[mi]\n\tpxor %%xmm0, %%xmm0\n\t" insn " %[v], %%xmm0\n\tmovq %%xmm0, %[r]\n\t" \
                 "stmxcsr %[mo]\n\tldmxcsr %[def]"                                                       \
                 : [r] "=&r"(r), [mo] "=m"(mxo) : [mi] "m"(mx), [v] "r"(src), [def] "m"(kDefaultMxcsr)    \
                 : "xmm0")
    switch (int(to_double) * 2 + int(is64)) {
        case 0: CVT("cvtsi2ssl", v32); break;
        case 1: CVT("cvtsi2ssq", v); break;
        case 2: CVT("cvtsi2sdl", v32); break;
        default: CVT("cvtsi2sdq", v); break;
    }
#undef CVT
    if (!to_double) r &= 0xFFFFFFFFull;
}

// CVT(T)SS2SI / CVT(T)SD2SI to 32 or 64 bits.
void host_cvt_f2si(bool from_double, bool is64, bool trunc, uint32_t mx, uint64_t a, int64_t& out,
                   uint32_t& mxo) {
    int32_t r32 = 0;
    int64_t r64 = 0;
#define CVT(insn, dst)                                                                                   \
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm1\n\t" insn " %%xmm1, %[r]\n\t"                       \
                 "stmxcsr %[mo]\n\tldmxcsr %[def]"                                                       \
                 : [r] "=&r"(dst), [mo] "=m"(mxo) : [mi] "m"(mx), [a] "r"(a), [def] "m"(kDefaultMxcsr)    \
                 : "xmm1")
    switch (int(from_double) * 4 + int(is64) * 2 + int(trunc)) {
        case 0: CVT("cvtss2si", r32); out = r32; break;
        case 1: CVT("cvttss2si", r32); out = r32; break;
        case 2: CVT("cvtss2si", r64); out = r64; break;
        case 3: CVT("cvttss2si", r64); out = r64; break;
        case 4: CVT("cvtsd2si", r32); out = r32; break;
        case 5: CVT("cvttsd2si", r32); out = r32; break;
        case 6: CVT("cvtsd2si", r64); out = r64; break;
        default: CVT("cvttsd2si", r64); out = r64; break;
    }
#undef CVT
}

template <bool kDouble, int kImm>
void host_round_imm(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) {
    if (kDouble)
        asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm1\n\troundsd %[imm], %%xmm1, %%xmm0\n\tmovq %%xmm0, %[r]\n\t"
                     "stmxcsr %[mo]\n\tldmxcsr %[def]"
                     : [r] "=&r"(r), [mo] "=m"(mxo)
                     : [mi] "m"(mx), [a] "r"(a), [imm] "i"(kImm), [def] "m"(kDefaultMxcsr) : "xmm0", "xmm1");
    else
        asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm1\n\troundss %[imm], %%xmm1, %%xmm0\n\tmovq %%xmm0, %[r]\n\t"
                     "stmxcsr %[mo]\n\tldmxcsr %[def]"
                     : [r] "=&r"(r), [mo] "=m"(mxo)
                     : [mi] "m"(mx), [a] "r"(a), [imm] "i"(kImm), [def] "m"(kDefaultMxcsr) : "xmm0", "xmm1");
    if (!kDouble) r &= 0xFFFFFFFFull;
}

template <bool kDouble>
void round_impl(int imm, uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) {
    switch (imm) {
        case 0: host_round_imm<kDouble, 0>(mx, a, r, mxo); break;
        case 1: host_round_imm<kDouble, 1>(mx, a, r, mxo); break;
        case 2: host_round_imm<kDouble, 2>(mx, a, r, mxo); break;
        case 3: host_round_imm<kDouble, 3>(mx, a, r, mxo); break;
        case 4: host_round_imm<kDouble, 4>(mx, a, r, mxo); break;
        case 8: host_round_imm<kDouble, 8>(mx, a, r, mxo); break;
        case 9: host_round_imm<kDouble, 9>(mx, a, r, mxo); break;
        case 10: host_round_imm<kDouble, 10>(mx, a, r, mxo); break;
        case 11: host_round_imm<kDouble, 11>(mx, a, r, mxo); break;
        default: host_round_imm<kDouble, 12>(mx, a, r, mxo); break;
    }
}

// SSE with some exceptions unmasked: the #XM arrives as SIGFPE; the handler
// reads MXCSR and XMM0 from the signal context and jumps back. XMM0 = a (the
// destination's old value), XMM1 = b (the source).

static sigjmp_buf g_sse_jmp;
static volatile uint32_t g_trap_mxcsr;
static volatile uint64_t g_trap_xmm0;

static void sigfpe_handler(int, siginfo_t*, void* ucv) {
    const ucontext_t* uc = static_cast<const ucontext_t*>(ucv);
    g_trap_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    uint64_t x;
    std::memcpy(&x, &uc->uc_mcontext.fpregs->_xmm[0], 8);
    g_trap_xmm0 = x;
    siglongjmp(g_sse_jmp, 1);
}

// Returns true if the instruction trapped.
bool host_sse_unmasked(SseUnOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo) {
    static bool installed = false;
    if (!installed) {
        struct sigaction sa {};
        sa.sa_sigaction = sigfpe_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGFPE, &sa, nullptr);
        installed = true;
    }
    if (sigsetjmp(g_sse_jmp, 1) != 0) {
        r = g_trap_xmm0;
        mxo = g_trap_mxcsr;
        return true;
    }
    uint64_t out;
    uint32_t mo;
#define SU(insn)                                                                                          \
    asm volatile("ldmxcsr %[mi]\n\tmovq %[a], %%xmm0\n\tmovq %[b], %%xmm1\n\t" insn "\n\t"              \
                 "movq %%xmm0, %[r]\n\tstmxcsr %[mo]\n\tldmxcsr %[def]"                                    \
                 : [r] "=&r"(out), [mo] "=m"(mo)                                                            \
                 : [mi] "m"(mx), [a] "r"(a), [b] "r"(b), [def] "m"(kDefaultMxcsr)                          \
                 : "xmm0", "xmm1", "rax", "cc")
    switch (op) {
        case suAddss: SU("addss %%xmm1, %%xmm0"); break;
        case suSubsd: SU("subsd %%xmm1, %%xmm0"); break;
        case suMulss: SU("mulss %%xmm1, %%xmm0"); break;
        case suDivsd: SU("divsd %%xmm1, %%xmm0"); break;
        case suDivss: SU("divss %%xmm1, %%xmm0"); break;
        case suSqrtss: SU("sqrtss %%xmm1, %%xmm0"); break;
        case suSqrtsd: SU("sqrtsd %%xmm1, %%xmm0"); break;
        case suMinsd: SU("minsd %%xmm1, %%xmm0"); break;
        case suCvtsd2ss: SU("cvtsd2ss %%xmm1, %%xmm0"); break;
        case suCvtss2sd: SU("cvtss2sd %%xmm1, %%xmm0"); break;
        case suCvtsd2si: SU("cvtsd2si %%xmm1, %%rax\n\tmovq %%rax, %%xmm0"); break;
        case suComiss: SU("comiss %%xmm1, %%xmm0"); break;
        default: SU("roundsd $4, %%xmm1, %%xmm0"); break;
    }
#undef SU
    r = out;
    mxo = mo;
    return false;
}

void host_sse_bin(bool dbl, SseOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo) {
    if (dbl) sse_bin_impl<true>(op, mx, a, b, r, mxo);
    else sse_bin_impl<false>(op, mx, a, b, r, mxo);
}
unsigned host_sse_comi(bool dbl, bool quiet, uint32_t mx, uint64_t a, uint64_t b, uint32_t& mxo) {
    return dbl ? sse_comi_impl<true>(quiet, mx, a, b, mxo) : sse_comi_impl<false>(quiet, mx, a, b, mxo);
}
void host_round(bool dbl, int imm, uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) {
    if (dbl) round_impl<true>(imm, mx, a, r, mxo);
    else round_impl<false>(imm, mx, a, r, mxo);
}

}  // namespace kestrel::fpu_test

#else  // no x86-64 host to compare with

// Other hosts have no x87/SSE to compare with; fpu-difftest only runs its
// --soft-digest mode there and never calls these.
#include <cstdlib>

#include "host_fpu.h"

namespace kestrel::fpu_test {

void host_x87(HostX87Op op, uint16_t cw, const f80& a, const f80& b, f80& r, uint16_t& sw) { std::abort(); }
void host_fxtract(uint16_t cw, const f80& a, f80& sig, f80& exp, uint16_t& sw) { std::abort(); }
void host_fcom(bool quiet, uint16_t cw, const f80& a, const f80& b, uint16_t& sw) { std::abort(); }
void host_fxam(const f80& a, uint16_t& sw) { std::abort(); }
void host_fist(int kind, bool trunc, uint16_t cw, const f80& a, int64_t& out, uint16_t& sw) { std::abort(); }
void host_fild(int kind, int64_t v, f80& r, uint16_t& sw) { std::abort(); }
void host_fld32(uint16_t cw, uint32_t v, f80& r, uint16_t& sw) { std::abort(); }
void host_fld64(uint16_t cw, uint64_t v, f80& r, uint16_t& sw) { std::abort(); }
void host_fst32(uint16_t cw, const f80& a, uint32_t& r, uint16_t& sw) { std::abort(); }
void host_fst64(uint16_t cw, const f80& a, uint64_t& r, uint16_t& sw) { std::abort(); }
void host_x87_mem(int op, bool is64, uint16_t cw, const f80& a, uint64_t m, f80& r, uint16_t& sw) { std::abort(); }
void host_x87_unmasked(UnOp op, uint16_t cw, const f80& a, const f80& b, SaveArea& sv, uint64_t& mem) { std::abort(); }
void host_cvt_ss2sd(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) { std::abort(); }
void host_cvt_sd2ss(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) { std::abort(); }
void host_cvt_si2f(bool to_double, bool is64, uint32_t mx, int64_t v, uint64_t& r, uint32_t& mxo) { std::abort(); }
void host_cvt_f2si(bool from_double, bool is64, bool trunc, uint32_t mx, uint64_t a, int64_t& out, uint32_t& mxo) { std::abort(); }
void host_round_imm(uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) { std::abort(); }
bool host_sse_unmasked(SseUnOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo) { std::abort(); }
void host_sse_bin(bool dbl, SseOp op, uint32_t mx, uint64_t a, uint64_t b, uint64_t& r, uint32_t& mxo) { std::abort(); }
unsigned host_sse_comi(bool dbl, bool quiet, uint32_t mx, uint64_t a, uint64_t b, uint32_t& mxo) { std::abort(); }
void host_round(bool dbl, int imm, uint32_t mx, uint64_t a, uint64_t& r, uint32_t& mxo) { std::abort(); }

}  // namespace kestrel::fpu_test

#endif  // __x86_64__
