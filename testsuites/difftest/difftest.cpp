// difftest: differential testing of the interpreter against the host CPU
// (DESIGN.md "Tests, cheapest first", item 3).
//
// For every form of the instruction table (integer forms, and the x87, SSE and
// SIMD family tables) it generates random but edge-heavy cases (gen.cpp), runs
// each natively in a child process — 64-bit cases in a forked child of this
// process, 32-bit cases in difftest-child32 (built with -m32) — and in Kestrel
// (kestrel_run.cpp), and compares registers, RIP, RFLAGS, segment selectors, the
// data region, the x87/SSE state and the exception raised, masking only what the
// SDM calls undefined (compare.cpp, the rules in gen.cpp).
//
// skip.txt lists the forms that cannot run at CPL 3 in a Linux process and
// exclusions.txt anything else left out, each with its reason.
//
// Output: one line per form (and mode) with mismatches, then
//   difftest-int: N cases, M mismatches
//   difftest-fp: N cases, M mismatches
// Exit status 1 when either M is non-zero.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "compare.h"
#include "forms.h"
#include "gen.h"
#include "kestrel_run.h"
#include "layout.h"
#include "native.h"

#ifndef DIFFTEST_DEFAULT_DIR
#define DIFFTEST_DEFAULT_DIR "testsuites/difftest"
#endif

namespace {

using namespace difftest;

struct Options {
  uint64_t seed = 0x4B657374726C;  // "Kestrl"
  unsigned int_cases = 500;
  unsigned fp_cases = 0;  // 0: derived so that the FP forms reach the default total
  unsigned fp_total = 240000;
  std::string only;
  bool m32 = true, m64 = true;
  bool verbose = false;
  bool run_int = true, run_fp = true;  // --family
  std::string list_dir = DIFFTEST_DEFAULT_DIR;
  std::string child32;
  unsigned max_lines = 3;  // mismatch examples printed per form with --verbose
  int jit = 0;             // --jit: 0 off, 1 on, 2 verify
};

void usage() {
  std::puts(
      "usage: difftest [--seed N] [--cases-per-form N] [--only ID[,ID...]] [--mode 32|64|both] [--verbose]\n"
      "                [--family int|fp|all] [--lists DIR] [--child32 PATH] [--jit off|on|verify]\n"
      "Runs instruction forms of the instruction table natively and in Kestrel and compares the results.\n"
      "  --cases-per-form N  cases per form and mode (default: 500 integer; FP forms share ~240000)\n"
      "  --only ID           only these forms (table ids, comma-separated)\n"
      "  --family F          int: the integer forms, fp: the x87/SSE/SIMD families, all (default)\n"

      "  --lists DIR         where skip.txt and exclusions.txt are (default: the source folder)\n"
      "  --child32 PATH      the 32-bit runner (default: difftest-child32 next to this program)");
#ifdef KESTREL_HAVE_JIT
  std::puts(
      "  --jit MODE          off: Kestrel's interpreter (default); on: each case's block translated by the JIT\n"
      "                      on its first run; verify: translated and re-run in the interpreter, first\n"
      "                      difference reported");
#endif
}

// ---- skip / exclusion lists -------------------------------------------------------------------
// Lines: `ID MODES reason`, MODES = 32, 64 or both; '#' starts a comment.
struct ListEntry {
  bool m32 = false, m64 = false;
  std::string reason;
};
using List = std::map<std::string, ListEntry>;

bool load_list(const std::string& path, List& out, std::string& err) {
  std::ifstream in(path);
  if (!in) {
    err = fmt::format("cannot open {} (pass --lists DIR)", path);
    return false;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::string id, modes, reason;
    if (!(ls >> id) || id[0] == '#') continue;
    ls >> modes;
    std::getline(ls >> std::ws, reason);
    if (modes != "32" && modes != "64" && modes != "both") {
      err = fmt::format("{}:{}: expected `ID 32|64|both reason`", path, lineno);
      return false;
    }
    if (reason.empty()) {
      err = fmt::format("{}:{}: {} has no reason", path, lineno, id);
      return false;
    }
    if (!find_form(id)) {  // renamed or removed: say so, but keep going
      std::fprintf(stderr, "difftest: %s:%d: %s is not a form of the instruction table (ignored)\n", path.c_str(),
                   lineno, id.c_str());
      continue;
    }
    ListEntry& e = out[id];
    if (modes != "64") e.m32 = true;
    if (modes != "32") e.m64 = true;
    e.reason = reason;
  }
  return true;
}

bool listed(const List& l, const std::string& id, bool m64) {
  auto it = l.find(id);
  return it != l.end() && (m64 ? it->second.m64 : it->second.m32);
}

// ---- native runners -------------------------------------------------------------------------
class NativeRunner {
 public:
  NativeRunner(bool mode64, std::string child32) : m64_(mode64), child32_(std::move(child32)) {}
  ~NativeRunner() { stop(); }

  bool init(std::string& err) {
    shm_fd_ = memfd_create("difftest-shm", 0);
    if (shm_fd_ < 0 || ftruncate(shm_fd_, static_cast<off_t>(kShmSize)) != 0) {
      err = fmt::format("difftest: cannot create shared memory: {}", std::strerror(errno));
      return false;
    }
    shm_ = mmap(nullptr, kShmSize, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd_, 0);
    if (shm_ == MAP_FAILED) {
      err = fmt::format("difftest: cannot map shared memory: {}", std::strerror(errno));
      return false;
    }
    header().magic = kShmMagic;
    if (!start(err)) return false;
    if (!command(kCmdHello, 10000)) {
      err = fmt::format("difftest: the {}-bit native runner did not start ({})", m64_ ? 64 : 32,
                        m64_ ? "forked child" : child32_);
      return false;
    }
    return true;
  }

  ShmHeader& header() { return *static_cast<ShmHeader*>(shm_); }
  CaseIn* cases() { return reinterpret_cast<CaseIn*>(static_cast<uint8_t*>(shm_) + kShmCasesOffset); }
  CaseOut* results() { return reinterpret_cast<CaseOut*>(static_cast<uint8_t*>(shm_) + kShmResultsOffset); }

  // Starts cases [0, n) in the runner; finish() waits for them. A case that kills
  // or hangs the runner is marked kStatusCrash and the runner restarted for the rest.
  void begin(uint32_t n) {
    ShmHeader& h = header();
    h.count = n;
    h.start = 0;
    h.done = 0;
    sent_ = send(kCmdRun);
  }
  void finish() {
    ShmHeader& h = header();
    const uint32_t n = h.count;
    for (;;) {
      if (sent_ && wait_reply(kCmdRun, 20000)) return;
      uint32_t bad = __atomic_load_n(&h.done, __ATOMIC_ACQUIRE);
      if (bad >= n) return;
      std::memset(&results()[bad], 0, offsetof(CaseOut, region));
      results()[bad].status = kStatusCrash;
      ++crashes;
      stop();
      std::string err;
      if (!start(err)) {
        std::fprintf(stderr, "%s\n", err.c_str());
        std::exit(2);
      }
      h.start = bad + 1;
      h.done = bad + 1;
      if (h.start >= n) return;
      sent_ = send(kCmdRun);
    }
  }
  unsigned crashes = 0;

 private:
  bool start(std::string& err) {
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(reply, O_CLOEXEC) != 0) {
      err = "difftest: pipe failed";
      return false;
    }
    pid_ = fork();
    if (pid_ < 0) {
      err = "difftest: fork failed";
      return false;
    }
    if (pid_ == 0) {
      close(cmd[1]);
      close(reply[0]);
      if (m64_) _exit(native_runner_main(cmd[0], reply[1], shm_));
      // The 32-bit runner: pass the descriptors by number (without close-on-exec).
      int fds[3] = {cmd[0], reply[1], shm_fd_};
      for (int fd : fds) fcntl(fd, F_SETFD, 0);
      std::string a1 = std::to_string(cmd[0]), a2 = std::to_string(reply[1]), a3 = std::to_string(shm_fd_);
      execl(child32_.c_str(), child32_.c_str(), a1.c_str(), a2.c_str(), a3.c_str(), static_cast<char*>(nullptr));
      std::fprintf(stderr, "difftest: cannot run %s: %s\n", child32_.c_str(), std::strerror(errno));
      _exit(127);
    }
    close(cmd[0]);
    close(reply[1]);
    cmd_fd_ = cmd[1];
    reply_fd_ = reply[0];
    return true;
  }

  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (cmd_fd_ >= 0) close(cmd_fd_);
    if (reply_fd_ >= 0) close(reply_fd_);
    cmd_fd_ = reply_fd_ = -1;
  }

  bool send(uint32_t cmd) { return write(cmd_fd_, &cmd, sizeof cmd) == sizeof cmd; }
  bool wait_reply(uint32_t cmd, int timeout_ms) {
    pollfd p{reply_fd_, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0) return false;
    uint32_t ack = 0;
    return read(reply_fd_, &ack, sizeof ack) == sizeof ack && ack == cmd;
  }
  bool command(uint32_t cmd, int timeout_ms) { return send(cmd) && wait_reply(cmd, timeout_ms); }

  bool m64_;
  std::string child32_;
  int shm_fd_ = -1;
  void* shm_ = nullptr;
  pid_t pid_ = -1;
  int cmd_fd_ = -1, reply_fd_ = -1;
  bool sent_ = false;
};

uint64_t hash_seed(uint64_t seed, const std::string& name, bool m64) {
  uint64_t h = seed ^ (m64 ? 0x6464646464646464ull : 0x3232323232323232ull);
  for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 0x100000001B3ull;
  return h;
}

std::string hex_bytes(const CaseIn& in) {
  std::string s;
  for (unsigned i = 0; i < in.len; ++i) s += fmt::format("{}{:02x}", i ? " " : "", in.code[i]);
  return s;
}

// The kind of a mismatch: the fields that differ; for exceptions, the vectors and
// error codes without the fault addresses.
std::string mismatch_kind(const std::string& d) {
  std::string k;
  size_t p = 0;
  while (p < d.size()) {
    size_t q = d.find("; ", p);
    if (q == std::string::npos) q = d.size();
    std::string item = d.substr(p, q - p);
    std::string name = item.substr(0, item.find(' '));
    static const std::set<std::string> kRegs = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
                                                "r10", "r11", "r12", "r13", "r14", "r15", "eax", "ecx", "edx", "ebx",
                                                "esp", "ebp", "esi", "edi"};
    if (kRegs.count(name)) name = "gpr";
    else if (name.rfind("st", 0) == 0 && name.size() == 3) name = "st";
    else if (name.rfind("xmm", 0) == 0) name = "xmm";
    if (name == "exception" || name == "outcome") {
      std::string t;
      bool skip = false;
      for (char ch : item) {
        if (ch == '@') skip = true;
        else if (ch == ' ') skip = false;
        if (!skip) t += ch;
      }
      name = t;
    }
    k += name + ",";
    p = q + 2;
  }
  return k;
}

struct Totals {
  uint64_t cases = 0, mismatches = 0;
};

// The transcendentals are compared to one ulp (and without C1, exclusions.txt): how
// many of their matching cases are bit-exact, and how many only within the tolerance.
struct UlpTally {
  uint64_t cases = 0, exact = 0, one_ulp = 0, c1_only = 0;
};

// True when a compare_outcomes() report names an x87 register (st0..st7).
bool names_st_register(const std::string& d) {
  size_t p = 0;
  while (p < d.size()) {
    if (d.compare(p, 2, "st") == 0 && p + 3 < d.size() && d[p + 2] >= '0' && d[p + 2] <= '7' && d[p + 3] == ' ')
      return true;
    p = d.find("; ", p);
    if (p == std::string::npos) break;
    p += 2;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "difftest: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed") opt.seed = std::stoull(next(), nullptr, 0);
    else if (a == "--cases-per-form") opt.int_cases = opt.fp_cases = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--only") opt.only = next();
    else if (a == "--mode") {
      std::string m = next();
      opt.m32 = m == "32" || m == "both";
      opt.m64 = m == "64" || m == "both";
      if (!opt.m32 && !opt.m64) {
        std::fprintf(stderr, "difftest: --mode takes 32, 64 or both\n");
        return 2;
      }
    } else if (a == "--family") {
      std::string f = next();
      opt.run_int = f == "int" || f == "all";
      opt.run_fp = f == "fp" || f == "all";
      if (!opt.run_int && !opt.run_fp) {
        std::fprintf(stderr, "difftest: --family takes int, fp or all\n");
        return 2;
      }
    } else if (a == "--jit") {
      std::string j = next();
      opt.jit = j == "off" ? 0 : j == "on" ? 1 : j == "verify" ? 2 : -1;
      if (opt.jit < 0) {
        std::fprintf(stderr, "difftest: --jit takes off, on or verify\n");
        return 2;
      }
    } else if (a == "--verbose" || a == "-v") opt.verbose = true;
    else if (a == "--lists") opt.list_dir = next();
    else if (a == "--child32") opt.child32 = next();
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "difftest: unknown option %s\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (opt.child32.empty()) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv[0]);
    opt.child32 = self.substr(0, self.rfind('/') + 1) + "difftest-child32";
  }
  std::set<std::string> only;
  if (!opt.only.empty()) {
    std::stringstream ss(opt.only);
    std::string id;
    while (std::getline(ss, id, ','))
      if (!id.empty()) {
        if (!find_form(id)) {
          std::fprintf(stderr, "difftest: %s is not a form of the instruction table\n", id.c_str());
          return 2;
        }
        only.insert(id);
      }
  }
  List skip, excl;
  std::string err;
  if (!load_list(opt.list_dir + "/skip.txt", skip, err) || !load_list(opt.list_dir + "/exclusions.txt", excl, err)) {
    std::fprintf(stderr, "difftest: %s\n", err.c_str());
    return 2;
  }

  const auto t0 = std::chrono::steady_clock::now();
  // Native runners first (the 64-bit one is forked before the Kestrel machines exist).
  std::unique_ptr<NativeRunner> nat[2];  // [0] 32-bit, [1] 64-bit
  std::unique_ptr<KestrelRunner> kes[2];
  HostInfo host[2];
  for (int m = 0; m < 2; ++m) {
    if (m == 0 ? !opt.m32 : !opt.m64) continue;
    nat[m] = std::make_unique<NativeRunner>(m == 1, opt.child32);
    if (!nat[m]->init(err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 2;
    }
    std::memcpy(host[m].sel, nat[m]->header().host_sel, sizeof host[m].sel);
  }
  for (int m = 0; m < 2; ++m) {
    if (!nat[m]) continue;
    kes[m] = std::make_unique<KestrelRunner>(m == 1, nat[m]->header(), opt.jit);
    if (!kes[m]->init(err)) {
      std::fprintf(stderr, "%s\n", err.c_str());
      return 2;
    }
  }

  const std::vector<Form>& forms = all_forms();
  // FP cases per form: the default total spread over the FP forms the model runs.
  unsigned fp_forms_active = 0;
  for (const Form& f : forms)
    if (f.family != Family::Int)
      for (int m = 0; m < 2; ++m)
        if (kes[m] && kes[m]->model().has(f.feature) && !listed(skip, f.name, m == 1) && !listed(excl, f.name, m == 1))
          ++fp_forms_active;
  unsigned fp_per_form = opt.fp_cases ? opt.fp_cases
                                      : std::max(500u, fp_forms_active ? (opt.fp_total + fp_forms_active - 1) / fp_forms_active : 500u);

  Totals tot_int[2], tot_fp[2];
  std::map<std::string, UlpTally> ulp_tally;  // by mnemonic, both modes
  uint64_t outcomes[2][34] = {};  // host outcomes by vector (32: others, 33: no exception status)
  unsigned not_in_model = 0, no_encoding = 0;
  std::vector<std::string> not_in_model_names;
  std::vector<GenCase> batch(kBatchMax);
  std::vector<CaseOut> kouts(kBatchMax);
  unsigned failing_forms = 0;

  for (const Form& f : forms) {
    if (!only.empty() && !only.count(f.name)) continue;
    if (!(f.family == Family::Int ? opt.run_int : opt.run_fp)) continue;
    for (int m = 1; m >= 0; --m) {
      if (!kes[m]) continue;
      const bool m64 = m == 1;
      if (listed(skip, f.name, m64) || listed(excl, f.name, m64)) continue;
      if (!kes[m]->model().has(f.feature)) {
        ++not_in_model;
        if (not_in_model_names.size() < 8 &&
            std::find(not_in_model_names.begin(), not_in_model_names.end(), f.name) == not_in_model_names.end())
          not_in_model_names.push_back(f.name);
        continue;
      }
      const bool fp = f.family != Family::Int;
      const unsigned want = fp ? fp_per_form : opt.int_cases;
      Generator gen(f, m64, host[m], hash_seed(opt.seed, f.name, m64));
      NativeRunner& nr = *nat[m];
      KestrelRunner& kr = *kes[m];
      unsigned done = 0, bad = 0;
      std::string first;
      std::vector<std::string> extra;
      // Mismatch kinds (which fields differ, and how the exceptions do), with the first example of each.
      std::map<std::string, std::pair<unsigned, std::string>> kinds;
      bool encodable = true;
      while (done < want && encodable) {
        const uint32_t n = std::min<uint32_t>(kBatchMax, want - done);
        CaseIn* in = nr.cases();
        uint32_t made = 0;
        for (; made < n; ++made) {
          if (!gen.generate(batch[made])) {
            encodable = false;
            break;
          }
          std::memcpy(&in[made], &batch[made].in, sizeof(CaseIn));
        }
        if (made == 0) break;
        // The host runs the batch while Kestrel does.
        nr.begin(made);
        for (uint32_t i = 0; i < made; ++i) kr.run(batch[i].in, kouts[i]);
        nr.finish();
        const CaseOut* res = nr.results();
        for (uint32_t i = 0; i < made; ++i) {
          const CaseOut& kout = kouts[i];
          ++outcomes[m][res[i].status == kStatusException ? std::min<uint32_t>(res[i].vector, 32) : 33];
          std::string d = compare_outcomes(res[i], kout, batch[i].meta, m64);
          if (batch[i].meta.x87_ulp) {
            UlpTally& u = ulp_tally[f.mnemonic];
            ++u.cases;
            if (d.empty()) {
              Meta strict = batch[i].meta;
              strict.x87_ulp = false;
              const std::string sd = compare_outcomes(res[i], kout, strict, m64);
              if (sd.empty()) ++u.exact;
              else if (names_st_register(sd)) ++u.one_ulp;
              else ++u.c1_only;
            }
          }
          if (d.empty()) continue;
          ++bad;
          const CaseIn& ci = batch[i].in;
          std::string dis = kr.decoder().disassemble(kr.mode(), ci.code, ci.len, kCodePage + ci.code_off);
          std::string line = fmt::format("[{}] {} ({}) at {:#x}: {}", m64 ? 64 : 32, hex_bytes(ci), dis,
                                         kCodePage + ci.code_off, d);
          auto& kind = kinds[mismatch_kind(d)];
          if (kind.first++ == 0) {
            kind.second = line;
            if (opt.verbose)
              kind.second += "\n        in:      " + describe_input(ci, m64) + "\n        host:    " +
                             describe_outcome(res[i], m64, fp) + "\n        kestrel: " + describe_outcome(kout, m64, fp);
          }
          if (first.empty()) {
            first = line;
            if (opt.verbose) {
              extra.push_back("    in:      " + describe_input(ci, m64));
              extra.push_back("    host:    " + describe_outcome(res[i], m64, fp));
              extra.push_back("    kestrel: " + describe_outcome(kout, m64, fp));
            }
          }
        }
        done += made;
      }
      if (done == 0 && !encodable) {
        ++no_encoding;
        continue;
      }
      Totals& t = fp ? tot_fp[m] : tot_int[m];
      t.cases += done;
      t.mismatches += bad;
      if (bad) {
        ++failing_forms;
        std::printf("MISMATCH %s [%d]: %u of %u cases (%zu kinds); first: %s\n", f.name.c_str(), m64 ? 64 : 32, bad,
                    done, kinds.size(), first.c_str());
        for (const std::string& e : extra) std::printf("%s\n", e.c_str());
        if (opt.verbose && kinds.size() > 1)
          for (const auto& [k, v] : kinds)
            if (v.second.compare(0, first.size(), first) != 0)
              std::printf("    kind (%u cases): %s\n", v.first, v.second.c_str());
        std::fflush(stdout);
      }
    }
  }

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  unsigned crashes = (nat[0] ? nat[0]->crashes : 0) + (nat[1] ? nat[1]->crashes : 0);
  std::string names_in_model_note;
  for (const std::string& n : not_in_model_names) names_in_model_note += (names_in_model_note.empty() ? "" : ", ") + n;
  names_in_model_note += not_in_model_names.size() >= 8 ? ", ...)" : ")";
  std::printf("difftest: %u form/mode pairs with mismatches; %u form/mode pairs not in the CPU model%s%s; %zu forms "
              "skipped, %zu excluded (lists in %s); %.1f s\n",
              failing_forms, not_in_model, not_in_model ? " (e.g. " : "",
              not_in_model ? names_in_model_note.c_str() : "",
              skip.size(), excl.size(), opt.list_dir.c_str(), secs);
  if (no_encoding) std::printf("difftest: %u form/mode pairs have no encoding in that mode (A64/ANo64 rows)\n", no_encoding);
  if (crashes) std::printf("difftest: %u cases crashed or hung the native runner (counted as mismatches)\n", crashes);
  for (int m = 1; m >= 0; --m)
    if (kes[m])
      std::printf("difftest: %d-bit: integer %llu cases, %llu mismatches; fp %llu cases, %llu mismatches\n", m ? 64 : 32,
                  static_cast<unsigned long long>(tot_int[m].cases), static_cast<unsigned long long>(tot_int[m].mismatches),
                  static_cast<unsigned long long>(tot_fp[m].cases), static_cast<unsigned long long>(tot_fp[m].mismatches));
  if (opt.verbose)
    for (int m = 1; m >= 0; --m) {
      if (!kes[m]) continue;
      std::string h;
      for (unsigned v = 0; v < 34; ++v)
        if (outcomes[m][v])
          h += fmt::format(" {}={}", v == 3 ? "int3" : v == 32 ? "other" : v == 33 ? "crash" : fmt::format("v{}", v),
                           outcomes[m][v]);
      std::printf("difftest: %d-bit host outcomes:%s\n", m ? 64 : 32, h.c_str());
    }
  for (const auto& [mn, u] : ulp_tally)
    std::printf("difftest: %-8s %llu cases: %llu bit-exact (%.2f%%), %llu one ulp apart, %llu C1 only (tolerated: "
                "SDM Vol. 1 §8.3.10)\n",
                mn.c_str(), static_cast<unsigned long long>(u.cases), static_cast<unsigned long long>(u.exact),
                u.cases ? 100.0 * static_cast<double>(u.exact) / static_cast<double>(u.cases) : 0.0,
                static_cast<unsigned long long>(u.one_ulp), static_cast<unsigned long long>(u.c1_only));
  if (opt.jit) {
    // The JIT must really have run the cases: count the blocks run in host code.
    uint64_t native = 0, interpreted = 0, verified = 0;
    for (int m = 0; m < 2; ++m)
      if (kes[m]) {
        native += kes[m]->stats().native_runs;
        interpreted += kes[m]->stats().interpreted_runs;
        verified += kes[m]->stats().verified_runs;
      }
    std::printf("difftest: --jit %s: %llu block runs in host code (%llu verified), %llu interpreted\n",
                opt.jit == 2 ? "verify" : "on", static_cast<unsigned long long>(native),
                static_cast<unsigned long long>(verified), static_cast<unsigned long long>(interpreted));
    if (native == 0) {
      std::printf("difftest: --jit: no block ran in host code\n");
      return 1;
    }
  }
  const uint64_t ic = tot_int[0].cases + tot_int[1].cases, im = tot_int[0].mismatches + tot_int[1].mismatches;
  const uint64_t fc = tot_fp[0].cases + tot_fp[1].cases, fm = tot_fp[0].mismatches + tot_fp[1].mismatches;
  std::printf("difftest-int: %llu cases, %llu mismatches\n", static_cast<unsigned long long>(ic),
              static_cast<unsigned long long>(im));
  std::printf("difftest-fp: %llu cases, %llu mismatches\n", static_cast<unsigned long long>(fc),
              static_cast<unsigned long long>(fm));
  return (im || fm) ? 1 : 0;
}
