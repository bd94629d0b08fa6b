#include "edgecap/app.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>

#include "caption_worker.h"
#include "edgecap/auto_caption.h"
#include "edgecap/error.h"
#include "edgecap/frame_source.h"
#include "edgecap/keys.h"
#include "edgecap/preview.h"
#include "edgecap/report.h"
#include "edgecap/speaker.h"
#include "edgecap/stats.h"
#include "edgecap/system_info.h"
#include "edgecap/terminal.h"
#include "selection.h"

namespace edgecap {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kWindowName = "edgecap";
constexpr auto kStatusEvery = std::chrono::seconds(5);
constexpr int kRateStep = 20;
constexpr int kWarmupRuns = 2;
constexpr int kMinPreviewWidth = 640;  // tiny test frames are upscaled so the overlay stays readable

std::string options_text(const Selection& s) { return variant_label(s.model, s.precision); }

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Messages and the status line share stdout: a status line on a TTY is rewritten in place with \r and
// must be wiped before any other message, or the two would interleave.
class Console {
 public:
  explicit Console(std::ostream& out) : out_(out), tty_(::isatty(STDOUT_FILENO) == 1) {}
  void line(const std::string& text) {
    clear_status();
    out_ << text << '\n' << std::flush;
  }
  void block(const std::string& text) {
    clear_status();
    out_ << text << std::flush;
  }
  void status(const std::string& text) {
    last_status_ = text;
    if (!tty_) {
      out_ << text << '\n' << std::flush;
      return;
    }
    std::string shown = text;
    struct winsize ws {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && shown.size() >= ws.ws_col) {
      shown.resize(ws.ws_col - 1);
    }
    out_ << '\r' << shown << "\033[K" << std::flush;
    showing_status_ = true;
  }
  void redraw_status() {
    if (showing_status_) status(last_status_);
  }
  void clear_status() {
    if (showing_status_) out_ << "\r\033[K";
    showing_status_ = false;
  }
  std::ostream& stream() { return out_; }

 private:
  std::ostream& out_;
  bool tty_;
  bool showing_status_ = false;
  std::string last_status_;
};

class App {
 public:
  App(const Config& config, Terminal& terminal)
      : config_(config),
        terminal_(terminal),
        console_(std::cout),
        catalog_(config.models_dir, config.pruned_dir, config.device),
        auto_(config.auto_interval_s, config.scene_change_threshold, config.auto_caption) {}

  int run();

 private:
  LineReader line_reader() {
    return [this] {
      auto line = terminal_.read_line();
      // Piped answers are not echoed by a terminal: echo them so a log reads like a session.
      if (line && !terminal_.is_tty()) console_.line(line->size() > 80 ? line->substr(0, 80) + "..." : *line);
      return line;
    };
  }
  std::string variant() const { return variant_label(selection_.model, selection_.precision); }
  int interrupted_exit() {
    console_.line(fmt::format("\ninterrupted (signal {}), terminal restored", Terminal::pending_signal()));
    return int(ExitCode::kInterrupted);
  }

  std::optional<int> start();  // source, menus, model, speaker, window; an exit code ends the session early
  int loop();                  // the key loop; returns the exit code
  void print_status_if_due();
  void load(const Selection& selection);
  bool handle(Action action);  // false = quit
  void caption_now(bool automatic);
  void collect_result();
  void switch_model();
  void print_report();
  void show_heatmap_in_terminal();
  void read_frame();
  void maybe_auto_caption();
  void show_preview();
  void on_spoken(const SpeechEvent& event);
  void shutdown();

  const Config& config_;
  Terminal& terminal_;
  Console console_;
  ModelCatalog catalog_;
  Selection selection_;
  std::shared_ptr<Captioner> captioner_;
  std::unique_ptr<FrameSource> source_;
  // Declared before the speaker: its worker calls on_spoken() until the speaker is destroyed.
  std::mutex monitor_mutex_;  // the speaker's worker records speech timings
  PerformanceMonitor monitor_;
  struct PendingSpeech {
    std::string text;
    Clock::time_point captured;
  };
  std::optional<PendingSpeech> pending_speech_;  // guarded by monitor_mutex_

  std::unique_ptr<Speaker> speaker_;
  std::unique_ptr<CaptionWorker> worker_;
  bool window_ = false;

  Frame frame_;
  bool have_frame_ = false;
  FrameStatus last_status_ = FrameStatus::kOk;
  std::string status_error_;  // last exception text from the source, printed once
  std::optional<CaptionResult> last_caption_;
  std::string last_spoken_;
  double last_latency_ms_ = -1;

  AutoCaptionPolicy auto_;
  bool heatmap_on_ = false;
  Clock::time_point heatmap_since_{};
  Clock::time_point last_status_time_ = Clock::now();
};

void App::load(const Selection& selection) {
  console_.line(fmt::format("Loading {} from {} ...", variant_label(selection.model, selection.precision),
                            ModelCatalog::path_for(selection.model, selection.precision)));
  auto captioner = load_selection(selection, config_.device);
  console_.block(render_load_summary(selection.model, selection.precision, captioner->metadata(),
                                     captioner->load_info(), runtime_info()));
  // TorchScript optimises a graph during its first runs; those must not count as the user's latency.
  const auto& input = captioner->metadata().input;
  const cv::Mat blank(input.height, input.width, CV_8UC3, cv::Scalar(127, 127, 127));
  const auto warm_start = Clock::now();
  try {
    for (int i = 0; i < kWarmupRuns; ++i) captioner->caption(blank, config_.beam);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ModelError(fmt::format("{} loaded but cannot caption: {}", options_text(selection), e.what()));
  }
  console_.line(fmt::format("warm-up: {} untimed captions in {:.0f} ms", kWarmupRuns,
                            ms_between(warm_start, Clock::now())));
  if (config_.verbose) console_.block(runtime_info().parallel_info);
  captioner_ = std::move(captioner);
  selection_ = selection;
  std::lock_guard<std::mutex> lock(monitor_mutex_);
  monitor_.reset();  // numbers of different variants must not mix
  pending_speech_.reset();
}

int App::run() {
  if (const auto early_exit = start()) return *early_exit;
  terminal_.set_raw(true);
  const int exit_code = loop();
  shutdown();
  if (exit_code == int(ExitCode::kInterrupted)) return interrupted_exit();
  console_.line("bye");
  return exit_code;
}

std::optional<int> App::start() {
  const bool display = display_available();
  if (config_.window == WindowMode::kOn && !display) {
    // A missing display costs the preview, not the session: captions, speech and keys still work.
    std::cerr << "edgecap: --window: no usable display ($DISPLAY unset or the X server refused); "
                 "running in terminal mode\n";
  }
  window_ = config_.window != WindowMode::kOff && display;

  // The source first: it fails fast (no camera), before the user answers any question.
  SourceOptions source_options;
  source_options.loop = config_.loop;
  source_options.backend_logs = config_.verbose;
  source_ = open_source(config_.source, source_options);
  console_.line("Source: " + source_->describe());

  configure_threads(config_.threads);
  auto selection = choose_selection(config_, catalog_, true, line_reader(), console_.stream());
  if (Terminal::interrupted()) return interrupted_exit();
  if (!selection) {
    console_.line("no choice made, bye");
    return int(ExitCode::kOk);
  }
  load(*selection);

  SpeakerOptions speaker_options;
  speaker_options.enabled = config_.speech;
  speaker_options.voice = config_.voice;
  speaker_options.rate_wpm = config_.speech_rate_wpm;
  speaker_options.wav_path = config_.wav_path;
  speaker_ = std::make_unique<Speaker>(speaker_options);
  speaker_->on_spoken([this](const SpeechEvent& e) { on_spoken(e); });
  console_.line("Speech: " + speaker_->status());
  worker_ = std::make_unique<CaptionWorker>(config_.threads);

  if (window_) {
    cv::namedWindow(kWindowName, cv::WINDOW_AUTOSIZE | cv::WINDOW_GUI_NORMAL);
    console_.line("Preview: window '" + std::string(kWindowName) + "' (keys work there and here)");
  } else {
    console_.line("Preview: none (terminal mode)");
  }
  console_.block(key_help());
  if (!terminal_.is_tty()) console_.line("(stdin is not a terminal: reading keys from it, EOF quits)");
  return std::nullopt;
}

int App::loop() {
  for (;;) {
    if (Terminal::interrupted()) return int(ExitCode::kInterrupted);
    read_frame();
    collect_result();
    maybe_auto_caption();
    int window_key = -1;
    if (window_) {
      show_preview();
      window_key = cv::waitKey(15);
    }
    // Piped keys are a script: the next one waits until the caption asked for by the previous one is out.
    const bool hold_keys = !terminal_.is_tty() && worker_->busy();
    const int key = hold_keys ? kKeyNone : terminal_.read_key(std::chrono::milliseconds(window_ ? 0 : 30));
    if (hold_keys && !window_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (key == kKeyInterrupted) return int(ExitCode::kInterrupted);
    if (key == kKeyEof) {
      console_.line("end of input: quitting");
      return int(ExitCode::kOk);
    }
    if (!handle(action_for_key(window_key)) || !handle(action_for_key(key))) return int(ExitCode::kOk);
    if (terminal_.resized()) console_.redraw_status();
    if (!window_) print_status_if_due();
  }
}

void App::print_status_if_due() {
  const auto now = Clock::now();
  if (now - last_status_time_ < kStatusEvery) return;
  last_status_time_ = now;
  std::size_t inferences;
  double fps;
  {
    std::lock_guard<std::mutex> lock(monitor_mutex_);
    inferences = monitor_.inferences();
    fps = monitor_.display_fps();
  }
  console_.status(format_status_line(variant(), fps, last_latency_ms_, process_memory().rss_mb, inferences,
                                     auto_.enabled()));
}

void App::shutdown() {
  // A caption in flight or speech being written finishes first, so piped `s` then `q` still prints and
  // --wav still holds the whole utterance. A second Ctrl-C skips the wait (default action).
  worker_->wait_idle();
  collect_result();
  if (speaker_->busy() && !Terminal::interrupted()) speaker_->wait_idle(std::chrono::seconds(30));
  terminal_.set_raw(false);
  if (window_) cv::destroyAllWindows();
}

bool App::handle(Action action) {
  switch (action) {
    case Action::kNone:
      return true;
    case Action::kQuit:
      return false;
    case Action::kCaption:
      caption_now(false);
      return true;
    case Action::kReplay:
      if (!config_.speech) {
        console_.line("[speech] off (--no-speech): nothing to replay");
      } else if (!speaker_->replay()) {
        console_.line("[speech] nothing to replay yet: press S first");
      } else {
        console_.line("[speech] replaying: " + last_spoken_);
      }
      return true;
    case Action::kReport:
      print_report();
      return true;
    case Action::kMenu:
      switch_model();
      return true;
    case Action::kToggleAuto:
      auto_.set_enabled(!auto_.enabled());
      console_.line(fmt::format("[auto] {} (every {:.1f} s or on a scene change > {:.1f})",
                                auto_.enabled() ? "on" : "off", auto_.interval_s(), auto_.threshold()));
      return true;
    case Action::kRateUp:
    case Action::kRateDown:
      speaker_->set_rate(speaker_->rate() + (action == Action::kRateUp ? kRateStep : -kRateStep));
      console_.line(fmt::format("[speech] rate {} wpm", speaker_->rate()));
      return true;
    case Action::kHeatmap:
      heatmap_on_ = !heatmap_on_;
      heatmap_since_ = Clock::now();
      if (!last_caption_ || last_caption_->caption.attention.empty()) {
        console_.line("[heatmap] no attention maps yet: press S first (the model must export alpha)");
        heatmap_on_ = false;
      } else if (!window_) {
        show_heatmap_in_terminal();
        heatmap_on_ = false;
      } else {
        console_.line(fmt::format("[heatmap] {}", heatmap_on_ ? "on" : "off"));
      }
      return true;
    case Action::kHelp:
      console_.block(key_help());
      return true;
  }
  return true;
}

void App::read_frame() {
  Frame next;
  FrameStatus status;
  try {
    status = source_->read(next);
  } catch (const std::exception& e) {
    // A source should report per-frame trouble as a status; if one throws anyway (a decoder refusing a
    // file), the session goes on with the last good frame.
    if (status_error_ != e.what()) console_.line(std::string("[source] ") + e.what());
    status_error_ = e.what();
    last_status_ = FrameStatus::kError;
    return;
  }
  status_error_.clear();
  if (status == FrameStatus::kOk) {
    if (!next.image.empty()) {
      frame_ = std::move(next);
      have_frame_ = true;
      if (!window_) {
        std::lock_guard<std::mutex> lock(monitor_mutex_);
        monitor_.frame_displayed();
      }
    }
  } else if (status != last_status_) {
    switch (status) {
      case FrameStatus::kEndOfStream:
        console_.line("[source] end of stream (--no-loop): S still captions the last frame, Q quits");
        break;
      case FrameStatus::kTimeout:
        console_.line("[source] no frame for a while (camera stalled?); still trying");
        break;
      case FrameStatus::kError:
        console_.line("[source] " + source_->last_error());
        break;
      case FrameStatus::kOk:
        break;
    }
  }
  last_status_ = status;
}

void App::caption_now(bool automatic) {
  if (!have_frame_) {
    if (!automatic) console_.line("[caption] no frame yet from " + source_->describe());
    return;
  }
  CaptionJob job;
  job.captioner = captioner_;
  job.frame = frame_;
  job.beam = config_.beam;
  job.automatic = automatic;
  if (!worker_->submit(std::move(job))) {
    if (!automatic) console_.line("[caption] still working on the previous frame");
    return;
  }
  auto_.captioned(frame_.image, Clock::now());
}

void App::collect_result() {
  auto result = worker_->take_result();
  if (!result) return;
  if (!result->error.empty()) {
    console_.line("[caption] failed: " + result->error);
    return;
  }
  const Caption& c = result->caption;
  {
    std::lock_guard<std::mutex> lock(monitor_mutex_);
    // A result of the model we just switched away from must not count for the new one.
    if (result->job.captioner == captioner_) {
      monitor_.record("preprocess", c.times.preprocess_ms);
      monitor_.record("encode", c.times.encode_ms);
      monitor_.record("decode", c.times.decode_ms);
      monitor_.record("model", c.times.total_ms);
      monitor_.record("frame_age", result->frame_age_ms);
    }
  }
  last_latency_ms_ = c.times.total_ms;
  console_.line(format_caption_line(c, result->frame_age_ms) + (result->job.automatic ? "  [auto]" : ""));
  if (config_.verbose) {
    console_.line(
        fmt::format("  stages: preprocess {:.2f} ms, encode {:.2f} ms, decode {:.2f} ms ({} steps); "
                    "score {:.3f}{}",
                    c.times.preprocess_ms, c.times.encode_ms, c.times.decode_ms, c.steps, c.score,
                    c.finished ? "" : " (cut at max length)"));
  }
  const bool speak =
      config_.speech && AutoCaptionPolicy::should_speak(c.text, result->job.automatic, last_spoken_);
  if (speak) {
    {
      std::lock_guard<std::mutex> lock(monitor_mutex_);
      pending_speech_ = PendingSpeech{c.text, result->job.frame.captured};
    }
    speaker_->say(c.text);
    last_spoken_ = c.text;
  }
  last_caption_ = std::move(result);
}

void App::on_spoken(const SpeechEvent& event) {
  std::lock_guard<std::mutex> lock(monitor_mutex_);
  if (event.replay) return;
  monitor_.record("speech", event.synth_ms);
  if (pending_speech_ && pending_speech_->text == event.text) {
    monitor_.record("end_to_end", ms_between(pending_speech_->captured, event.first_sample));
    pending_speech_.reset();
  }
}

void App::maybe_auto_caption() {
  if (have_frame_ && !worker_->busy() && auto_.due(frame_.image, Clock::now())) caption_now(true);
}

void App::switch_model() {
  terminal_.set_raw(false);
  console_.clear_status();
  console_.line(fmt::format("\n[menu] current: {} (Q or EOF keeps it)", variant()));
  std::optional<Selection> selection;
  try {
    selection = ask_selection(catalog_, line_reader(), console_.stream());
  } catch (const Error& e) {
    console_.line(fmt::format("[menu] {}; keeping {}", e.what(), variant()));
  }
  if (selection && !Terminal::interrupted()) {
    try {
      load(*selection);
      console_.line("[menu] now running " + variant());
    } catch (const std::exception& e) {
      console_.line(fmt::format("[menu] could not load {}: {}\n[menu] keeping {}",
                                variant_label(selection->model, selection->precision), e.what(), variant()));
    }
  } else if (!Terminal::interrupted()) {
    console_.line("[menu] no change; keeping " + variant());
  }
  terminal_.set_raw(true);
}

void App::print_report() {
  ReportContext context;
  context.variant = variant();
  const LoadInfo& info = captioner_->load_info();
  context.file = info.path;
  context.file_bytes = info.file_bytes;
  context.sha256 = info.sha256;
  const RuntimeInfo runtime = runtime_info();
  context.threads = runtime.intra_op_threads;
  context.quantized_engine = info.quantized_engine;
  context.decoder = info.decoder;
  context.torch_version = runtime.torch_version;
  const ProcessMemory memory = process_memory();
  context.rss_mb = memory.rss_mb;
  context.peak_rss_mb = memory.peak_rss_mb;
  context.gpu = gpu_memory_text(runtime, config_.device);
  context.speech_on = config_.speech;
  std::string text;
  {
    std::lock_guard<std::mutex> lock(monitor_mutex_);
    text = format_report(monitor_, context);
  }
  console_.block(text);
}

void App::show_heatmap_in_terminal() {
  const Caption& c = last_caption_->caption;
  console_.block(
      fmt::format("[heatmap] mean attention over '{}' ({}x{} regions, top = top of the frame):\n{}", c.text,
                  c.grid_h, c.grid_w, ascii_heatmap(attention_map(c))));
}

void App::show_preview() {
  if (!have_frame_) return;
  const bool heatmap = heatmap_on_ && last_caption_ && !last_caption_->caption.attention.empty();
  // The heatmap goes over the frame that was captioned: attention belongs to that frame.
  cv::Mat shown = (heatmap ? last_caption_->job.frame.image : frame_.image).clone();
  if (shown.cols < kMinPreviewWidth) {
    const double f = double(kMinPreviewWidth) / shown.cols;
    cv::resize(shown, shown, {}, f, f, cv::INTER_LINEAR);
  }
  if (heatmap) {
    // One word a second, so each word's attention can be read.
    const Caption& c = last_caption_->caption;
    const auto words = int(std::min(c.attention.size(), c.words.size()));
    const auto shown_for =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - heatmap_since_).count();
    const int word = words > 0 ? int(shown_for % words) : -1;
    draw_heatmap(shown, attention_map(c, word),
                 word >= 0
                     ? fmt::format("attention: '{}' ({}/{})", c.words[std::size_t(word)], word + 1, words)
                     : "attention");
  }
  OverlayInfo info;
  info.variant = variant();
  {
    std::lock_guard<std::mutex> lock(monitor_mutex_);
    monitor_.frame_displayed();
    info.display_fps = monitor_.display_fps();
  }
  info.last_latency_ms = last_latency_ms_;
  info.rss_mb = process_memory().rss_mb;
  static const std::string gpu = gpu_memory_text(runtime_info(), config_.device);
  info.gpu = gpu;
  info.caption = last_caption_ ? last_caption_->caption.text : "";
  info.auto_caption = auto_.enabled();
  info.busy = worker_->busy();
  draw_overlay(shown, overlay_lines(info));
  cv::imshow(kWindowName, shown);
}

}  // namespace

int run_app(const Config& config) {
  Terminal terminal;
  App app(config, terminal);
  return app.run();
}

}  // namespace edgecap
