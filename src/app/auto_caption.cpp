#include "edgecap/auto_caption.h"

namespace edgecap {

void AutoCaptionPolicy::set_enabled(bool on) {
  enabled_ = on;
  have_last_ = false;
  scene_.reset();
}

bool AutoCaptionPolicy::due(const cv::Mat& frame, Clock::time_point now) const {
  if (!enabled_ || frame.empty()) return false;
  if (!have_last_ || now - last_ >= interval_) return true;
  return scene_.changed(frame);
}

void AutoCaptionPolicy::captioned(const cv::Mat& frame, Clock::time_point now) {
  have_last_ = true;
  last_ = now;
  scene_.set_reference(frame);
}

bool AutoCaptionPolicy::should_speak(const std::string& text, bool automatic,
                                     const std::string& last_spoken) {
  if (text.empty()) return false;
  return !automatic || text != last_spoken;
}

}  // namespace edgecap
