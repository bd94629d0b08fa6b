#pragma once
// Latency statistics like a benchmark tool reports them, and the per-stage monitor behind the `P` report.
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace edgecap {

struct Summary {
  std::size_t count = 0;
  double mean = 0, median = 0, min = 0, max = 0, stddev = 0;  // sample standard deviation
  double p90 = 0, p95 = 0, p99 = 0;                           // linear interpolation between ranks
  double cv = 0;                                              // stddev / mean (0 when mean == 0)
};

Summary summarize(std::vector<double> samples);
// True when the spread is too wide to trust a mean (coefficient of variation above `threshold`).
inline bool spread_too_wide(const Summary& s, double threshold = 0.25) {
  return s.count >= 2 && s.cv > threshold;
}

// A stage's samples: the last `window` ones and the whole session's.
class StageStats {
 public:
  explicit StageStats(std::size_t window = 30) : window_size_(window) {}
  void add(double value);
  Summary window() const;
  Summary session() const;
  std::size_t total() const { return session_.size(); }

 private:
  std::size_t window_size_;
  std::deque<double> window_;
  std::vector<double> session_;
};

// Named stages: "preprocess", "encode", "decode", "model" (= preprocess+encode+decode), "end_to_end"
// (capture -> first audio sample), "speech" (synthesis), "frame_age" (capture -> caption start).
class PerformanceMonitor {
 public:
  explicit PerformanceMonitor(std::size_t window = 30) : window_(window) {}
  void record(const std::string& stage, double ms);
  void frame_displayed(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  double display_fps() const;  // preview loop frames per second over the last `window` frames
  const StageStats* stage(const std::string& name) const;  // nullptr when never recorded
  std::vector<std::string> stages() const;
  std::size_t inferences() const;  // number of "model" samples
  void reset();

 private:
  std::size_t window_;
  std::map<std::string, StageStats> stages_;
  std::deque<std::chrono::steady_clock::time_point> frame_times_;
};

}  // namespace edgecap
