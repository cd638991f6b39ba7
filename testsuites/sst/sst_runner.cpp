// sst-runner: runs the hardware-recorded SingleStepTests 80286 real-mode vectors
// (../shared/testdata/sst-80286-real, see its README) against the interpreter.
//
// One Machine and one Interpreter serve every test: each test resets the CPU,
// loads its registers and RAM bytes, runs to the HLT that ends it, compares, and
// zeroes the bytes it loaded or expected to change. A scan of all RAM after each
// file catches writes the emulator made anywhere else; when it finds one the file
// is rerun with a scan after every test to name the test.
//
// The vectors are a 286's results and Kestrel models a P6, so the comparison
// masks the flags the SDM calls undefined (insn_info.cpp), and exclusions.txt
// lists the vectors whose documented 286 behaviour differs from a P6's.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "insn_info.h"
#include "interp/interpreter.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif

#ifndef SST_DEFAULT_DIR
#define SST_DEFAULT_DIR "../shared/testdata/sst-80286-real"
#endif
#ifndef SST_DEFAULT_EXCLUSIONS
#define SST_DEFAULT_EXCLUSIONS "testsuites/sst/exclusions.txt"
#endif

namespace fs = std::filesystem;
using nlohmann::json;
namespace km = kestrel::machine;
namespace ki = kestrel::interp;

namespace {

// ---- test representation ---------------------------------------------------------------------

enum Reg { AX, BX, CX, DX, CS, SS, DS, ES, SP, BP, SI, DI, IP, FLAGS, kRegCount };
constexpr const char* kRegNames[kRegCount] = {"ax", "bx", "cx", "dx", "cs", "ss", "ds",
                                              "es", "sp", "bp", "si", "di", "ip", "flags"};
constexpr int kGprIndex[] = {km::RAX, km::RBX, km::RCX, km::RDX};  // AX..DX
constexpr uint8_t kSegIndex[] = {km::CS, km::SS, km::DS, km::ES};   // CS..ES
constexpr int kGprIndex2[] = {km::RSP, km::RBP, km::RSI, km::RDI};  // SP..DI

// The top four FLAGS bits (IOPL, NT, bit 15) cannot be set in real mode on a 286.
constexpr uint16_t kFlagsMask = 0x0FFF;

// Every real-mode address (with A20 on) is below 0xFFFF0 + 0xFFFF + 1.
constexpr size_t kLowRamScan = 0x110000;

struct RegSet {
  uint16_t v[kRegCount] = {};
  uint16_t present = 0;  // bit per Reg
};

struct Test {
  int idx = 0;
  std::string name;
  std::vector<uint8_t> bytes;
  RegSet init, fin;
  std::vector<std::pair<uint32_t, uint8_t>> init_ram, fin_ram;
  bool has_exception = false;
  int exc_number = -1;
  uint32_t flag_address = 0;
};

struct FormFile {
  std::string form;
  std::string error;
  std::vector<Test> tests;
};

// ---- loading ---------------------------------------------------------------------------------

bool read_gz(const fs::path& p, std::string& out, std::string& err) {
  gzFile f = gzopen(p.c_str(), "rb");
  if (!f) {
    err = fmt::format("cannot open {}", p.string());
    return false;
  }
  gzbuffer(f, 1 << 18);
  out.clear();
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code;
      err = fmt::format("{}: {}", p.string(), gzerror(f, &code));
      gzclose(f);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(f);
  return true;
}

void parse_regs(const json& j, RegSet& r) {
  for (int i = 0; i < kRegCount; ++i) {
    auto it = j.find(kRegNames[i]);
    if (it != j.end()) {
      r.v[i] = it->get<uint16_t>();
      r.present |= 1u << i;
    }
  }
}

void parse_ram(const json& j, std::vector<std::pair<uint32_t, uint8_t>>& out) {
  out.reserve(j.size());
  for (const auto& e : j) out.emplace_back(e[0].get<uint32_t>(), e[1].get<uint8_t>());
}

FormFile load_form(const fs::path& p, std::string form) {
  FormFile ff;
  ff.form = std::move(form);
  std::string text;
  if (!read_gz(p, text, ff.error)) return ff;
  try {
    json doc = json::parse(text);
    ff.tests.reserve(doc.size());
    for (const auto& jt : doc) {
      Test t;
      t.idx = jt.at("idx").get<int>();
      t.name = jt.at("name").get<std::string>();
      t.bytes = jt.at("bytes").get<std::vector<uint8_t>>();
      parse_regs(jt.at("initial").at("regs"), t.init);
      parse_ram(jt.at("initial").at("ram"), t.init_ram);
      parse_regs(jt.at("final").at("regs"), t.fin);
      parse_ram(jt.at("final").at("ram"), t.fin_ram);
      if (auto e = jt.find("exception"); e != jt.end()) {
        t.has_exception = true;
        t.exc_number = e->at("number").get<int>();
        t.flag_address = e->at("flag_address").get<uint32_t>();
      }
      ff.tests.push_back(std::move(t));
    }
  } catch (const std::exception& e) {
    ff.error = fmt::format("{}: bad JSON: {}", p.string(), e.what());
  }
  return ff;
}

// ---- exclusions ------------------------------------------------------------------------------

// Lines: `FORM IDX[,IDX...]|* reason`; '#' starts a comment.
struct Exclusions {
  std::set<std::string> whole_forms;
  std::set<std::pair<std::string, int>> tests;

  bool excluded(const std::string& form, int idx) const {
    return whole_forms.count(form) || tests.count({form, idx});
  }
};

bool load_exclusions(const std::string& path, Exclusions& ex, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = fmt::format("cannot open exclusion list {} (pass --exclusions PATH)", path);
    return false;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::string form, ids, reason;
    if (!(ls >> form) || form[0] == '#') continue;
    std::getline(ls >> ids >> std::ws, reason);
    if (ids.empty() || reason.empty()) {
      err = fmt::format("{}:{}: expected `FORM IDX[,IDX...]|* reason`", path, lineno);
      return false;
    }
    if (ids == "*") {
      ex.whole_forms.insert(form);
      continue;
    }
    std::stringstream ss(ids);
    std::string id;
    while (std::getline(ss, id, ',')) {
      char* end = nullptr;
      long v = std::strtol(id.c_str(), &end, 10);
      if (id.empty() || *end) {
        err = fmt::format("{}:{}: bad test index '{}'", path, lineno, id);
        return false;
      }
      ex.tests.insert({form, static_cast<int>(v)});
    }
  }
  return true;
}

// ---- running ---------------------------------------------------------------------------------

struct Options {
  std::string dir = SST_DEFAULT_DIR;
  std::string exclusions = SST_DEFAULT_EXCLUSIONS;
  std::vector<std::string> only;
  int only_idx = -1;
  bool verbose = false;
  bool run_excluded = false;
  bool trace = false;
  bool suggest_lock = false;
  int max_fail_print = 1;
  std::string jit = "off";   // off | on | verify: run every block through the JIT tier
  uint64_t budget = 140000;  // REP and LOOP run up to 65,536 iterations
};

class PrintTracer : public ki::Tracer {
 public:
  void instruction(const km::CpuState& c, const kestrel::frontend::DecodedInsn& d, const uint8_t* bytes) override {
    fmt::print("  {:04x}:{:04x} ", c.seg[km::CS].selector, c.rip);
    for (unsigned i = 0; i < d.len; ++i) fmt::print("{:02x}", bytes[i]);
    fmt::print("\n{}", ki::Interpreter::format_state(c));
  }
  void exception(const km::CpuState& c, const km::PendingException& e) override {
    fmt::print("  exception {} (error {:#x})\n", e.vector, e.error);
  }
};

// Records what the emulator did, to explain a failure.
class Recorder : public ki::Tracer {
 public:
  void instruction(const km::CpuState& c, const kestrel::frontend::DecodedInsn& d, const uint8_t* bytes) override {
    if (insns.size() < 6) {
      std::string b;
      for (unsigned i = 0; i < d.len; ++i) b += fmt::format("{:02x}", bytes[i]);
      insns.push_back(fmt::format("{:04x}:{:04x} {}", c.seg[km::CS].selector, c.rip, b));
    }
    ++count;
  }
  void exception(const km::CpuState& c, const km::PendingException& e) override {
    if (exceptions.size() < 4) exceptions.push_back(e.vector);
  }
  std::string summary() const {
    std::string s = fmt::format("emulator ran {} instruction(s)", count);
    if (!exceptions.empty()) {
      s += ", took exception(s)";
      for (int v : exceptions) s += fmt::format(" {}", v);
    }
    s += ":";
    for (const auto& i : insns) s += " [" + i + "]";
    return s;
  }
  uint64_t count = 0;
  std::vector<int> exceptions;
  std::vector<std::string> insns;
};

const char* stop_name(ki::StopReason r) {
  switch (r) {
    case ki::StopReason::Stopped: return "Stopped";
    case ki::StopReason::HaltedNoInterrupts: return "Halted";
    case ki::StopReason::InstructionLimit: return "InstructionLimit";
  }
  return "?";
}

class Runner {
 public:
  Runner(km::Machine& m, ki::Interpreter& it, const Options& o) : m_(m), it_(it), opt_(o) {
    watchdog_ = std::thread([this] { watch(); });
  }
  ~Runner() {
    {
      std::lock_guard<std::mutex> g(mu_);
      quit_ = true;
    }
    watchdog_.join();
  }

  // Runs one test; returns the list of differences (empty when it passes).
  std::vector<std::string> run(const Test& t) {
    std::vector<std::string> diffs;
    const kestrel::sst::InsnInfo in = kestrel::sst::parse_insn(t.bytes);
    const uint16_t undef = kestrel::sst::undefined_flags(in, static_cast<uint8_t>(t.init.v[CX]));

    m_.reset();
    km::CpuState& c = m_.cpu();
    for (int i = 0; i < 4; ++i) c.gpr[kGprIndex[i]] = t.init.v[AX + i];
    for (int i = 0; i < 4; ++i) c.gpr[kGprIndex2[i]] = t.init.v[SP + i];
    for (int i = 0; i < 4; ++i) km::load_segment_real(c, kSegIndex[i], t.init.v[CS + i]);
    c.rip = t.init.v[IP];
    c.rflags = (t.init.v[FLAGS] & kFlagsMask) | km::kFlagsFixed1;
    c.lf_kind = static_cast<uint8_t>(km::FlagKind::None);
    for (auto [a, v] : t.init_ram) m_.bus().write(a, &v, 1);

    // Tests run one instruction and a HLT (two more when an exception goes through
    // a handler); only REP and LOOP need a large budget. A small one stops a
    // runaway (say, through a zeroed IVT entry into zeroed memory) early.
    const bool repeats = in.rep || (in.opcode >= 0xE0 && in.opcode <= 0xE2);
    {
      std::lock_guard<std::mutex> g(mu_);
      deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      timed_out_ = false;
    }
    const ki::StopReason r = it_.run(repeats ? opt_.budget : 64);
    bool timed_out;
    {
      std::lock_guard<std::mutex> g(mu_);
      deadline_ = {};
      timed_out = timed_out_;
    }
    if (timed_out)
      diffs.push_back("stopped by the watchdog after 2 s: the run loop retired no instruction (an exception loop?)");
    else if (r != ki::StopReason::HaltedNoInterrupts)
      diffs.push_back(fmt::format("stopped: {} after {} instructions, cs:ip={:04x}:{:04x}", stop_name(r), c.icount,
                                  c.seg[km::CS].selector, c.rip));

    // Registers: those listed in `final` changed, the rest kept their initial value.
    auto expect = [&](int reg) { return (t.fin.present >> reg & 1) ? t.fin.v[reg] : t.init.v[reg]; };
    auto cmp_gpr = [&](int reg, int gi) {
      uint64_t got = c.gpr[gi];
      if (got != expect(reg))
        diffs.push_back(fmt::format("{}: expected {:04x} got {:04x}", kRegNames[reg], expect(reg), got));
    };
    for (int i = 0; i < 4; ++i) cmp_gpr(AX + i, kGprIndex[i]);
    for (int i = 0; i < 4; ++i) cmp_gpr(SP + i, kGprIndex2[i]);
    for (int i = 0; i < 4; ++i) {
      const km::SegmentCache& s = c.seg[kSegIndex[i]];
      uint16_t e = expect(CS + i);
      if (s.selector != e || s.base != uint64_t{e} << 4)
        diffs.push_back(fmt::format("{}: expected {:04x} got {:04x} (base {:x})", kRegNames[CS + i], e, s.selector,
                                    s.base));
    }
    for (uint8_t sr : {km::FS, km::GS})
      if (c.seg[sr].selector != 0 || c.seg[sr].base != 0)
        diffs.push_back(fmt::format("{}: expected 0000 got {:04x} (base {:x})", sr == km::FS ? "fs" : "gs",
                                    c.seg[sr].selector, c.seg[sr].base));
    if (c.rip != expect(IP))
      diffs.push_back(fmt::format("ip: expected {:04x} got {:04x}", expect(IP), c.rip));
    const uint16_t fmask = kFlagsMask & ~undef;
    const uint64_t fl = km::materialize_flags(c);
    const uint16_t ef = expect(FLAGS) & fmask, gf = static_cast<uint16_t>(fl & fmask);
    if (ef != gf || (fl >> 16) != 0)
      diffs.push_back(fmt::format("flags: expected {:04x} [{}] got {:04x} [{}] (raw {:x}, undefined {})", ef,
                                  kestrel::sst::flags_string(ef), gf, kestrel::sst::flags_string(gf), fl,
                                  kestrel::sst::flags_string(undef)));

    // Where the exception pushed FLAGS: the handler is a lone HLT, so the final
    // SS:SP addresses the frame (IP, CS, FLAGS). The vectors' flag_address is one
    // byte low when SP was odd, so it is not used.
    uint32_t flags_lo = ~0u, flags_hi = ~0u;
    if (t.has_exception) {
      const uint32_t ss_base = uint32_t{expect(SS)} << 4;
      flags_lo = ss_base + ((expect(SP) + 4u) & 0xFFFF);
      flags_hi = ss_base + ((expect(SP) + 5u) & 0xFFFF);
    }

    // Memory: the final bytes, and the initial bytes that the final list does not change.
    expected_ram_.clear();
    for (auto [a, v] : t.init_ram) expected_ram_[a] = v;
    for (auto [a, v] : t.fin_ram) expected_ram_[a] = v;
    std::vector<uint32_t> addrs;
    addrs.reserve(expected_ram_.size());
    for (auto& [a, v] : expected_ram_) addrs.push_back(a);
    std::sort(addrs.begin(), addrs.end());
    for (uint32_t a : addrs) {
      uint8_t got = 0, want = expected_ram_[a];
      m_.bus().read(a, &got, 1);
      uint8_t mask = 0xFF;
      if (t.has_exception && a == flags_lo) mask = static_cast<uint8_t>(fmask);
      if (t.has_exception && a == flags_hi) mask = static_cast<uint8_t>(fmask >> 8);
      if ((got & mask) != (want & mask))
        diffs.push_back(fmt::format("ram[{:06x}]: expected {:02x} got {:02x}{}", a, want, got,
                                    mask != 0xFF ? fmt::format(" (mask {:02x})", mask) : ""));
    }
    if (!diffs.empty() && t.has_exception)
      diffs.push_back(fmt::format("(the 286 took exception {}, FLAGS pushed at {:06x})", t.exc_number, flags_lo));

    // Clean up for the next test.
    static const uint8_t zero = 0;
    for (uint32_t a : addrs) m_.bus().write(a, &zero, 1);
    it_.cache().flush();
    it_.cache().collect();
    return diffs;
  }

  // Finds a nonzero byte anywhere in RAM (every test leaves RAM zeroed when the
  // emulator wrote only where the vector says); clears what it finds.
  // `limit` bounds the scan (0 = all RAM).
  bool ram_dirty(std::vector<std::string>* report, size_t limit = 0) {
    const uint8_t* ram = m_.bus().ram();
    const size_t n = limit ? std::min<size_t>(limit, m_.bus().ram_size()) : m_.bus().ram_size();
    bool dirty = false;
    for (size_t off = 0; off < n; off += 8) {
      uint64_t w;
      std::memcpy(&w, ram + off, 8);
      if (!w) continue;
      for (size_t k = 0; k < 8; ++k) {
        if (!ram[off + k]) continue;
        dirty = true;
        if (report && report->size() < 8)
          report->push_back(fmt::format("stray write: ram[{:06x}] = {:02x}, an address the vector does not list",
                                        off + k, ram[off + k]));
        uint8_t z = 0;
        m_.bus().write(off + k, &z, 1);
      }
    }
    return dirty;
  }

 private:
  // Interpreter::run() counts retired instructions only, so a fault that keeps
  // faulting (an exception whose handler address holds an invalid opcode) never
  // reaches the budget. The watchdog asks the machine to stop such a run; it holds
  // the lock while it does, so it never reaches into the next test.
  void watch() {
    std::unique_lock<std::mutex> g(mu_);
    while (!quit_) {
      g.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      g.lock();
      if (deadline_ != Clock::time_point{} && Clock::now() > deadline_) {
        m_.request_stop(1, "sst-runner watchdog");
        deadline_ = {};
        timed_out_ = true;
      }
    }
  }

  using Clock = std::chrono::steady_clock;
  km::Machine& m_;
  ki::Interpreter& it_;
  const Options& opt_;
  std::thread watchdog_;
  std::mutex mu_;
  Clock::time_point deadline_{};
  bool timed_out_ = false;
  bool quit_ = false;
  std::unordered_map<uint32_t, uint8_t> expected_ram_;
};

std::string hex_bytes(const std::vector<uint8_t>& b) {
  std::string s;
  for (size_t i = 0; i < b.size(); ++i) s += fmt::format("{}{:02X}", i ? " " : "", b[i]);
  return s;
}

void print_failure(const std::string& form, const Test& t, const std::vector<std::string>& diffs) {
  fmt::print("  {} #{} '{}' [{}]\n", form, t.idx, t.name, hex_bytes(t.bytes));
  for (const auto& d : diffs) fmt::print("      {}\n", d);
}

bool form_selected(const Options& o, const std::string& form) {
  if (o.only.empty()) return true;
  for (const auto& s : o.only)
    if (form == s || (form.size() > s.size() && form.compare(0, s.size(), s) == 0 && form[s.size()] == '.'))
      return true;
  return false;
}

void usage() {
  fmt::print(
      "usage: sst-runner [--dir PATH] [--exclusions FILE] [--only FORM[,FORM...]] [--idx N]\n"
      "                  [--verbose] [--max-fail-print N] [--run-excluded] [--trace]\n"
      "                  [--suggest-lock-exclusions]\n"
      "  --dir PATH               vectors (default {})\n"
      "  --exclusions FILE        exclusion list (default {})\n"
      "  --only FORM              only these forms; `F6` selects F6 and F6.0..F6.7\n"
      "  --idx N                  only the test with this idx\n"
      "  --verbose                print every failure (same as --max-fail-print 1000000)\n"
      "  --max-fail-print N       failures printed per form (default 1)\n"
      "  --run-excluded           also run excluded tests and report which of them pass\n"
      "  --trace                  print every executed instruction (use with --only/--idx)\n"
      "  --jit on|verify          translate every block at once (verify: check each native run\n"
      "                           against the interpreter; a difference stops with a report)\n"
      "  --suggest-lock-exclusions  print exclusion lines for LOCK on non-lockable forms\n",
      SST_DEFAULT_DIR, SST_DEFAULT_EXCLUSIONS);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "sst-runner: {} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") opt.dir = value();
    else if (a == "--exclusions") opt.exclusions = value();
    else if (a == "--only") {
      std::stringstream ss(value());
      std::string f;
      while (std::getline(ss, f, ',')) {
        std::transform(f.begin(), f.end(), f.begin(), ::toupper);
        opt.only.push_back(f);
      }
    } else if (a == "--idx") opt.only_idx = std::stoi(value());
    else if (a == "--verbose") opt.verbose = true;
    else if (a == "--max-fail-print") opt.max_fail_print = std::stoi(value());
    else if (a == "--run-excluded") opt.run_excluded = true;
    else if (a == "--trace") opt.trace = true;
    else if (a == "--jit") {
      opt.jit = value();
      if (opt.jit != "on" && opt.jit != "verify" && opt.jit != "off") {
        fmt::print(stderr, "sst-runner: --jit takes on, verify or off\n");
        return 2;
      }
    }
    else if (a == "--suggest-lock-exclusions") opt.suggest_lock = true;
    else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      fmt::print(stderr, "sst-runner: unknown option '{}'\n", a);
      usage();
      return 2;
    }
  }
  if (opt.verbose) opt.max_fail_print = 1 << 30;
  const auto t0 = std::chrono::steady_clock::now();

  // The forms present in the directory, in name order.
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(opt.dir, ec)) {
    std::string n = e.path().filename().string();
    const std::string suffix = ".json.gz";
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string form = n.substr(0, n.size() - suffix.size());
      if (form_selected(opt, form)) files.emplace_back(form, e.path());
    }
  }
  if (ec) {
    fmt::print(stderr, "sst-runner: cannot read the vector directory {}: {} (pass --dir PATH)\n", opt.dir,
               ec.message());
    return 2;
  }
  if (files.empty()) {
    fmt::print(stderr, "sst-runner: no *.json.gz vectors selected in {}\n", opt.dir);
    return 2;
  }
  std::sort(files.begin(), files.end());

  Exclusions ex;
  std::string err;
  if (!load_exclusions(opt.exclusions, ex, err)) {
    fmt::print(stderr, "sst-runner: {}\n", err);
    return 2;
  }

  if (opt.suggest_lock) {
    for (const auto& [form, path] : files) {
      FormFile ff = load_form(path, form);
      std::vector<int> ids;
      for (const auto& t : ff.tests)
        // A 286 that raised #UD anyway (say LOCK LEA reg,reg) agrees with the P6: keep those.
        if (kestrel::sst::lock_is_ud_on_p6(kestrel::sst::parse_insn(t.bytes)) && t.exc_number != 6)
          ids.push_back(t.idx);
      if (ids.empty()) continue;
      std::string list;
      for (int id : ids) list += fmt::format("{}{}", list.empty() ? "" : ",", id);
      fmt::print("{} {} LOCK on a non-lockable form or a register destination: #UD on the 386 and later "
                 "(SDM Vol. 2A, LOCK), ignored by the 286\n",
                 form, list);
    }
    return 0;
  }

  km::MachineConfig cfg;
  cfg.ram_bytes = 16ull << 20;
  km::Machine m(cfg);
  if (!m.init(err)) {
    fmt::print(stderr, "sst-runner: {}\n", err);
    return 2;
  }
  ki::Interpreter it(m);
  PrintTracer tracer;
  if (opt.trace) it.set_tracer(&tracer);
#ifdef KESTREL_HAVE_JIT
  kestrel::jit::Jit jit(opt.jit == "verify");
  if (opt.jit != "off") {
    it.set_compiler(&jit, 0);  // every block native from its first run
    it.set_verify(opt.jit == "verify");
  }
#else
  if (opt.jit != "off") {
    fmt::print(stderr, "sst-runner: this build has no JIT\n");
    return 2;
  }
#endif
  Runner runner(m, it, opt);

  uint64_t passed = 0, failed = 0, excluded = 0, excluded_passing = 0;
  bool harness_error = false;
  // Decompress and parse the next file on the other core while this one runs.
  std::future<FormFile> next = std::async(std::launch::async, load_form, files[0].second, files[0].first);
  for (size_t fi = 0; fi < files.size(); ++fi) {
    FormFile ff = next.get();
    if (fi + 1 < files.size())
      next = std::async(std::launch::async, load_form, files[fi + 1].second, files[fi + 1].first);
    if (!ff.error.empty()) {
      fmt::print("{}: {}\n", ff.form, ff.error);
      harness_error = true;
      continue;
    }

    struct Failure {
      const Test* t;
      std::vector<std::string> diffs;
    };
    std::vector<Failure> fails;
    std::vector<const Test*> stale;
    size_t total = 0;
    auto run_all = [&](bool scan_each) {
      fails.clear();
      stale.clear();
      total = 0;
      for (const Test& t : ff.tests) {
        if (opt.only_idx >= 0 && t.idx != opt.only_idx) continue;
        const bool is_excluded = ex.excluded(ff.form, t.idx);
        if (is_excluded && !opt.run_excluded) continue;
        if (opt.trace) fmt::print("{} #{} '{}'\n", ff.form, t.idx, t.name);
        std::vector<std::string> diffs = runner.run(t);
        // A failing test may have run away and written anywhere: clean up now so
        // that it cannot change the next test's result. Real-mode addresses stay
        // below 0x10FFF0 with A20 on; the whole-RAM scan after the file catches
        // anything beyond, and writes by passing tests.
        if (scan_each || !diffs.empty()) runner.ram_dirty(&diffs, kLowRamScan);
        if (is_excluded) {
          if (diffs.empty()) stale.push_back(&t);
          continue;
        }
        ++total;
        if (!diffs.empty()) {
          // Run it again with a recorder, for the report.
          if (static_cast<int>(fails.size()) < opt.max_fail_print && !opt.trace) {
            Recorder rec;
            it.set_tracer(&rec);
            runner.run(t);
            it.set_tracer(nullptr);
            runner.ram_dirty(nullptr, kLowRamScan);
            diffs.push_back(rec.summary());
          }
          fails.push_back({&t, std::move(diffs)});
        }
      }
    };
    run_all(false);
    std::vector<std::string> stray;
    if (runner.ram_dirty(&stray)) {
      fmt::print("{}: the emulator wrote RAM outside the listed addresses ({}); rerunning with a scan per test\n",
                 ff.form, stray.front());
      run_all(true);
      stray.clear();
      if (runner.ram_dirty(&stray)) {
        fmt::print("{}: stray writes above 0x110000 that no single test explains: {}\n", ff.form, stray.front());
        harness_error = true;
      }
    }

    size_t n_excl = 0;
    for (const Test& t : ff.tests)
      if ((opt.only_idx < 0 || t.idx == opt.only_idx) && ex.excluded(ff.form, t.idx)) ++n_excl;
    excluded += n_excl;
    passed += total - fails.size();
    failed += fails.size();
    if (!fails.empty()) {
      fmt::print("{}: {}/{} failed\n", ff.form, fails.size(), total);
      for (size_t k = 0; k < fails.size() && static_cast<int>(k) < opt.max_fail_print; ++k)
        print_failure(ff.form, *fails[k].t, fails[k].diffs);
    }
    if (!stale.empty()) {
      excluded_passing += stale.size();
      std::string list;
      for (const Test* t : stale) list += fmt::format("{}{}", list.empty() ? "" : ",", t->idx);
      fmt::print("{}: {} excluded test(s) pass: {}\n", ff.form, stale.size(), list);
    }
  }

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (opt.run_excluded) fmt::print("excluded tests that pass: {}\n", excluded_passing);
  fmt::print("sst-80286: {} forms in {:.2f} s\n", files.size(), secs);
  fmt::print("sst-80286: {} passed, {} failed, {} excluded\n", passed, failed, excluded);
  std::fflush(stdout);
  return failed == 0 && !harness_error ? 0 : 1;
}
