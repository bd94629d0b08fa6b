#pragma once
// Error policy (see README "Errors and exit codes"):
//  - Set-up failures (bad flags, a model that cannot be loaded or breaks the contract, a source that cannot
//    be opened) throw an edgecap::Error subclass whose message tells the user what to do next.
//  - Per-frame conditions (end of stream, a camera timeout, an unreadable image in a folder, no audio
//    device) are status values or logged warnings; the app keeps running.
//  - main() maps each Error subclass to its own exit code; anything else is an internal error (exit 1).
#include <stdexcept>
#include <string>

namespace edgecap {

enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug: an exception that is not an edgecap::Error
  kUsage = 2,        // bad command line or menu input that cannot be recovered (EOF on stdin counts as quit)
  kModel = 3,        // model file missing, corrupt, or breaking the contract
  kSource = 4,       // frame source cannot be opened
  kAudio = 5,        // audio was required (--wav FILE unwritable) and failed
  kBench = 6,        // benchmark could not run or write its report
  kInterrupted = 130 // SIGINT/SIGTERM/SIGHUP
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::kUsage, m) {}
};
struct ModelError : Error {
  explicit ModelError(const std::string& m) : Error(ExitCode::kModel, m) {}
};
struct SourceError : Error {
  explicit SourceError(const std::string& m) : Error(ExitCode::kSource, m) {}
};
struct AudioError : Error {
  explicit AudioError(const std::string& m) : Error(ExitCode::kAudio, m) {}
};
struct BenchError : Error {
  explicit BenchError(const std::string& m) : Error(ExitCode::kBench, m) {}
};

}  // namespace edgecap
