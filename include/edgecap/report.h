#pragma once
// The text the live loop prints: the `P` report, the caption line and the periodic status line. Pure
// functions of the monitor and a context, so the exact sections are unit tested.
#include <cstdint>
#include <string>

#include "edgecap/captioner.h"
#include "edgecap/stats.h"

namespace edgecap {

struct ReportContext {
  std::string variant;  // "Original Model + FP32"
  std::string file;
  uint64_t file_bytes = 0;
  std::string sha256;
  int threads = 0;               // LibTorch intra-op threads
  std::string quantized_engine;  // "" when not INT8
  std::string decoder;           // which decoder step runs (LoadInfo::decoder); "" = not reported
  std::string torch_version;
  double rss_mb = 0;
  double peak_rss_mb = 0;
  std::string gpu;        // "GPU: n/a (CPU build)" or the numbers
  bool speech_on = true;  // end-to-end needs a first audio sample
};

std::string format_report(const PerformanceMonitor& monitor, const ReportContext& context);
// `[caption] a red ball  (model 12.3 ms, frame age 40 ms)`
std::string format_caption_line(const Caption& caption, double frame_age_ms);
// One line for the terminal: variant, preview fps, last latency, RSS, inferences, auto state.
std::string format_status_line(const std::string& variant, double fps, double last_latency_ms, double rss_mb,
                               std::size_t inferences, bool auto_caption);
// Why there is no GPU number on this build/device, or "GPU: n/a" text for the overlay and report.
std::string gpu_memory_text(const RuntimeInfo& runtime, Device device);

}  // namespace edgecap
