// Differential test of the software floating-point library against this
// host's x87 and SSE hardware: for each operation, format, rounding mode, x87
// precision control and SSE DAZ/FTZ setting, random edge-heavy operands
// (operand_gen.cpp) are run through the host instruction (host_fpu.cpp) and
// through kestrel::interp::fpu, and the result bits and exception flags
// (plus x87 condition codes, EFLAGS for COMISS/FCOMI) must match exactly.
// Most operations run with all exceptions masked; the "unmasked" ones draw
// random masks and check what the hardware writes and records when an
// exception is left to trap (x87 state read with FNSAVE before the #MF
// would be delivered; SSE #XM caught as SIGFPE), against the library's
// result plus x87_resolve/sse_resolve.
//
//   fpu-difftest [--cases N] [--seed S] [--only SUBSTRING] [--verbose] [--coverage]
//   fpu-difftest --soft-digest
//
// --soft-digest (any host, no FPU needed) runs only the library side of the
// default case set and hashes every outcome. The expected hash, kSoftDigest,
// was printed by a run on x86-64 with 0 mismatches, so a match shows the
// library reproduces the hardware's results bit for bit on this host. When
// the generators or operation list change on purpose, rerun the difftest on
// x86-64 and copy the new "soft digest" it prints into kSoftDigest.
// (-DKESTREL_FPU_NO_HOST builds the non-x86 variant on x86-64.)
//
// --coverage prints, per operation, how many cases raised each flag on the
// host (IE DE ZE OE UE PE, C1 for x87), and how many underflowed with x87
// precision control 24/53 or with SSE FTZ/DAZ set, to show the generators
// reach the edges.
#if defined(__x86_64__) && !defined(KESTREL_FPU_NO_HOST)
#include <cpuid.h>
#endif

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "host_fpu.h"
#include "interp/fpu/softfloat.h"
#include "operand_gen.h"

using namespace kestrel::interp::fpu;
using namespace kestrel::fpu_test;

namespace {

// --------------------------------------------------------------- harness ---
struct Cfg {
    int rc = 0;  // 0 nearest, 1 down, 2 up, 3 toward zero
    int pc = 3;  // x87: 0 = 24, 2 = 53, 3 = 64 bits (1 is reserved)
    bool daz = false, ftz = false;
    uint16_t fcw() const { return uint16_t(0x7F | (pc << 8) | (rc << 10)); }
    uint32_t mxcsr() const { return 0x1F80u | uint32_t(rc) << 13 | (daz ? 0x40u : 0) | (ftz ? 0x8000u : 0); }
};

// Operands and outcome of one case. Outcome: up to four 64-bit words of
// result plus a status word (x87 FSW bits, or MXCSR flags | EFLAGS << 8).
struct Case {
    uint64_t a[2] = {}, b[2] = {};
    uint8_t masks = kAllFlags;  // exception masks (unmasked-exception tests)
};
struct Outcome {
    uint64_t v[4] = {};
    uint32_t status = 0;
    bool operator==(const Outcome& o) const {
        return status == o.status && std::memcmp(v, o.v, sizeof v) == 0;
    }
};

enum class Dom { X87, X87NoPc, Sse };

// Each exception unmasked with probability 1/4.
uint8_t gen_masks(Rng& r) {
    uint8_t m = 0;
    for (int bit = 0; bit < 6; ++bit)
        if (!r.chance(25)) m |= uint8_t(1u << bit);
    return m;
}

struct Op {
    std::string name;
    Dom dom;
    int weight;  // share of the case budget
    std::function<void(Rng&, Case&)> gen;
    std::function<void(const Case&, const Cfg&, Outcome&)> host, soft;
};

f80 F(const uint64_t x[2]) { return f80{x[0], uint16_t(x[1])}; }
void put(Outcome& o, int i, const f80& v) {
    o.v[i] = v.sig;
    o.v[i + 1] = v.sign_exp;
}

// FSW bits compared: exception flags, SF, C0..C3 (not ES, TOP, B).
constexpr uint16_t kSwMask = 0x7F | 0x4700;
uint32_t x87_status(const Context& c) { return uint32_t(c.flags) | (c.c1 ? 0x200u : 0u); }

Context x87_ctx(const Cfg& cfg) { return Context::from_fcw(cfg.fcw()); }
Context sse_ctx(const Cfg& cfg) { return Context::from_mxcsr(cfg.mxcsr()); }

uint16_t ordering_to_fsw(Ordering o) {
    switch (o) {
        case Ordering::Greater: return 0;
        case Ordering::Less: return 0x0100;
        case Ordering::Equal: return 0x4000;
        default: return 0x4500;
    }
}
unsigned ordering_to_eflags(Ordering o) {  // ZF<<2 | PF<<1 | CF
    switch (o) {
        case Ordering::Greater: return 0;
        case Ordering::Less: return 1;
        case Ordering::Equal: return 4;
        default: return 7;
    }
}

void gen_f80_pair(Rng& r, Case& c, Hint hint, int prec = 64) {
    Val a, b;
    if (!((hint == Hint::Mul || hint == Hint::Div) && r.chance(25) && gen_exact_pair(r, kFmt80, hint, a, b))) {
        a = gen_val(r, kFmt80, prec);
        b = gen_related(r, kFmt80, prec, a, hint);
    }
    const f80 fa = encode_f80(a), fb = encode_f80(b);
    c.a[0] = fa.sig, c.a[1] = fa.sign_exp, c.b[0] = fb.sig, c.b[1] = fb.sign_exp;
}
void gen_f80_one(Rng& r, Case& c, bool intish = false) {
    const f80 fa = encode_f80(intish ? gen_intish(r, kFmt80, 64) : gen_val(r, kFmt80, 64));
    c.a[0] = fa.sig, c.a[1] = fa.sign_exp;
}
void gen_ieee_pair(Rng& r, Case& c, const Fmt& f, Hint hint) {
    Val a, b;
    if (!(hint == Hint::Mul && r.chance(25) && gen_exact_pair(r, f, hint, a, b))) {
        a = gen_val(r, f, f.precision());
        b = gen_related(r, f, f.precision(), a, hint);
    }
    c.a[0] = encode_ieee(f, a);
    c.b[0] = encode_ieee(f, b);
}
void gen_ieee_one(Rng& r, Case& c, const Fmt& f, bool intish = false) {
    c.a[0] = encode_ieee(f, intish ? gen_intish(r, f, f.precision()) : gen_val(r, f, f.precision()));
}

std::vector<Op> build_ops(bool have_sse41) {
    std::vector<Op> ops;
    // -- x87 two-operand arithmetic
    struct Bin {
        const char* name;
        HostX87Op op;
        Hint hint;
        f80 (*fn)(f80, f80, Context&);
    };
    static const Bin kBins[] = {
        {"fadd", kFadd, Hint::Add, f80_add},
        {"fsub", kFsub, Hint::Add, f80_sub},
        {"fmul", kFmul, Hint::Mul, f80_mul},
        {"fdiv", kFdiv, Hint::Div, f80_div},
    };
    for (const Bin& bin : kBins) {
        ops.push_back({bin.name, Dom::X87, 10, [h = bin.hint](Rng& r, Case& c) { gen_f80_pair(r, c, h, r.coin() ? 64 : r.coin() ? 53 : 24); },
                       [op = bin.op](const Case& c, const Cfg& cfg, Outcome& o) {
                           f80 r;
                           uint16_t sw;
                           host_x87(op, cfg.fcw(), F(c.a), F(c.b), r, sw);
                           put(o, 0, r);
                           o.status = sw & kSwMask;
                       },
                       [fn = bin.fn](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = x87_ctx(cfg);
                           put(o, 0, fn(F(c.a), F(c.b), ctx));
                           o.status = x87_status(ctx);
                       }});
    }
    ops.push_back({"fsqrt", Dom::X87, 6,
                   [](Rng& r, Case& c) {
                       if (r.chance(30)) {
                           const f80 a = encode_f80(gen_square(r, kFmt80));
                           c.a[0] = a.sig, c.a[1] = a.sign_exp;
                       } else {
                           gen_f80_one(r, c);
                           if (r.chance(60)) c.a[1] &= 0x7FFF;  // mostly positive
                       }
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 r;
                       uint16_t sw;
                       host_x87(kFsqrt, cfg.fcw(), F(c.a), F(c.b), r, sw);
                       put(o, 0, r);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       put(o, 0, f80_sqrt(F(c.a), ctx));
                       o.status = x87_status(ctx);
                   }});
    for (int ieee = 0; ieee < 2; ++ieee) {
        ops.push_back({ieee ? "fprem1" : "fprem", Dom::X87NoPc, 5, [](Rng& r, Case& c) { gen_f80_pair(r, c, Hint::Prem); },
                       [ieee](const Case& c, const Cfg& cfg, Outcome& o) {
                           f80 r;
                           uint16_t sw;
                           host_x87(ieee ? kFprem1 : kFprem, cfg.fcw(), F(c.a), F(c.b), r, sw);
                           put(o, 0, r);
                           o.status = sw & kSwMask;
                       },
                       [ieee](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = x87_ctx(cfg);
                           const RemainderResult rr = ieee ? f80_prem1(F(c.a), F(c.b), ctx) : f80_prem(F(c.a), F(c.b), ctx);
                           put(o, 0, rr.value);
                           o.status = ctx.flags | ((rr.quotient >> 2) & 1) << 8 | (rr.quotient & 1) << 9 |
                                      uint32_t(rr.incomplete) << 10 | ((rr.quotient >> 1) & 1) << 14;
                       }});
    }
    ops.push_back({"fscale", Dom::X87NoPc, 4,
                   [](Rng& r, Case& c) {
                       if (r.chance(30)) {
                           Val a, b;
                           gen_scale_edge(r, a, b);
                           const f80 fa = encode_f80(a), fb = encode_f80(b);
                           c.a[0] = fa.sig, c.a[1] = fa.sign_exp, c.b[0] = fb.sig, c.b[1] = fb.sign_exp;
                           return;
                       }
                       const f80 a = encode_f80(gen_val(r, kFmt80, 64));
                       Val bv = r.chance(70) ? Val{r.coin(), 16383 + r.range(-3, 16), gen_sig(r, 64) | (1ull << 63)}
                                             : gen_val(r, kFmt80, 64);
                       const f80 b = encode_f80(bv);
                       c.a[0] = a.sig, c.a[1] = a.sign_exp, c.b[0] = b.sig, c.b[1] = b.sign_exp;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 r;
                       uint16_t sw;
                       host_x87(kFscale, cfg.fcw(), F(c.a), F(c.b), r, sw);
                       put(o, 0, r);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       put(o, 0, f80_scale(F(c.a), F(c.b), ctx));
                       o.status = x87_status(ctx);
                   }});
    ops.push_back({"frndint", Dom::X87NoPc, 4, [](Rng& r, Case& c) { gen_f80_one(r, c, r.chance(70)); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 r;
                       uint16_t sw;
                       host_x87(kFrndint, cfg.fcw(), F(c.a), F(c.b), r, sw);
                       put(o, 0, r);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       put(o, 0, f80_round_to_int(F(c.a), ctx));
                       o.status = x87_status(ctx);
                   }});
    ops.push_back({"fxtract", Dom::X87NoPc, 2, [](Rng& r, Case& c) { gen_f80_one(r, c); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 s, e;
                       uint16_t sw;
                       host_fxtract(cfg.fcw(), F(c.a), s, e, sw);
                       put(o, 0, e);
                       put(o, 2, s);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       const ExtractResult x = f80_extract(F(c.a), ctx);
                       put(o, 0, x.exponent);
                       put(o, 2, x.significand);
                       o.status = x87_status(ctx);
                   }});
    for (int quiet = 0; quiet < 2; ++quiet) {
        ops.push_back({quiet ? "fucom" : "fcom", Dom::X87NoPc, 3, [](Rng& r, Case& c) { gen_f80_pair(r, c, Hint::None); },
                       [quiet](const Case& c, const Cfg& cfg, Outcome& o) {
                           uint16_t sw;
                           host_fcom(quiet, cfg.fcw(), F(c.a), F(c.b), sw);
                           o.status = sw & kSwMask;
                       },
                       [quiet](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = x87_ctx(cfg);
                           const Ordering ord = f80_compare(F(c.a), F(c.b), !quiet, ctx);
                           o.status = ctx.flags | ordering_to_fsw(ord);
                       }});
    }
    ops.push_back({"fxam", Dom::X87NoPc, 1, [](Rng& r, Case& c) { gen_f80_one(r, c); },
                   [](const Case& c, const Cfg&, Outcome& o) {
                       uint16_t sw;
                       host_fxam(F(c.a), sw);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg&, Outcome& o) { o.status = f80_fxam_condition(F(c.a)); }});
    // -- FIST / FISTTP
    static const char* kFistNames[3][2] = {{"fist m16", "fisttp m16"}, {"fist m32", "fisttp m32"}, {"fist m64", "fisttp m64"}};
    for (int kind = 0; kind < 3; ++kind) {
        for (int trunc = 0; trunc < 2; ++trunc) {
            ops.push_back({kFistNames[kind][trunc], Dom::X87NoPc, 2, [](Rng& r, Case& c) { gen_f80_one(r, c, r.chance(80)); },
                           [kind, trunc](const Case& c, const Cfg& cfg, Outcome& o) {
                               int64_t v;
                               uint16_t sw;
                               host_fist(kind, trunc, cfg.fcw(), F(c.a), v, sw);
                               o.v[0] = uint64_t(v);
                               o.status = sw & kSwMask;
                           },
                           [kind, trunc](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = x87_ctx(cfg);
                               int64_t v;
                               const f80 a = F(c.a);
                               if (kind == 0) v = trunc ? f80_to_i16_trunc(a, ctx) : f80_to_i16(a, ctx);
                               else if (kind == 1) v = trunc ? f80_to_i32_trunc(a, ctx) : f80_to_i32(a, ctx);
                               else v = trunc ? f80_to_i64_trunc(a, ctx) : f80_to_i64(a, ctx);
                               o.v[0] = uint64_t(v);
                               o.status = x87_status(ctx);
                           }});
        }
    }
    static const char* kFildNames[3] = {"fild m16", "fild m32", "fild m64"};
    for (int kind = 0; kind < 3; ++kind) {
        ops.push_back({kFildNames[kind], Dom::X87NoPc, 1, [kind](Rng& r, Case& c) { c.a[0] = uint64_t(gen_int(r, 16 << kind)); },
                       [kind](const Case& c, const Cfg&, Outcome& o) {
                           f80 r;
                           uint16_t sw;
                           host_fild(kind, int64_t(c.a[0]), r, sw);
                           put(o, 0, r);
                           o.status = sw & kSwMask;
                       },
                       [](const Case& c, const Cfg&, Outcome& o) {
                           put(o, 0, i64_to_f80(int64_t(c.a[0])));
                           o.status = 0;
                       }});
    }
    ops.push_back({"fld m32", Dom::X87NoPc, 2, [](Rng& r, Case& c) { gen_ieee_one(r, c, kFmt32); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 r;
                       uint16_t sw;
                       host_fld32(cfg.fcw(), uint32_t(c.a[0]), r, sw);
                       put(o, 0, r);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       put(o, 0, f32_to_f80(uint32_t(c.a[0]), ctx));
                       o.status = x87_status(ctx);
                   }});
    ops.push_back({"fld m64", Dom::X87NoPc, 2, [](Rng& r, Case& c) { gen_ieee_one(r, c, kFmt64); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       f80 r;
                       uint16_t sw;
                       host_fld64(cfg.fcw(), c.a[0], r, sw);
                       put(o, 0, r);
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       put(o, 0, f64_to_f80(c.a[0], ctx));
                       o.status = x87_status(ctx);
                   }});
    auto gen_narrow = [](Rng& r, Case& c, const Fmt& dst) {
        Val v = gen_val(r, kFmt80, dst.precision());
        if (v.exp > 0 && v.exp < 0x7FFF && r.chance(60)) {  // around the destination's range limits
            const int db = dst.bias();
            const int e = r.coin() ? r.range(-dst.precision() - 3, 3) : dst.emax() + r.range(-3, 2);
            v.exp = 16383 - db + e;
        }
        const f80 fa = encode_f80(v);
        c.a[0] = fa.sig, c.a[1] = fa.sign_exp;
    };
    ops.push_back({"fst m32", Dom::X87NoPc, 4, [gen_narrow](Rng& r, Case& c) { gen_narrow(r, c, kFmt32); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       uint32_t r;
                       uint16_t sw;
                       host_fst32(cfg.fcw(), F(c.a), r, sw);
                       o.v[0] = r;
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       o.v[0] = f80_to_f32(F(c.a), ctx);
                       o.status = x87_status(ctx);
                   }});
    ops.push_back({"fst m64", Dom::X87NoPc, 4, [gen_narrow](Rng& r, Case& c) { gen_narrow(r, c, kFmt64); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       uint64_t r;
                       uint16_t sw;
                       host_fst64(cfg.fcw(), F(c.a), r, sw);
                       o.v[0] = r;
                       o.status = sw & kSwMask;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = x87_ctx(cfg);
                       o.v[0] = f80_to_f64(F(c.a), ctx);
                       o.status = x87_status(ctx);
                   }});
    // -- x87 arithmetic with a 32/64-bit memory operand (X87Op order), FCOM m32/m64
    static const char* kMemNames[7][2] = {{"fadd m32", "fadd m64"},   {"fsub m32", "fsub m64"},
                                          {"fsubr m32", "fsubr m64"}, {"fmul m32", "fmul m64"},
                                          {"fdiv m32", "fdiv m64"},   {"fdivr m32", "fdivr m64"},
                                          {"fcom m32", "fcom m64"}};
    for (int op = 0; op < 7; ++op) {
        for (int is64 = 0; is64 < 2; ++is64) {
            ops.push_back({kMemNames[op][is64], Dom::X87, 2,
                           [is64](Rng& r, Case& c) {
                               const f80 a = encode_f80(gen_val(r, kFmt80, 64));
                               gen_ieee_one(r, c, is64 ? kFmt64 : kFmt32);
                               c.b[0] = c.a[0];
                               c.a[0] = a.sig, c.a[1] = a.sign_exp;
                           },
                           [op, is64](const Case& c, const Cfg& cfg, Outcome& o) {
                               f80 r;
                               uint16_t sw;
                               host_x87_mem(op, is64, cfg.fcw(), F(c.a), c.b[0], r, sw);
                               put(o, 0, r);
                               o.status = sw & kSwMask;
                           },
                           [op, is64](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = x87_ctx(cfg);
                               if (op == 6) {
                                   const Ordering ord = is64 ? f80_compare_f64(F(c.a), c.b[0], true, ctx)
                                                             : f80_compare_f32(F(c.a), uint32_t(c.b[0]), true, ctx);
                                   o.status = ctx.flags | ordering_to_fsw(ord);
                                   return;
                               }
                               const X87Op xop = X87Op(op);
                               put(o, 0, is64 ? f80_arith_f64(xop, F(c.a), c.b[0], ctx)
                                              : f80_arith_f32(xop, F(c.a), uint32_t(c.b[0]), ctx));
                               o.status = x87_status(ctx);
                           }});
        }
    }

    // -- x87 with unmasked exceptions
    static const char* kUnNames[] = {"fadd unmasked",   "fsub unmasked",  "fmul unmasked",     "fdiv unmasked",
                                     "fsqrt unmasked",  "fscale unmasked", "frndint unmasked", "fprem unmasked",
                                     "fprem1 unmasked", "fst m32 unmasked", "fst m64 unmasked", "fist m32 unmasked",
                                     "fist m16 unmasked", "fld m32 unmasked", "fld m64 unmasked", "fcom unmasked",
                                     "fcomi unmasked", "fucomi unmasked"};
    for (int op = uAdd; op <= uFucomi; ++op) {
        ops.push_back({kUnNames[op], Dom::X87, 2,
                       [op](Rng& r, Case& c) {
                           static constexpr Hint kHints[] = {Hint::Add, Hint::Add, Hint::Mul, Hint::Div, Hint::None,
                                                             Hint::None, Hint::None, Hint::Prem, Hint::Prem};
                           if (op == uFld32 || op == uFld64) {
                               gen_f80_one(r, c);
                               c.b[0] = encode_ieee(op == uFld32 ? kFmt32 : kFmt64, gen_val(r, op == uFld32 ? kFmt32 : kFmt64, 24));
                               c.b[1] = 0;
                               c.masks = gen_masks(r);
                               return;
                           }
                           if (op >= uFcom) {
                               gen_f80_pair(r, c, Hint::None);
                               c.masks = gen_masks(r);
                               return;
                           }
                           if (op >= uFst32) gen_f80_one(r, c, op >= uFist32);
                           else if (op == uScale && r.chance(40)) {
                               Val a, b;
                               gen_scale_edge(r, a, b);
                               const f80 fa = encode_f80(a), fb = encode_f80(b);
                               c.a[0] = fa.sig, c.a[1] = fa.sign_exp, c.b[0] = fb.sig, c.b[1] = fb.sign_exp;
                           } else if (op == uScale) {
                               gen_f80_pair(r, c, Hint::None);
                               const f80 b = encode_f80(Val{r.coin(), 16383 + r.range(-2, 16), gen_sig(r, 64) | (1ull << 63)});
                               if (r.chance(70)) c.b[0] = b.sig, c.b[1] = b.sign_exp;
                           } else gen_f80_pair(r, c, kHints[op], r.coin() ? 64 : 24);
                           if (op >= uFst32) {  // the stored value ST(0) near the destination's limits
                               if (op == uFst32 || op == uFst64) {
                                   const Fmt& d = op == uFst32 ? kFmt32 : kFmt64;
                                   if ((c.a[1] & 0x7FFF) != 0 && (c.a[1] & 0x7FFF) != 0x7FFF && r.chance(60))
                                       c.a[1] = (c.a[1] & 0x8000) | uint64_t(16383 - d.bias() + (r.coin() ? r.range(-d.precision() - 3, 3) : d.emax() + r.range(-3, 2)));
                               }
                           }
                           c.masks = gen_masks(r);
                       },
                       [op](const Case& c, const Cfg& cfg, Outcome& o) {
                           SaveArea sv;
                           uint64_t mem;
                           const uint16_t cw = uint16_t((cfg.fcw() & ~0x3F) | c.masks);
                           host_x87_unmasked(UnOp(op), cw, F(c.a), F(c.b), sv, mem);
                           uint16_t sw;
                           std::memcpy(&sw, sv.b + 4, 2);
                           f80 st0;
                           std::memcpy(&st0.sig, sv.b + 28, 8);
                           std::memcpy(&st0.sign_exp, sv.b + 36, 2);
                           put(o, 0, st0);
                           o.v[2] = mem;
                           o.status = sw & (kSwMask | 0x80);
                       },
                       [op](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = Context::from_fcw(uint16_t((cfg.fcw() & ~0x3F) | c.masks));
                           const f80 a = F(c.a), b = F(c.b);
                           f80 res{};
                           uint64_t mem = 0;
                           uint32_t cc = 0;  // C0/C2/C3 of FPREM
                           const bool to_mem = op >= uFst32 && op <= uFist16;
                           switch (op) {
                               case uAdd: res = f80_add(a, b, ctx); break;
                               case uSub: res = f80_sub(a, b, ctx); break;
                               case uMul: res = f80_mul(a, b, ctx); break;
                               case uDiv: res = f80_div(a, b, ctx); break;
                               case uSqrt: res = f80_sqrt(a, ctx); break;
                               case uScale: res = f80_scale(a, b, ctx); break;
                               case uRndint: res = f80_round_to_int(a, ctx); break;
                               case uPrem:
                               case uPrem1: {
                                   const RemainderResult rr = op == uPrem ? f80_prem(a, b, ctx) : f80_prem1(a, b, ctx);
                                   res = rr.value;
                                   ctx.c1 = rr.quotient & 1;
                                   cc = ((rr.quotient >> 2) & 1) << 8 | uint32_t(rr.incomplete) << 10 | ((rr.quotient >> 1) & 1) << 14;
                                   break;
                               }
                               case uFst32: mem = (kSentinel & ~0xFFFFFFFFull) | f80_to_f32(a, ctx); break;
                               case uFst64: mem = f80_to_f64(a, ctx); break;
                               case uFist32: mem = (kSentinel & ~0xFFFFFFFFull) | uint32_t(f80_to_i32(a, ctx)); break;
                               case uFist16: mem = (kSentinel & ~0xFFFFull) | uint16_t(f80_to_i16(a, ctx)); break;
                               case uFld32: res = f32_to_f80(uint32_t(c.b[0]), ctx); mem = c.b[0]; break;
                               case uFld64: res = f64_to_f80(c.b[0], ctx); mem = c.b[0]; break;
                               case uFcom: cc = ordering_to_fsw(f80_compare(a, b, true, ctx)); break;
                               default: mem = ordering_to_eflags(f80_compare(a, b, op == uFcomi, ctx)); break;
                           }
                           const X87Kind kind = to_mem ? X87Kind::Store
                                                : (op == uFld32 || op == uFld64) ? X87Kind::Load
                                                : op >= uFcom ? X87Kind::Compare : X87Kind::Arith;
                           const Resolution rs = x87_resolve(ctx.flags, ctx.masks, kind);
                           put(o, 0, (rs.write && !to_mem && op < uFcom) ? res : a);
                           o.v[2] = (rs.write && to_mem) || op == uFld32 || op == uFld64 || (op >= uFcomi && rs.write) ? mem : kSentinel;
                           o.status = rs.flags | (rs.trap ? 0x80u : 0u) | (rs.write ? (ctx.c1 ? 0x200u : 0u) | cc : 0u);
                       }});
    }

    // -- SSE scalar arithmetic, min/max
    struct SseBin {
        const char* name32;
        const char* name64;
        SseOp op;
        Hint hint;
        f32 (*fn32)(f32, f32, Context&);
        f64 (*fn64)(f64, f64, Context&);
    };
    static const SseBin kSse[] = {
        {"addss", "addsd", kAdd, Hint::Add, f32_add, f64_add},
        {"subss", "subsd", kSub, Hint::Add, f32_sub, f64_sub},
        {"mulss", "mulsd", kMul, Hint::Mul, f32_mul, f64_mul},
        {"divss", "divsd", kDiv, Hint::Div, f32_div, f64_div},
        {"minss", "minsd", kMin, Hint::None, f32_min, f64_min},
        {"maxss", "maxsd", kMax, Hint::None, f32_max, f64_max},
    };
    for (const SseBin& s : kSse) {
        for (int dbl = 0; dbl < 2; ++dbl) {
            ops.push_back({dbl ? s.name64 : s.name32, Dom::Sse, s.op <= kDiv ? 8 : 3,
                           [dbl, h = s.hint](Rng& r, Case& c) { gen_ieee_pair(r, c, dbl ? kFmt64 : kFmt32, h); },
                           [dbl, op = s.op](const Case& c, const Cfg& cfg, Outcome& o) {
                               uint64_t r;
                               uint32_t mxo;
                               if (dbl) host_sse_bin(true, op, cfg.mxcsr(), c.a[0], c.b[0], r, mxo);
                               else host_sse_bin(false, op, cfg.mxcsr(), c.a[0], c.b[0], r, mxo);
                               o.v[0] = r;
                               o.status = mxo & 0x3F;
                           },
                           [dbl, s](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = sse_ctx(cfg);
                               o.v[0] = dbl ? s.fn64(c.a[0], c.b[0], ctx) : s.fn32(uint32_t(c.a[0]), uint32_t(c.b[0]), ctx);
                               o.status = ctx.flags;
                           }});
        }
    }
    for (int dbl = 0; dbl < 2; ++dbl) {
        ops.push_back({dbl ? "sqrtsd" : "sqrtss", Dom::Sse, 6,
                       [dbl](Rng& r, Case& c) {
                           const Fmt& f = dbl ? kFmt64 : kFmt32;
                           if (r.chance(30)) c.a[0] = encode_ieee(f, gen_square(r, f));
                           else gen_ieee_one(r, c, f);
                           if (r.chance(60)) c.a[0] &= ~(1ull << (dbl ? 63 : 31));
                       },
                       [dbl](const Case& c, const Cfg& cfg, Outcome& o) {
                           uint64_t r;
                           uint32_t mxo;
                           if (dbl) host_sse_bin(true, kSqrt, cfg.mxcsr(), 0, c.a[0], r, mxo);
                           else host_sse_bin(false, kSqrt, cfg.mxcsr(), 0, c.a[0], r, mxo);
                           o.v[0] = r;
                           o.status = mxo & 0x3F;
                       },
                       [dbl](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = sse_ctx(cfg);
                           o.v[0] = dbl ? f64_sqrt(c.a[0], ctx) : f32_sqrt(uint32_t(c.a[0]), ctx);
                           o.status = ctx.flags;
                       }});
    }
    static const char* kComiNames[2][2] = {{"comiss", "ucomiss"}, {"comisd", "ucomisd"}};
    for (int dbl = 0; dbl < 2; ++dbl) {
        for (int quiet = 0; quiet < 2; ++quiet) {
            ops.push_back({kComiNames[dbl][quiet], Dom::Sse, 2,
                           [dbl](Rng& r, Case& c) { gen_ieee_pair(r, c, dbl ? kFmt64 : kFmt32, Hint::None); },
                           [dbl, quiet](const Case& c, const Cfg& cfg, Outcome& o) {
                               uint32_t mxo;
                               const unsigned fl = dbl ? host_sse_comi(true, quiet, cfg.mxcsr(), c.a[0], c.b[0], mxo)
                                                       : host_sse_comi(false, quiet, cfg.mxcsr(), c.a[0], c.b[0], mxo);
                               o.status = (mxo & 0x3F) | fl << 8;
                           },
                           [dbl, quiet](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = sse_ctx(cfg);
                               const Ordering ord = dbl ? f64_compare(c.a[0], c.b[0], !quiet, ctx)
                                                        : f32_compare(uint32_t(c.a[0]), uint32_t(c.b[0]), !quiet, ctx);
                               o.status = ctx.flags | ordering_to_eflags(ord) << 8;
                           }});
        }
    }
    ops.push_back({"cvtss2sd", Dom::Sse, 3, [](Rng& r, Case& c) { gen_ieee_one(r, c, kFmt32); },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       uint32_t mxo;
                       host_cvt_ss2sd(cfg.mxcsr(), c.a[0], o.v[0], mxo);
                       o.status = mxo & 0x3F;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = sse_ctx(cfg);
                       o.v[0] = f32_to_f64(uint32_t(c.a[0]), ctx);
                       o.status = ctx.flags;
                   }});
    ops.push_back({"cvtsd2ss", Dom::Sse, 5,
                   [](Rng& r, Case& c) {
                       Val v = gen_val(r, kFmt64, 24);
                       if (v.exp > 0 && v.exp < 0x7FF && r.chance(60))
                           v.exp = 1023 - 127 + (r.coin() ? r.range(-27, 3) : 255 + r.range(-3, 2));
                       c.a[0] = encode_ieee(kFmt64, v);
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       uint32_t mxo;
                       host_cvt_sd2ss(cfg.mxcsr(), c.a[0], o.v[0], mxo);
                       o.status = mxo & 0x3F;
                   },
                   [](const Case& c, const Cfg& cfg, Outcome& o) {
                       Context ctx = sse_ctx(cfg);
                       o.v[0] = f64_to_f32(c.a[0], ctx);
                       o.status = ctx.flags;
                   }});
    static const char* kSi2fNames[2][2] = {{"cvtsi2ss r32", "cvtsi2ss r64"}, {"cvtsi2sd r32", "cvtsi2sd r64"}};
    for (int dbl = 0; dbl < 2; ++dbl) {
        for (int is64 = 0; is64 < 2; ++is64) {
            ops.push_back({kSi2fNames[dbl][is64], Dom::Sse, 2,
                           [is64](Rng& r, Case& c) { c.a[0] = uint64_t(gen_int(r, is64 ? 64 : 32)); },
                           [dbl, is64](const Case& c, const Cfg& cfg, Outcome& o) {
                               uint32_t mxo;
                               host_cvt_si2f(dbl, is64, cfg.mxcsr(), int64_t(c.a[0]), o.v[0], mxo);
                               o.status = mxo & 0x3F;
                           },
                           [dbl, is64](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = sse_ctx(cfg);
                               const int64_t v = int64_t(c.a[0]);
                               if (dbl) o.v[0] = is64 ? i64_to_f64(v, ctx) : i32_to_f64(int32_t(v));
                               else o.v[0] = is64 ? i64_to_f32(v, ctx) : i32_to_f32(int32_t(v), ctx);
                               o.status = ctx.flags;
                           }});
        }
    }
    static const char* kF2siNames[2][2][2] = {{{"cvtss2si r32", "cvttss2si r32"}, {"cvtss2si r64", "cvttss2si r64"}},
                                              {{"cvtsd2si r32", "cvttsd2si r32"}, {"cvtsd2si r64", "cvttsd2si r64"}}};
    for (int dbl = 0; dbl < 2; ++dbl) {
        for (int is64 = 0; is64 < 2; ++is64) {
            for (int trunc = 0; trunc < 2; ++trunc) {
                ops.push_back({kF2siNames[dbl][is64][trunc], Dom::Sse, 2,
                               [dbl](Rng& r, Case& c) { gen_ieee_one(r, c, dbl ? kFmt64 : kFmt32, r.chance(80)); },
                               [dbl, is64, trunc](const Case& c, const Cfg& cfg, Outcome& o) {
                                   uint32_t mxo;
                                   int64_t v;
                                   host_cvt_f2si(dbl, is64, trunc, cfg.mxcsr(), c.a[0], v, mxo);
                                   o.v[0] = uint64_t(v);
                                   o.status = mxo & 0x3F;
                               },
                               [dbl, is64, trunc](const Case& c, const Cfg& cfg, Outcome& o) {
                                   Context ctx = sse_ctx(cfg);
                                   int64_t v;
                                   if (dbl) {
                                       if (is64) v = trunc ? f64_to_i64_trunc(c.a[0], ctx) : f64_to_i64(c.a[0], ctx);
                                       else v = trunc ? f64_to_i32_trunc(c.a[0], ctx) : f64_to_i32(c.a[0], ctx);
                                   } else {
                                       const f32 a = uint32_t(c.a[0]);
                                       if (is64) v = trunc ? f32_to_i64_trunc(a, ctx) : f32_to_i64(a, ctx);
                                       else v = trunc ? f32_to_i32_trunc(a, ctx) : f32_to_i32(a, ctx);
                                   }
                                   o.v[0] = uint64_t(v);
                                   o.status = ctx.flags;
                               }});
            }
        }
    }
    // -- SSE with unmasked exceptions (#XM caught as SIGFPE)
    static const char* kSseUnNames[] = {"addss unmasked",    "subsd unmasked",    "mulss unmasked",    "divsd unmasked",
                                        "divss unmasked",    "sqrtss unmasked",   "sqrtsd unmasked",   "minsd unmasked",
                                        "cvtsd2ss unmasked", "cvtss2sd unmasked", "cvtsd2si unmasked", "comiss unmasked",
                                        "roundsd unmasked"};
    for (int op = 0; op < suNumOps; ++op) {
        if (op == suRoundsd && !have_sse41) continue;
        // formats of (a = old destination, b = source)
        static constexpr bool kDstDouble[] = {false, true, false, true, false, false, true, true, false, true, true, false, true};
        static constexpr bool kSrcDouble[] = {false, true, false, true, false, false, true, true, true, false, true, false, true};
        static constexpr Hint kHints[] = {Hint::Add, Hint::Add, Hint::Mul, Hint::Div, Hint::Div, Hint::None, Hint::None,
                                          Hint::None, Hint::None, Hint::None, Hint::Int, Hint::None, Hint::Int};
        ops.push_back({kSseUnNames[op], Dom::Sse, 2,
                       [op](Rng& r, Case& c) {
                           const Fmt& fa = kDstDouble[op] ? kFmt64 : kFmt32;
                           const Fmt& fb = kSrcDouble[op] ? kFmt64 : kFmt32;
                           if (fa.exp_bits == fb.exp_bits && kHints[op] != Hint::None && kHints[op] != Hint::Int) {
                               gen_ieee_pair(r, c, fa, kHints[op]);
                           } else {
                               gen_ieee_one(r, c, fb, kHints[op] == Hint::Int);
                               c.b[0] = c.a[0];
                               c.a[0] = encode_ieee(fa, gen_val(r, fa, fa.precision()));
                               if (op == suCvtsd2ss && r.chance(60)) {  // near f32's limits
                                   Val v = gen_val(r, kFmt64, 24);
                                   if (v.exp > 0 && v.exp < 0x7FF)
                                       v.exp = 1023 - 127 + (r.coin() ? r.range(-27, 3) : 255 + r.range(-3, 2));
                                   c.b[0] = encode_ieee(kFmt64, v);
                               }
                           }
                           c.masks = gen_masks(r);
                       },
                       [op](const Case& c, const Cfg& cfg, Outcome& o) {
                           const uint32_t mx = (cfg.mxcsr() & ~0x1F80u) | uint32_t(c.masks) << 7;
                           uint64_t r;
                           uint32_t mxo;
                           const bool trapped = host_sse_unmasked(SseUnOp(op), mx, c.a[0], c.b[0], r, mxo);
                           o.v[0] = r;
                           o.status = (mxo & 0x3F) | uint32_t(trapped) << 8;
                       },
                       [op](const Case& c, const Cfg& cfg, Outcome& o) {
                           Context ctx = Context::from_mxcsr((cfg.mxcsr() & ~0x1F80u) | uint32_t(c.masks) << 7);
                           const uint64_t a = c.a[0], b = c.b[0];
                           const uint32_t a32 = uint32_t(a), b32 = uint32_t(b);
                           uint64_t res = a;
                           switch (op) {
                               case suAddss: res = f32_add(a32, b32, ctx); break;
                               case suSubsd: res = f64_sub(a, b, ctx); break;
                               case suMulss: res = f32_mul(a32, b32, ctx); break;
                               case suDivsd: res = f64_div(a, b, ctx); break;
                               case suDivss: res = f32_div(a32, b32, ctx); break;
                               case suSqrtss: res = f32_sqrt(b32, ctx); break;
                               case suSqrtsd: res = f64_sqrt(b, ctx); break;
                               case suMinsd: res = f64_min(a, b, ctx); break;
                               case suCvtsd2ss: res = f64_to_f32(b, ctx); break;
                               case suCvtss2sd: res = f32_to_f64(b32, ctx); break;
                               case suCvtsd2si: res = uint64_t(f64_to_i64(b, ctx)); break;
                               case suComiss: f32_compare(a32, b32, true, ctx); break;
                               default: res = f64_round_to_int(b, ctx.rounding, false, ctx); break;
                           }
                           const Resolution rs = sse_resolve(ctx.flags, ctx.masks);
                           o.v[0] = rs.write ? res : a;
                           o.status = rs.flags | uint32_t(rs.trap) << 8;
                       }});
    }

    if (have_sse41) {
        for (int dbl = 0; dbl < 2; ++dbl) {
            ops.push_back({dbl ? "roundsd" : "roundss", Dom::Sse, 4,
                           [dbl](Rng& r, Case& c) {
                               gen_ieee_one(r, c, dbl ? kFmt64 : kFmt32, r.chance(80));
                               static constexpr int kImms[] = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12};
                               c.b[0] = uint64_t(kImms[r.below(10)]);
                           },
                           [dbl](const Case& c, const Cfg& cfg, Outcome& o) {
                               uint32_t mxo;
                               if (dbl) host_round(true, int(c.b[0]), cfg.mxcsr(), c.a[0], o.v[0], mxo);
                               else host_round(false, int(c.b[0]), cfg.mxcsr(), c.a[0], o.v[0], mxo);
                               o.status = mxo & 0x3F;
                           },
                           [dbl](const Case& c, const Cfg& cfg, Outcome& o) {
                               Context ctx = sse_ctx(cfg);
                               const int imm = int(c.b[0]);
                               const Rounding mode = (imm & 4) ? ctx.rounding : Rounding(imm & 3);
                               const bool suppress = imm & 8;
                               o.v[0] = dbl ? f64_round_to_int(c.a[0], mode, suppress, ctx)
                                            : f32_round_to_int(uint32_t(c.a[0]), mode, suppress, ctx);
                               o.status = ctx.flags;
                           }});
        }
    }
    return ops;
}

std::string describe_cfg(const Op& op, const Cfg& cfg) {
    static const char* kRc[] = {"near", "down", "up", "zero"};
    char buf[64];
    if (op.dom == Dom::Sse)
        std::snprintf(buf, sizeof buf, "rc=%s daz=%d ftz=%d", kRc[cfg.rc], cfg.daz, cfg.ftz);
    else
        std::snprintf(buf, sizeof buf, "rc=%s pc=%s", kRc[cfg.rc], cfg.pc == 0 ? "24" : cfg.pc == 1 ? "01(reserved)" : cfg.pc == 2 ? "53" : "64");
    return buf;
}

void print_outcome(const char* who, const Outcome& o) {
    std::printf("      %s: %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "  status %04x\n", who, o.v[0],
                o.v[1], o.v[2], o.v[3], o.status);
}

bool cpu_has_sse41() {
#if defined(__x86_64__) && !defined(KESTREL_FPU_NO_HOST)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c >> 19) & 1;
#else
    return false;
#endif
}

// Digest of the library's outcomes for the default --cases and --seed with
// all operations (see --soft-digest above).
constexpr uint64_t kSoftDigest = 0xbd4b12b445613ab0;
constexpr uint64_t kDefaultCases = 2000000;
constexpr uint64_t kDefaultSeed = 0x4B455354524C;  // "KESTRL"

// FNV-1a over the outcome's values, byte order fixed (little endian).
void digest_outcome(uint64_t& h, size_t op_index, const Outcome& o) {
    auto mix = [&h](uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h ^= (v >> (8 * i)) & 0xFF;
            h *= 0x100000001B3ull;
        }
    };
    mix(op_index);
    for (uint64_t v : o.v) mix(v);
    mix(o.status);
}

// Sanity check of the harness itself (operand order of the AT&T forms).
bool self_check() {
    const f80 five{0xA000000000000000ull, 16385}, three{0xC000000000000000ull, 16384}, two{1ull << 63, 16384};
    f80 r;
    uint16_t sw;
    host_x87(kFsub, 0x37F, five, three, r, sw);
    if (!(r == two)) return false;
    uint64_t d;
    uint32_t mxo;
    host_sse_bin(true, kSub, 0x1F80, 0x4014000000000000ull, 0x4008000000000000ull, d, mxo);  // 5 - 3
    return d == 0x4000000000000000ull;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t total_cases = kDefaultCases;
    uint64_t seed = kDefaultSeed;
    std::string only;
    bool verbose = false;
    bool coverage = false;
    bool soft_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--cases" && i + 1 < argc) total_cases = std::strtoull(argv[++i], nullptr, 0);
        else if (arg == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 0);
        else if (arg == "--only" && i + 1 < argc) only = argv[++i];
        else if (arg == "--verbose") verbose = true;
        else if (arg == "--coverage") coverage = true;
        else if (arg == "--soft-digest") soft_only = true;
        else {
            std::fprintf(stderr, "usage: %s [--cases N] [--seed S] [--only SUBSTRING] [--verbose] [--coverage]\n"
                                 "       %s --soft-digest [--cases N] [--seed S]\n", argv[0], argv[0]);
            return 2;
        }
    }
#if defined(__x86_64__) && !defined(KESTREL_FPU_NO_HOST)
    const bool can_compare = true;
#else
    const bool can_compare = false;
#endif
    if (!can_compare && !soft_only) {
        std::printf("fpu-difftest: needs an x86-64 host to compare against (try --soft-digest); skipped\n");
        return 77;  // meson's "skipped" exit code
    }
    if (!soft_only && !self_check()) {
        std::printf("fpu-difftest: harness self-check failed\n");
        return 1;
    }
    const bool sse41 = soft_only || cpu_has_sse41();
    if (!sse41) std::printf("note: no SSE4.1, ROUNDSS/ROUNDSD not tested\n");
    std::vector<Op> ops = build_ops(sse41);
    if (!only.empty()) std::erase_if(ops, [&](const Op& op) { return op.name.find(only) == std::string::npos; });
    const bool default_set = sse41 && only.empty() && total_cases == kDefaultCases && seed == kDefaultSeed;
    uint64_t digest = 0xCBF29CE484222325ull;
    int total_weight = 0;
    for (const Op& op : ops) total_weight += op.weight;

    const auto t0 = std::chrono::steady_clock::now();
    uint64_t cases = 0, mismatches = 0;
    for (size_t oi = 0; oi < ops.size(); ++oi) {
        const Op& op = ops[oi];
        Rng rng{seed ^ (0x9E3779B97F4A7C15ull * (oi + 1))};
        const uint64_t n = total_weight ? total_cases * uint64_t(op.weight) / uint64_t(total_weight) : 0;
        uint64_t bad = 0;
        uint64_t cov[10] = {};  // IE DE ZE OE UE PE C1 | UE with pc24, pc53 | UE with ftz (or DAZ+DE-free)
        for (uint64_t i = 0; i < n; ++i) {
            Cfg cfg;
            cfg.rc = int(i & 3);
            if (op.dom == Dom::Sse) {
                cfg.daz = (i >> 2) & 1;
                cfg.ftz = (i >> 3) & 1;
            } else {
                cfg.pc = int((i >> 2) & 3);  // 24, reserved (acts as 64), 53, 64 bits
            }
            Case c;
            op.gen(rng, c);
            Outcome h, s;
            op.soft(c, cfg, s);
            digest_outcome(digest, oi, s);
            if (soft_only) continue;
            op.host(c, cfg, h);
            if (coverage) {
                for (int bit = 0; bit < 6; ++bit) cov[bit] += (h.status >> bit) & 1;
                if (op.dom != Dom::Sse) {
                    cov[6] += (h.status >> 9) & 1;
                    if (h.status & 0x10) cov[cfg.pc == 0 ? 7 : cfg.pc == 2 ? 8 : 9] += 1;
                } else if (h.status & 0x10) {
                    cov[cfg.ftz ? 7 : 8] += 1;
                }
            }
            if (!(h == s)) {
                if (bad < 6 || verbose) {
                    std::printf("  MISMATCH %s [%s] a=%04" PRIx64 ":%016" PRIx64 " b=%04" PRIx64 ":%016" PRIx64 "%s",
                                op.name.c_str(), describe_cfg(op, cfg).c_str(), c.a[1], c.a[0], c.b[1], c.b[0],
                                c.masks == kAllFlags ? "\n" : "");
                    if (c.masks != kAllFlags) std::printf(" masks=%02x\n", c.masks);
                    print_outcome("host", h);
                    print_outcome("soft", s);
                }
                ++bad;
            }
        }
        if (!soft_only) std::printf("%-16s %8" PRIu64 " cases %6" PRIu64 " mismatches\n", op.name.c_str(), n, bad);
        if (coverage) {
            if (op.dom == Dom::Sse)
                std::printf("    IE %" PRIu64 " DE %" PRIu64 " ZE %" PRIu64 " OE %" PRIu64 " UE %" PRIu64 " PE %" PRIu64
                            " | UE with FTZ %" PRIu64 " without %" PRIu64 "\n",
                            cov[0], cov[1], cov[2], cov[3], cov[4], cov[5], cov[7], cov[8]);
            else
                std::printf("    IE %" PRIu64 " DE %" PRIu64 " ZE %" PRIu64 " OE %" PRIu64 " UE %" PRIu64 " PE %" PRIu64
                            " C1 %" PRIu64 " | UE at pc24 %" PRIu64 " pc53 %" PRIu64 " pc64 %" PRIu64 "\n",
                            cov[0], cov[1], cov[2], cov[3], cov[4], cov[5], cov[6], cov[7], cov[8], cov[9]);
        }
        cases += n;
        mismatches += bad;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (soft_only) {
        std::printf("fpu-difftest: soft digest %016" PRIx64 " over %" PRIu64 " cases", digest, cases);
        if (!default_set) {
            std::printf(" (not the default case set: nothing to compare with)\n");
            return 0;
        }
        const bool ok = digest == kSoftDigest;
        std::printf(", expected %016" PRIx64 ": %s\n", kSoftDigest, ok ? "match" : "MISMATCH");
        return ok ? 0 : 1;
    }
    std::printf("fpu-difftest: %" PRIu64 " cases, %" PRIu64 " mismatches (%.1f s, seed %" PRIu64 ")\n", cases,
                mismatches, secs, seed);
    if (default_set && digest != kSoftDigest)
        std::printf("note: soft digest %016" PRIx64 " differs from kSoftDigest; if the case set changed on purpose "
                    "and there are 0 mismatches, update kSoftDigest\n", digest);
    return mismatches ? 1 : 0;
}
