#include "cli/host_serial.h"

#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "cli/host_keyboard.h"
#include "machine/devices/uart16550.h"

namespace kestrel::cli {

namespace {

// The terminal's state before raw mode. This is process-wide on purpose (the one
// exception to "nothing global"): signal handlers and atexit() must reach it to
// give the user their terminal back however the process ends.
struct termios g_saved_termios;
volatile sig_atomic_t g_terminal_raw = 0;

void restore_saved_terminal() {
  if (g_terminal_raw) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);  // async-signal-safe
    g_terminal_raw = 0;
  }
}

// Fatal and terminating signals: put the terminal back, then die of the same signal
// (the handler was installed with SA_RESETHAND, so raise() takes the default action).
void on_signal(int sig) {
  restore_saved_terminal();
  raise(sig);
}

void install_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::atexit(restore_saved_terminal);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
    sigaction(sig, &sa, nullptr);
}

constexpr uint8_t kCtrlA = 0x01;
// A pipe or file is fed while the guest has drained most of what it got.
constexpr size_t kLowWater = 4096;
constexpr size_t kChunk = 4096;

}  // namespace

HostSerial::HostSerial(machine::Machine& m, machine::Uart16550* uart) : m_(m), uart_(uart) {}

HostSerial::~HostSerial() {
  restore_terminal();
  if (out_file_) std::fclose(out_file_);
}

void HostSerial::restore_terminal() {
  if (raw_) {
    std::fflush(stdout);
    restore_saved_terminal();
    raw_ = false;
  }
}

bool HostSerial::open(const Options& opt, std::string& error) {
  if (!uart_) return true;
  switch (opt.serial) {
    case SerialMode::None:
      uart_->set_output_hook([](uint8_t) {});
      break;
    case SerialMode::File: {
      out_file_ = std::fopen(opt.serial_path.c_str(), "w");
      if (!out_file_) {
        error = fmt::format("--serial: cannot create '{}': {}", opt.serial_path, std::strerror(errno));
        return false;
      }
      std::FILE* f = out_file_;
      uart_->set_output_hook([f](uint8_t v) {
        std::fputc(v, f);
        if (v == '\n') std::fflush(f);
      });
      break;
    }
    case SerialMode::Stdio:
      break;
  }
  if (opt.serial_input == SerialInput::None) return true;
  if (opt.serial != SerialMode::Stdio) {
    if (!kbd_) return true;
    to_keyboard_ = true;
  }
  if (!isatty(STDIN_FILENO)) {
    input_ = InputKind::Stream;
    return true;
  }
  if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return true;  // not usable as a terminal: no input
  install_handlers();
  // Raw input as QEMU's stdio backend sets it: no line editing, echo or signal keys
  // (Ctrl-C goes to the guest), 8-bit bytes; output processing stays on so a bare
  // "\n" from the guest still starts a new line.
  struct termios t = g_saved_termios;
  t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  t.c_oflag |= OPOST;
  t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
  t.c_cflag &= ~(CSIZE | PARENB);
  t.c_cflag |= CS8;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  g_terminal_raw = 1;
  if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0) {
    g_terminal_raw = 0;
    return true;
  }
  raw_ = true;
  input_ = InputKind::Terminal;
  return true;
}

bool HostSerial::idle_wait(uint64_t max_ns) {
  const bool more = pump(max_ns);
  if (idle_hook_) idle_hook_();
  return more;
}

void HostSerial::deliver(std::string_view bytes) {
  if (to_keyboard_) kbd_->type(bytes);
  else uart_->push_input(bytes);
}

size_t HostSerial::input_backlog() const {
  // A key is about six events (make and break, maybe with Shift or Ctrl).
  return to_keyboard_ ? kbd_->pending() * (kLowWater / 64) : uart_->input_pending();
}

bool HostSerial::pump(uint64_t max_ns) {
  const bool stream_full = input_ == InputKind::Stream && input_backlog() >= kLowWater;
  if (input_ == InputKind::None || stream_full) {
    if (max_ns) {
      timespec ts{static_cast<time_t>(max_ns / 1'000'000'000), static_cast<long>(max_ns % 1'000'000'000)};
      nanosleep(&ts, nullptr);
    }
    return input_ != InputKind::None;
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  timespec ts{static_cast<time_t>(max_ns / 1'000'000'000), static_cast<long>(max_ns % 1'000'000'000)};
  const int r = ::ppoll(&p, 1, &ts, nullptr);
  if (r < 0) {
    if (errno != EINTR) input_ = InputKind::None;
    return input_ != InputKind::None;
  }
  if (r == 0) return true;
  if ((p.revents & POLLNVAL) || ((p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLIN))) {
    input_ = InputKind::None;  // stdin closed or gone
    return false;
  }
  char buf[kChunk];
  const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n > 0) {
    if (input_ == InputKind::Terminal) terminal_bytes(buf, static_cast<size_t>(n));
    else deliver(std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    input_ = InputKind::None;  // end of file or error
    return false;
  }
  return true;
}

void HostSerial::terminal_bytes(const char* p, size_t n) {
  std::string keys;
  for (size_t i = 0; i < n; ++i) {
    const auto ch = static_cast<uint8_t>(p[i]);
    if (!escape_) {
      if (ch == kCtrlA) escape_ = true;
      else keys.push_back(static_cast<char>(ch));
      continue;
    }
    escape_ = false;
    switch (ch) {
      case 'x':
      case 'X':
        quit_ = true;
        m_.request_stop(0, "quit (Ctrl-A X)");
        break;
      case 'h':
      case 'H':
      case '?':
        print_help();
        break;
      case kCtrlA:
        keys.push_back(static_cast<char>(kCtrlA));
        break;
      default:
        break;  // an unknown escape is dropped
    }
  }
  if (!keys.empty()) deliver(keys);
}

void HostSerial::print_help() {
  // Output processing stays on in raw mode, so "\n" still starts a new line.
  std::fflush(stdout);
  fmt::print(stderr,
             "\nkestrel: {} keys (Ctrl-A is the escape key):\n"
             "  Ctrl-A X       quit (exit status 0)\n"
             "  Ctrl-A H       this help\n"
             "  Ctrl-A Ctrl-A  send Ctrl-A to the guest\n",
             to_keyboard_ ? "PS/2 keyboard" : "serial console");
}

}  // namespace kestrel::cli
