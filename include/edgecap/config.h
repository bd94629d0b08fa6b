#pragma once
// The one configuration struct. Every default lives on its member; parse_args() is the only place that
// reads argv, and usage() prints these defaults.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgecap/precision.h"

namespace edgecap {

enum class Command { kRun, kCaption, kBench };
enum class WindowMode { kAuto, kOn, kOff };

struct Config {
  Command command = Command::kRun;

  // Model and precision: empty/nullopt means "ask in the start-up menu".
  std::string model;                           // "original", "pruned", or a path to a .pt file
  std::optional<Precision> precision;          // --precision fp32|fp16|bf16|int8
  Device device = Device::kCPU;                // --device cpu|cuda
  std::string models_dir = "models";           // where the original model lives
  std::string pruned_dir = "pruning_results";  // where the pruned model lives
  int beam = 1;                                // --beam K (1 = greedy)
  int threads = 0;                             // --threads N; 0 = default_thread_count()

  // Frames.
  std::string source = "0";               // camera index, video file, image file, image folder, or "demo"
  bool loop = true;                       // --no-loop: stop at the end of a video/folder instead of rewinding
  WindowMode window = WindowMode::kAuto;  // --window / --no-window; auto = when $DISPLAY is usable

  // Speech.
  bool speech = true;         // --no-speech
  std::string wav_path;       // --wav FILE: also write every spoken caption to this WAV file
  int speech_rate_wpm = 165;  // --rate WPM (espeak-ng words per minute)
  std::string voice = "en";   // --voice NAME

  // Auto-caption: 0 = off until toggled with A; otherwise every N seconds or on scene change.
  double auto_interval_s = 3.0;          // --auto-interval S (used when auto-caption is on)
  bool auto_caption = false;             // --auto
  double scene_change_threshold = 12.0;  // --scene-threshold D: mean abs gray difference (0-255) = new scene

  // One-shot caption mode: edgecap caption [opts] IMAGE...
  std::vector<std::string> inputs;
  bool json = false;  // --json

  // Bench mode: edgecap bench [opts]
  std::string bench_out;      // --out DIR (reports: .md .json .csv .png)
  int bench_warmup = 3;       // --warmup N
  int bench_iterations = 30;  // --iterations N (per variant)
  std::string bench_images;   // --images DIR|VIDEO (default: shipped sample scenes)

  bool show_help = false;
  bool show_version = false;
  bool verbose = false;  // -v
};

// Parses argv. Throws UsageError with a message that names the bad flag and the accepted values.
Config parse_args(int argc, const char* const* argv);
// Help text with every default, for `edgecap --help`.
std::string usage();
std::string_view to_string(Command command);  // "run", "caption", "bench"
std::string_view to_string(WindowMode mode);  // "auto", "on", "off"

}  // namespace edgecap
