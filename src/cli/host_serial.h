// The host end of COM1 (--serial): where the guest's serial output goes and where
// its input comes from.
//
//   stdio      output to standard output. Input: a terminal is put in raw mode
//              (restored on every way out: normal exit, errors, fatal signals) and
//              each key goes to COM1 as typed, with Ctrl-A as the escape key
//              (Ctrl-A X quits, Ctrl-A H lists the keys, Ctrl-A Ctrl-A sends
//              Ctrl-A); a pipe or file is fed as the guest drains it, to its end.
//   file:PATH  output to PATH (replaced), no input.
//   none       output discarded, no input.
//
// Input reaches the UART between interpreter slices and, through the machine's
// IdleHandler, while the CPU is halted, so a key press wakes a waiting guest at once.
//
// When COM1 does not read standard input (--serial file:PATH or none) and the
// front end gave a keyboard (set_keyboard), standard input types on the PS/2
// keyboard instead, with the same raw terminal and Ctrl-A keys (host_keyboard.h);
// --serial-input none leaves standard input alone in every case.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "cli/options.h"
#include "machine/machine.h"

namespace kestrel::machine {
class Uart16550;
}

namespace kestrel::cli {

class HostKeyboard;

class HostSerial final : public machine::IdleHandler {
 public:
  HostSerial(machine::Machine& m, machine::Uart16550* uart);
  ~HostSerial() override;
  HostSerial(const HostSerial&) = delete;
  HostSerial& operator=(const HostSerial&) = delete;

  // Where standard input goes when COM1 does not take it; call before open().
  void set_keyboard(HostKeyboard* kbd) { kbd_ = kbd; }
  // Called after every wait for input while the CPU is halted (the display and
  // the keyboard's pacing follow guest time there too).
  void set_idle_hook(std::function<void()> hook) { idle_hook_ = std::move(hook); }
  // True when standard input types on the keyboard.
  bool input_to_keyboard() const { return to_keyboard_; }
  // Routes the UART's output and sets up input; false with a message on failure.
  bool open(const Options& opt, std::string& error);
  // Moves waiting host input to the UART without blocking (between slices).
  void service() { pump(0); }
  bool idle_wait(uint64_t max_ns) override;

  // Ctrl-A X was typed: the machine has been asked to stop.
  bool quit_requested() const { return quit_; }
  bool interactive() const { return raw_; }
  // Puts the terminal back as it was (also done by the destructor and on signals).
  void restore_terminal();

 private:
  enum class InputKind { None, Terminal, Stream };
  // Waits up to max_ns for input and hands it on; false when input has ended.
  bool pump(uint64_t max_ns);
  void terminal_bytes(const char* p, size_t n);
  void deliver(std::string_view bytes);
  size_t input_backlog() const;
  void print_help();

  machine::Machine& m_;
  machine::Uart16550* uart_;
  HostKeyboard* kbd_ = nullptr;
  bool to_keyboard_ = false;
  std::function<void()> idle_hook_;
  InputKind input_ = InputKind::None;
  bool raw_ = false;
  bool escape_ = false;
  bool quit_ = false;
  std::FILE* out_file_ = nullptr;
};

}  // namespace kestrel::cli
