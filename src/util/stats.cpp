#include "edgecap/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgecap {
namespace {
// Linear interpolation between closest ranks (numpy's default), on sorted samples.
double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double rank = p * double(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(rank));
  const std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double fraction = rank - double(lower);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
}
}  // namespace

Summary summarize(std::vector<double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / double(s.count);
  s.median = percentile_sorted(samples, 0.5);
  s.p90 = percentile_sorted(samples, 0.90);
  s.p95 = percentile_sorted(samples, 0.95);
  s.p99 = percentile_sorted(samples, 0.99);
  if (s.count >= 2) {
    double squares = 0.0;
    for (double v : samples) squares += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(squares / double(s.count - 1));
  }
  s.cv = s.mean != 0.0 ? s.stddev / std::abs(s.mean) : 0.0;
  return s;
}

void StageStats::add(double value) {
  session_.push_back(value);
  window_.push_back(value);
  while (window_.size() > window_size_) window_.pop_front();
}

Summary StageStats::window() const { return summarize(std::vector<double>(window_.begin(), window_.end())); }

Summary StageStats::session() const { return summarize(session_); }

void PerformanceMonitor::record(const std::string& stage, double ms) {
  auto it = stages_.find(stage);
  if (it == stages_.end()) it = stages_.emplace(stage, StageStats(window_)).first;
  it->second.add(ms);
}

void PerformanceMonitor::frame_displayed(std::chrono::steady_clock::time_point now) {
  frame_times_.push_back(now);
  // `window` frame intervals need window + 1 time stamps.
  while (frame_times_.size() > window_ + 1) frame_times_.pop_front();
}

double PerformanceMonitor::display_fps() const {
  if (frame_times_.size() < 2) return 0.0;
  const std::chrono::duration<double> span = frame_times_.back() - frame_times_.front();
  if (span.count() <= 0.0) return 0.0;
  return double(frame_times_.size() - 1) / span.count();
}

const StageStats* PerformanceMonitor::stage(const std::string& name) const {
  const auto it = stages_.find(name);
  return it == stages_.end() ? nullptr : &it->second;
}

std::vector<std::string> PerformanceMonitor::stages() const {
  std::vector<std::string> names;
  names.reserve(stages_.size());
  for (const auto& entry : stages_) names.push_back(entry.first);
  return names;
}

std::size_t PerformanceMonitor::inferences() const {
  const StageStats* model = stage("model");
  return model ? model->total() : 0;
}

void PerformanceMonitor::reset() {
  stages_.clear();
  frame_times_.clear();
}

}  // namespace edgecap
