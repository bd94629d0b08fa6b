#include "edgecap/report.h"

#include <fmt/format.h>

#include "edgecap/system_info.h"

namespace edgecap {
namespace {

std::string latency_line(const std::string& title, const Summary& s) {
  if (s.count == 0) return fmt::format("{:<26}no samples yet\n", title);
  return fmt::format(
      "{:<26}mean {:.2f} ms, median {:.2f} ms, min/max {:.2f} / {:.2f} ms, std {:.2f} ms, "
      "p90/p95/p99 {:.2f} / {:.2f} / {:.2f} ms (n={})\n",
      title, s.mean, s.median, s.min, s.max, s.stddev, s.p90, s.p95, s.p99, s.count);
}

std::string spread_warning(const std::string& what, const Summary& s) {
  if (!spread_too_wide(s)) return "";
  return fmt::format(
      "WARNING: spread too wide to trust: {} cv {:.2f} > 0.25 over {} samples (std {:.2f} ms vs mean {:.2f} "
      "ms); "
      "close other programs, pin --threads, collect more samples\n",
      what, s.cv, s.count, s.stddev, s.mean);
}

}  // namespace

std::string format_report(const PerformanceMonitor& monitor, const ReportContext& c) {
  std::string r = "=== Performance statistics (JTOPS style) ===\n";
  r += fmt::format("Model:      {}\n", c.variant);
  r += fmt::format("File:       {} ({}, sha256 {})\n", c.file, human_bytes(c.file_bytes),
                   c.sha256.substr(0, 12));

  const StageStats* model = monitor.stage("model");
  const Summary window = model ? model->window() : Summary{};
  const Summary session = model ? model->session() : Summary{};
  r += latency_line("Latency (last 30):", window);
  r += latency_line("Latency (session):", session);
  if (window.count > 0 && window.mean > 0) {
    r += fmt::format(
        "Throughput: FPS {:.1f} frame/sec (= 1000 / mean model ms), 1 frame processing {:.2f} ms\n",
        1000.0 / window.mean, window.mean);
  } else {
    r += "Throughput: no samples yet (press S)\n";
  }

  r += "Model vs end-to-end (session):\n";
  r += latency_line("  model (pre+enc+dec):", session);
  const StageStats* e2e = monitor.stage("end_to_end");
  if (e2e) {
    r += latency_line("  end-to-end:", e2e->session());
    r += "  (end-to-end = frame capture -> first audio sample)\n";
  } else {
    r += fmt::format(
        "  {:<24}{}\n", "end-to-end:",
        c.speech_on ? "no spoken caption yet" : "n/a (speech off: no first audio sample to time)");
  }

  r += "Stages (session mean / p95):\n";
  for (const char* stage : {"preprocess", "encode", "decode", "speech"}) {
    const StageStats* st = monitor.stage(stage);
    if (!st) {
      r += fmt::format("  {:<12}-\n", stage);
      continue;
    }
    const Summary s = st->session();
    r += fmt::format("  {:<12}{:.2f} / {:.2f} ms (n={})\n", stage, s.mean, s.p95, s.count);
  }
  const StageStats* age = monitor.stage("frame_age");
  if (age) {
    const Summary s = age->session();
    r += fmt::format(
        "Frame age:  mean {:.1f} ms, median {:.1f} ms, max {:.1f} ms (capture -> caption start)\n", s.mean,
        s.median, s.max);
  } else {
    r += "Frame age:  -\n";
  }
  r += fmt::format("Memory:     CPU RSS {:.1f} MB (peak {:.1f} MB), {}\n", c.rss_mb, c.peak_rss_mb, c.gpu);
  r += fmt::format("Runtime:    threads {} (intra-op), quantized engine {}, torch {}\n", c.threads,
                   c.quantized_engine.empty() ? "none (not INT8)" : c.quantized_engine, c.torch_version);
  if (!c.decoder.empty()) r += fmt::format("Decoder:    {}\n", c.decoder);
  r += fmt::format("Cumulative: total inferences {}\n", monitor.inferences());
  r += spread_warning("model latency (last 30)", window);
  if (e2e) r += spread_warning("end-to-end latency", e2e->session());
  return r;
}

std::string format_caption_line(const Caption& caption, double frame_age_ms) {
  return fmt::format("[caption] {}  (model {:.1f} ms, frame age {:.0f} ms)",
                     caption.text.empty() ? "<empty>" : caption.text, caption.times.total_ms, frame_age_ms);
}

std::string format_status_line(const std::string& variant, double fps, double last_latency_ms, double rss_mb,
                               std::size_t inferences, bool auto_caption) {
  const std::string latency = last_latency_ms < 0 ? "-" : fmt::format("{:.1f} ms", last_latency_ms);
  return fmt::format("[status] {} | preview {:.1f} fps | last {} | RSS {:.0f} MB | {} captions | auto {}",
                     variant, fps, latency, rss_mb, inferences, auto_caption ? "on" : "off");
}

std::string gpu_memory_text(const RuntimeInfo& runtime, Device device) {
  if (!runtime.cuda_available) return "GPU: n/a (CPU build)";
  if (device != Device::kCUDA) return "GPU: n/a (running on CPU)";
  return "GPU: in use (memory not tracked)";
}

}  // namespace edgecap
