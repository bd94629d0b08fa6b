#include "edgecap/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

namespace edgecap {
namespace {

// Signal handlers can only reach globals. Everything here is written before the handlers are installed
// or is a lock-free atomic, so the handlers stay async-signal-safe.
struct termios g_saved {};
int g_fd = -1;
std::atomic<bool> g_raw_active{false};
std::atomic<int> g_signal{0};
std::atomic<bool> g_winch{false};
int g_pipe[2] = {-1, -1};
std::atomic<bool> g_terminal_alive{false};
struct sigaction g_old_actions[4];
constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

void wake_loop() noexcept {
  if (g_pipe[1] >= 0) {
    const char byte = 'x';
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
  }
}

extern "C" void on_terminating_signal(int sig) {
  const int saved_errno = errno;
  restore_terminal();
  if (g_signal.load() != 0) {
    // A second signal means the clean shutdown is stuck: let the default action end the process.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
  g_signal.store(sig);
  wake_loop();
  errno = saved_errno;
}

extern "C" void on_window_change(int) {
  const int saved_errno = errno;
  g_winch.store(true);
  wake_loop();
  errno = saved_errno;
}

void make_self_pipe() {
  if (g_pipe[0] >= 0) return;
  if (::pipe(g_pipe) != 0) throw std::runtime_error("cannot create the signal pipe");
  for (int fd : g_pipe) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

void drain_pipe() {
  char sink[64];
  while (::read(g_pipe[0], sink, sizeof sink) > 0) {
  }
}

}  // namespace

void restore_terminal() noexcept {
  if (g_raw_active.exchange(false)) ::tcsetattr(g_fd, TCSANOW, &g_saved);
}

Terminal::Terminal(int fd) : fd_(fd) {
  if (g_terminal_alive.exchange(true))
    throw std::logic_error("only one edgecap::Terminal may exist at a time");
  make_self_pipe();
  drain_pipe();
  is_tty_ = ::isatty(fd_) == 1;
  if (is_tty_ && ::tcgetattr(fd_, &g_saved) != 0) is_tty_ = false;
  g_fd = fd_;
  static const bool registered = [] { return std::atexit([] { restore_terminal(); }) == 0; }();
  (void)registered;
  for (int i = 0; i < 4; ++i) {
    struct sigaction action {};
    action.sa_handler = kSignals[i] == SIGWINCH ? on_window_change : on_terminating_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocking read must return so the loop can see the signal
    ::sigaction(kSignals[i], &action, &g_old_actions[i]);
  }
}

Terminal::~Terminal() {
  restore_terminal();
  for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &g_old_actions[i], nullptr);
  g_terminal_alive.store(false);
}

void Terminal::set_raw(bool raw) {
  if (!is_tty_ || raw == raw_) {
    raw_ = raw && is_tty_;
    return;
  }
  if (raw) {
    struct termios t = g_saved;
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    // Mark active before switching, so a signal in between still restores.
    g_raw_active.store(true);
    ::tcsetattr(fd_, TCSANOW, &t);
  } else {
    restore_terminal();
  }
  raw_ = raw;
}

int Terminal::fill(std::chrono::milliseconds timeout) {
  if (g_signal.load() != 0) return kKeyInterrupted;
  if (eof_) return kKeyEof;
  struct pollfd fds[2] = {{fd_, POLLIN, 0}, {g_pipe[0], POLLIN, 0}};
  const int rc = ::poll(fds, 2, timeout.count() < 0 ? -1 : int(timeout.count()));
  if (g_signal.load() != 0) return kKeyInterrupted;
  if (rc < 0) return 0;  // EINTR from SIGWINCH: the caller re-checks
  if (fds[1].revents & POLLIN) drain_pipe();
  if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    char chunk[256];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, std::size_t(n));
      return int(n);
    }
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      eof_ = true;
      return kKeyEof;
    }
  }
  return 0;
}

int Terminal::read_key(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (!buffer_.empty()) {
      const unsigned char c = static_cast<unsigned char>(buffer_.front());
      buffer_.erase(0, 1);
      if (c == '\n' || c == '\r') continue;
      if (c == 27 && !buffer_.empty() && (buffer_.front() == '[' || buffer_.front() == 'O')) {
        // An arrow or function key: an escape sequence, not the Esc key. Drop it.
        buffer_.clear();
        continue;
      }
      // Piped keys come one per line; the line end belongs to the key, not to a menu answer that follows.
      if (!buffer_.empty() && buffer_.front() == '\r') buffer_.erase(0, 1);
      if (!buffer_.empty() && buffer_.front() == '\n') buffer_.erase(0, 1);
      return c;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return kKeyNone;
    const int got = fill(left);
    if (got == kKeyEof || got == kKeyInterrupted) return got;
    if (got == 0 && std::chrono::steady_clock::now() >= deadline) return kKeyNone;
  }
}

std::optional<std::string> Terminal::read_line() {
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    const int got = fill(std::chrono::milliseconds(-1));
    if (got == kKeyInterrupted) return std::nullopt;
    if (got == kKeyEof) {
      if (buffer_.empty()) return std::nullopt;
      std::string line;
      line.swap(buffer_);
      return line;
    }
  }
}

bool Terminal::resized() { return g_winch.exchange(false); }

int Terminal::pending_signal() { return g_signal.load(); }

void Terminal::clear_signal_for_tests() {
  g_signal.store(0);
  g_winch.store(false);
}

}  // namespace edgecap
