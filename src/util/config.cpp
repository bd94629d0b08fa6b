#include "edgecap/config.h"

#include <fmt/format.h>

#include <sys/stat.h>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "edgecap/error.h"

namespace edgecap {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

long parse_integer(const std::string& flag, const std::string& text, long min, long max,
                   const std::string& accepted) {
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || value < min || value > max) {
    throw UsageError(fmt::format("{}: '{}' is not valid; expected {}", flag, text, accepted));
  }
  return value;
}

double parse_real(const std::string& flag, const std::string& text, double min, double max,
                  const std::string& accepted) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value) ||
      value < min || value > max) {
    throw UsageError(fmt::format("{}: '{}' is not valid; expected {}", flag, text, accepted));
  }
  return value;
}

std::string non_empty(const std::string& flag, const std::string& text, const std::string& what) {
  if (text.empty()) throw UsageError(fmt::format("{}: needs {}", flag, what));
  return text;
}

// A flag either takes a value (`--flag value` or `--flag=value`) or is a switch; one table so that the
// parser, the "unknown flag" hint and the value checks cannot drift apart.
struct FlagSpec {
  bool takes_value;
  std::function<void(Config&, const std::string& flag, const std::string& value)> apply;
};

const std::map<std::string, FlagSpec>& flag_table() {
  static const std::map<std::string, FlagSpec> table = {
      {"--model",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          if (v != "original" && v != "pruned" && !is_regular_file(v)) {
            throw UsageError(fmt::format(
                "{}: '{}' is neither 'original', 'pruned' nor an existing model file (.pt)", f, v));
          }
          c.model = v;
        }}},
      {"--precision",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          const auto p = parse_precision(v);
          if (!p)
            throw UsageError(fmt::format("{}: '{}' is not valid; expected fp32, fp16, bf16 or int8", f, v));
          c.precision = *p;
        }}},
      {"--device",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          const auto d = parse_device(v);
          if (!d) throw UsageError(fmt::format("{}: '{}' is not valid; expected cpu or cuda", f, v));
          c.device = *d;
        }}},
      {"--source",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.source = non_empty(f, v, "a camera index, file, folder or 'demo'");
        }}},
      {"--beam",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.beam = int(parse_integer(f, v, 1, 32, "a beam width 1..32 (1 = greedy)"));
        }}},
      {"--threads",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.threads = int(parse_integer(f, v, 0, 256, "a thread count 0..256 (0 = automatic)"));
        }}},
      {"--no-speech", {false, [](Config& c, const std::string&, const std::string&) { c.speech = false; }}},
      {"--wav",
       {true, [](Config& c, const std::string& f,
                 const std::string& v) { c.wav_path = non_empty(f, v, "a file name to write the WAV to"); }}},
      {"--rate",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.speech_rate_wpm = int(parse_integer(f, v, 80, 450, "words per minute 80..450"));
        }}},
      {"--voice",
       {true, [](Config& c, const std::string& f,
                 const std::string& v) { c.voice = non_empty(f, v, "an espeak-ng voice name, e.g. en"); }}},
      {"--window",
       {false, [](Config& c, const std::string&, const std::string&) { c.window = WindowMode::kOn; }}},
      {"--no-window",
       {false, [](Config& c, const std::string&, const std::string&) { c.window = WindowMode::kOff; }}},
      {"--auto", {false, [](Config& c, const std::string&, const std::string&) { c.auto_caption = true; }}},
      {"--auto-interval",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.auto_interval_s = parse_real(f, v, 0.1, 3600.0, "seconds 0.1..3600");
        }}},
      {"--scene-threshold",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.scene_change_threshold = parse_real(f, v, 0.0, 255.0, "a mean grey-level difference 0..255");
        }}},
      {"--no-loop", {false, [](Config& c, const std::string&, const std::string&) { c.loop = false; }}},
      {"--json", {false, [](Config& c, const std::string&, const std::string&) { c.json = true; }}},
      {"--models-dir",
       {true, [](Config& c, const std::string& f,
                 const std::string& v) { c.models_dir = non_empty(f, v, "a directory"); }}},
      {"--pruned-dir",
       {true, [](Config& c, const std::string& f,
                 const std::string& v) { c.pruned_dir = non_empty(f, v, "a directory"); }}},
      {"--out",
       {true, [](Config& c, const std::string& f,
                 const std::string& v) { c.bench_out = non_empty(f, v, "a directory for the reports"); }}},
      {"--warmup",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.bench_warmup = int(parse_integer(f, v, 0, 100000, "a count 0..100000"));
        }}},
      {"--iterations",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.bench_iterations = int(parse_integer(f, v, 1, 1000000, "a count 1..1000000"));
        }}},
      {"--images",
       {true,
        [](Config& c, const std::string& f, const std::string& v) {
          c.bench_images = non_empty(f, v, "an image folder or a video file");
        }}},
      {"-v", {false, [](Config& c, const std::string&, const std::string&) { c.verbose = true; }}},
      {"--verbose", {false, [](Config& c, const std::string&, const std::string&) { c.verbose = true; }}},
      {"-h", {false, [](Config& c, const std::string&, const std::string&) { c.show_help = true; }}},
      {"--help", {false, [](Config& c, const std::string&, const std::string&) { c.show_help = true; }}},
      {"--version",
       {false, [](Config& c, const std::string&, const std::string&) { c.show_version = true; }}},
  };
  return table;
}

std::string yes_no(bool b) { return b ? "on" : "off"; }

}  // namespace

std::string_view to_string(Command command) {
  switch (command) {
    case Command::kRun:
      return "run";
    case Command::kCaption:
      return "caption";
    case Command::kBench:
      return "bench";
  }
  return "?";
}

std::string_view to_string(WindowMode mode) {
  switch (mode) {
    case WindowMode::kAuto:
      return "auto";
    case WindowMode::kOn:
      return "on";
    case WindowMode::kOff:
      return "off";
  }
  return "?";
}

Config parse_args(int argc, const char* const* argv) {
  Config config;
  int i = 1;
  if (i < argc) {
    const std::string first = argv[i];
    if (first == "run" || first == "caption" || first == "bench") {
      config.command = first == "run"       ? Command::kRun
                       : first == "caption" ? Command::kCaption
                                            : Command::kBench;
      ++i;
    }
  }
  const auto& table = flag_table();
  bool options_done = false;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      if (config.command != Command::kCaption) {
        throw UsageError(
            fmt::format("unexpected argument '{}'; images go after `edgecap caption`, see --help", arg));
      }
      config.inputs.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const auto it = table.find(name);
    if (it == table.end()) {
      throw UsageError(fmt::format("unknown option '{}'; run `edgecap --help` for the list", name));
    }
    const FlagSpec& spec = it->second;
    std::string value;
    if (spec.takes_value) {
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw UsageError(fmt::format("{}: missing value (use `{} VALUE` or `{}=VALUE`)", name, name, name));
      }
    } else if (eq != std::string::npos) {
      throw UsageError(
          fmt::format("{}: is a switch and takes no value (got '{}')", name, arg.substr(eq + 1)));
    }
    spec.apply(config, name, value);
  }
  if (config.command == Command::kCaption && config.inputs.empty() && !config.show_help &&
      !config.show_version) {
    throw UsageError("caption: give at least one image, e.g. `edgecap caption photo.png`");
  }
  return config;
}

std::string usage() {
  const Config d;  // defaults come from the struct, never retyped here
  const std::string precision = d.precision ? std::string(to_string(*d.precision)) : "ask in the menu";
  return fmt::format(
      R"(edgecap {{run|caption|bench}} [options]

  edgecap [run] [options]          live captioning: menus, then keys S R P M Q A + - H ?
  edgecap caption [options] IMAGE...  caption image files once and exit (IMAGE<TAB>caption per line)
  edgecap bench [options]          sweep model x precision and print the comparison table

Model:
  --model original|pruned|PATH     model to load (default: {model})
  --precision fp32|fp16|bf16|int8  precision (default: {precision}); int8 loads the *.int8.pt sibling
  --device cpu|cuda                device (default: {device})
  --models-dir DIR                 where the original model lives (default: {models_dir})
  --pruned-dir DIR                 where the pruned model lives (default: {pruned_dir})
  --beam K                         beam width, 1 = greedy (default: {beam})
  --threads N                      LibTorch intra-op threads; 0 = automatic: 1 on 2 cores or
                                   fewer, else one per physical core (default: {threads})

Frames:
  --source SRC                     camera index, video, image, image folder or 'demo' (default: {source})
  --no-loop                        stop at the end of a video/folder (default: loop {loop})
  --window | --no-window           preview window (default: {window}: when a display is usable;
                                   --window without one says so and runs in terminal mode)

Speech:
  --no-speech                      print captions only (default: speech {speech})
  --wav FILE                       also write each spoken caption to FILE (default: {wav})
  --rate WPM                       espeak-ng words per minute, 80..450 (default: {rate})
  --voice NAME                     espeak-ng voice (default: {voice})

Auto-caption:
  --auto                           start with auto-caption on (default: {auto_caption}; key A toggles)
  --auto-interval S                seconds between auto-captions (default: {auto_interval})
  --scene-threshold D              mean grey-level change that counts as a new scene (default: {scene})

Caption mode:
  --json                           JSON lines with tokens, log-probs, score and timings (default: {json})

Bench mode:
  --out DIR                        write .md .json .csv .png reports there (default: {bench_out})
  --warmup N                       untimed runs per variant (default: {warmup})
  --iterations N                   timed runs per variant (default: {iterations})
  --images DIR|VIDEO               frames to caption (default: {images})

  -v, --verbose                    more detail (default: {verbose})
  -h, --help                       this text
  --version                        versions of edgecap, LibTorch, OpenCV and the build type
Options take `--flag value` or `--flag=value`.
Exit codes: 0 ok, 1 internal error, 2 usage, 3 model, 4 source, 5 audio, 6 bench, 130 interrupted.
)",
      fmt::arg("model", d.model.empty() ? "ask in the menu" : d.model), fmt::arg("precision", precision),
      fmt::arg("device", to_string(d.device)), fmt::arg("models_dir", d.models_dir),
      fmt::arg("pruned_dir", d.pruned_dir), fmt::arg("beam", d.beam), fmt::arg("threads", d.threads),
      fmt::arg("source", d.source), fmt::arg("loop", yes_no(d.loop)), fmt::arg("window", to_string(d.window)),
      fmt::arg("speech", yes_no(d.speech)), fmt::arg("wav", d.wav_path.empty() ? "none" : d.wav_path),
      fmt::arg("rate", d.speech_rate_wpm), fmt::arg("voice", d.voice),
      fmt::arg("auto_caption", yes_no(d.auto_caption)), fmt::arg("auto_interval", d.auto_interval_s),
      fmt::arg("scene", d.scene_change_threshold), fmt::arg("json", yes_no(d.json)),
      fmt::arg("bench_out", d.bench_out.empty() ? "none, table only" : d.bench_out),
      fmt::arg("warmup", d.bench_warmup), fmt::arg("iterations", d.bench_iterations),
      fmt::arg("images", d.bench_images.empty() ? "samples/scenes" : d.bench_images),
      fmt::arg("verbose", yes_no(d.verbose)));
}

}  // namespace edgecap
