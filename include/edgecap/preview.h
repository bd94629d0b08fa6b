#pragma once
// What the preview window shows: the overlay text (composed by a pure function), the attention heatmap of
// the last caption, and the scene-change test behind auto-caption.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "edgecap/captioner.h"

namespace edgecap {

struct OverlayInfo {
  std::string variant;          // "Original Model + FP32"
  double display_fps = 0;       // preview loop
  double last_latency_ms = -1;  // model latency of the last caption; < 0 = none yet
  double rss_mb = 0;
  std::string gpu;      // "GPU: 12.0 MB" or "GPU: n/a (CPU build)"
  std::string caption;  // last caption ("" = none yet)
  bool auto_caption = false;
  bool busy = false;  // a caption is being computed
};

std::vector<std::string> overlay_lines(const OverlayInfo& info);
// Draws `lines` on a dark band at the top of `image` (8-bit BGR), scaled to the image width.
void draw_overlay(cv::Mat& image, const std::vector<std::string>& lines);

// Mean attention over the caption's words (word < 0) or one word's map, as a grid_h x grid_w float map
// normalised to 0..1. Empty when the caption carries no attention.
cv::Mat attention_map(const Caption& caption, int word = -1);
// Blends a JET-coloured, upscaled `map` over `image` and writes `label` at the bottom.
void draw_heatmap(cv::Mat& image, const cv::Mat& map, const std::string& label);
// Terminal rendering of a map (rows of ' .:-=+*#%@'), for when there is no window.
std::string ascii_heatmap(const cv::Mat& map);

// Auto-caption fires on a new scene: the mean absolute difference of a small grey version of the frame
// against the frame last captioned. Comparing with the last captioned frame, not the previous one, makes a
// slow pan add up to a change.
class SceneChangeDetector {
 public:
  explicit SceneChangeDetector(double threshold = 12.0, cv::Size small = {32, 24})
      : threshold_(threshold), small_(small) {}
  double difference(const cv::Mat& frame) const;  // 0..255; 255 when there is no reference yet
  bool changed(const cv::Mat& frame) const { return difference(frame) > threshold_; }
  void set_reference(const cv::Mat& frame);
  void reset() { reference_.release(); }
  double threshold() const { return threshold_; }

 private:
  cv::Mat shrink(const cv::Mat& frame) const;
  double threshold_;
  cv::Size small_;
  cv::Mat reference_;
};

}  // namespace edgecap
