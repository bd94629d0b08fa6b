#pragma once
// The controlling terminal: raw (non-canonical, no echo) key input while the live loop runs, line input
// for the menus, and a restore of the original settings on every exit path (destructor, SIGINT/SIGTERM/
// SIGHUP, std::exit). Works when stdin is a pipe or a file: bytes are keys, lines are menu answers, EOF
// means quit.
#include <chrono>
#include <optional>
#include <string>

namespace edgecap {

inline constexpr int kKeyNone = -1;         // nothing arrived within the timeout
inline constexpr int kKeyEof = -2;          // stdin closed
inline constexpr int kKeyInterrupted = -3;  // SIGINT/SIGTERM/SIGHUP arrived

class Terminal {
 public:
  // Installs the signal handlers; does not change the terminal until raw mode is asked for.
  explicit Terminal(int fd = 0);
  ~Terminal();  // restores the settings saved at construction
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  bool is_tty() const { return is_tty_; }
  void set_raw(bool raw);  // no-op when not a TTY; ISIG stays on so Ctrl-C still raises SIGINT
  bool raw() const { return raw_; }

  // One key, waiting at most `timeout`; kKeyNone, kKeyEof or kKeyInterrupted otherwise. Newlines of
  // piped input are skipped.
  int read_key(std::chrono::milliseconds timeout);
  // One line without its newline (blocks); nullopt on EOF or a terminating signal.
  std::optional<std::string> read_line();

  bool resized();               // SIGWINCH since the last call
  static int pending_signal();  // the terminating signal received, 0 if none
  static bool interrupted() { return pending_signal() != 0; }
  static void clear_signal_for_tests();  // unit tests raise signals on purpose

 private:
  int fill(std::chrono::milliseconds timeout);  // >0 bytes read, 0 timeout, kKeyEof, kKeyInterrupted
  int fd_;
  bool is_tty_ = false;
  bool raw_ = false;
  bool eof_ = false;
  std::string buffer_;  // bytes read but not consumed; shared by keys and lines so neither steals input
};

// Restores the terminal saved by the live Terminal (if any); async-signal-safe.
void restore_terminal() noexcept;

}  // namespace edgecap
