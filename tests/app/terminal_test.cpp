#include "edgecap/terminal.h"

#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

namespace edgecap {
namespace {

using std::chrono::milliseconds;

class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe(fds_), 0); }
  ~Pipe() {
    close_write();
    ::close(fds_[0]);
  }
  int read_end() const { return fds_[0]; }
  void write(const std::string& s) { ASSERT_EQ(::write(fds_[1], s.data(), s.size()), ssize_t(s.size())); }
  void close_write() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

class Pty {
 public:
  Pty() { EXPECT_EQ(::openpty(&master_, &slave_, nullptr, nullptr, nullptr), 0); }
  ~Pty() {
    ::close(slave_);
    ::close(master_);
  }
  int slave() const { return slave_; }
  tcflag_t lflag() const {
    struct termios t {};
    ::tcgetattr(slave_, &t);
    return t.c_lflag;
  }

 private:
  int master_ = -1, slave_ = -1;
};

TEST(TerminalTest, PipedBytesAreKeysAndNewlinesAreSkipped) {
  Pipe pipe;
  pipe.write("s\nQ\n");
  pipe.close_write();
  Terminal terminal(pipe.read_end());
  EXPECT_FALSE(terminal.is_tty());
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), 's');
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), 'Q');
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), kKeyEof);
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), kKeyEof);
}

TEST(TerminalTest, NothingTypedTimesOut) {
  Pipe pipe;
  Terminal terminal(pipe.read_end());
  EXPECT_EQ(terminal.read_key(milliseconds(20)), kKeyNone);
  pipe.write("p");
  EXPECT_EQ(terminal.read_key(milliseconds(0)), 'p');
}

TEST(TerminalTest, KeysAndLinesShareOneBuffer) {
  Pipe pipe;
  pipe.write("m\n1\n 4 \r\nlast");
  pipe.close_write();
  Terminal terminal(pipe.read_end());
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), 'm');
  EXPECT_EQ(terminal.read_line(), std::optional<std::string>("1"));  // the newline after m is not an answer
  EXPECT_EQ(terminal.read_line(), std::optional<std::string>(" 4 "));
  EXPECT_EQ(terminal.read_line(), std::optional<std::string>("last"));
  EXPECT_EQ(terminal.read_line(), std::nullopt);
}

TEST(TerminalTest, ArrowKeysAreNotEsc) {
  Pipe pipe;
  pipe.write("\033[A");
  Terminal terminal(pipe.read_end());
  EXPECT_EQ(terminal.read_key(milliseconds(50)), kKeyNone);
  pipe.write("\033");
  EXPECT_EQ(terminal.read_key(milliseconds(1000)), 27);
}

TEST(TerminalTest, RawModeIsRestoredByTheDestructor) {
  Pty pty;
  ASSERT_TRUE(pty.lflag() & ICANON);
  {
    Terminal terminal(pty.slave());
    ASSERT_TRUE(terminal.is_tty());
    terminal.set_raw(true);
    EXPECT_FALSE(pty.lflag() & ICANON);
    EXPECT_FALSE(pty.lflag() & ECHO);
    EXPECT_TRUE(pty.lflag() & ISIG);  // Ctrl-C must still raise SIGINT
    terminal.set_raw(false);
    EXPECT_TRUE(pty.lflag() & ICANON);
    terminal.set_raw(true);
  }
  EXPECT_TRUE(pty.lflag() & ICANON);
  EXPECT_TRUE(pty.lflag() & ECHO);
}

TEST(TerminalTest, TerminatingSignalRestoresAndInterruptsTheRead) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    Pty pty;
    Terminal terminal(pty.slave());
    terminal.set_raw(true);
    ASSERT_FALSE(pty.lflag() & ICANON);
    ::raise(sig);
    EXPECT_EQ(Terminal::pending_signal(), sig);
    EXPECT_TRUE(pty.lflag() & ICANON) << "signal " << sig;
    EXPECT_TRUE(pty.lflag() & ECHO);
    EXPECT_EQ(terminal.read_key(milliseconds(5000)), kKeyInterrupted);
    EXPECT_EQ(terminal.read_line(), std::nullopt);
    Terminal::clear_signal_for_tests();
  }
}

TEST(TerminalTest, WindowChangeIsReportedOnce) {
  Pipe pipe;
  Terminal terminal(pipe.read_end());
  EXPECT_FALSE(terminal.resized());
  ::raise(SIGWINCH);
  EXPECT_EQ(terminal.read_key(milliseconds(10)), kKeyNone);  // wakes, but is not a key
  EXPECT_TRUE(terminal.resized());
  EXPECT_FALSE(terminal.resized());
  EXPECT_EQ(Terminal::pending_signal(), 0);
}

TEST(TerminalDeathTest, ExitWithoutTheDestructorStillRestores) {
  Pty pty;
  EXPECT_EXIT(
      {
        auto* leaked = new Terminal(pty.slave());  // never destroyed: only the atexit hook can restore
        leaked->set_raw(true);
        std::exit(pty.lflag() & ICANON ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_TRUE(pty.lflag() & ICANON);
  EXPECT_TRUE(pty.lflag() & ECHO);
}

TEST(TerminalTest, OnlyOneAtATime) {
  Pipe pipe;
  Terminal first(pipe.read_end());
  EXPECT_THROW(Terminal second(pipe.read_end()), std::logic_error);
}

}  // namespace
}  // namespace edgecap
