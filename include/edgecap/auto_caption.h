#pragma once
// When auto-caption (key A) starts a caption by itself, and when a caption is spoken. Pure, so the policy
// is tested without a model or a clock.
#include <chrono>
#include <string>

#include <opencv2/core.hpp>

#include "edgecap/preview.h"

namespace edgecap {

class AutoCaptionPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  AutoCaptionPolicy(double interval_s, double scene_threshold, bool enabled = false)
      : interval_(interval_s), scene_(scene_threshold), enabled_(enabled) {}

  bool enabled() const { return enabled_; }
  void set_enabled(bool on);  // turning it on captions the next frame at once
  // True when an automatic caption should start now: on, and the interval has passed since the last
  // caption or the frame differs from the last captioned one by more than the threshold.
  bool due(const cv::Mat& frame, Clock::time_point now) const;
  // Any caption (manual or automatic) restarts the interval and becomes the scene reference.
  void captioned(const cv::Mat& frame, Clock::time_point now);

  // Manual captions are always spoken; automatic ones only when the text changed, so a still scene is
  // not read out every few seconds.
  static bool should_speak(const std::string& text, bool automatic, const std::string& last_spoken);

  double interval_s() const { return interval_.count(); }
  double threshold() const { return scene_.threshold(); }

 private:
  std::chrono::duration<double> interval_;
  SceneChangeDetector scene_;
  bool enabled_;
  bool have_last_ = false;
  Clock::time_point last_{};
};

}  // namespace edgecap
