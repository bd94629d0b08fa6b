#include "edgecap/preview.h"

#include <fmt/format.h>

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace edgecap {
namespace {
constexpr std::size_t kOverlayColumns = 46;  // fits the 640-pixel-wide preview at its font scale
}  // namespace

std::vector<std::string> overlay_lines(const OverlayInfo& info) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("Model: {}{}", info.variant, info.auto_caption ? "  [auto]" : ""));
  const std::string latency = info.last_latency_ms < 0
                                  ? std::string("Latency: -")
                                  : fmt::format("Latency: {:.1f} ms", info.last_latency_ms);
  lines.push_back(fmt::format("FPS: {:.1f} (preview)  {}", info.display_fps, latency));
  lines.push_back(fmt::format("CPU: {:.0f} MB  {}", info.rss_mb, info.gpu));
  std::string caption = info.busy              ? "(captioning...)"
                        : info.caption.empty() ? "press S to caption"
                                               : info.caption;
  // Wrapped at word boundaries: putText does not wrap and a 20-word caption is wider than the frame.
  std::string line = "Caption:";
  std::size_t start = 0;
  while (start < caption.size()) {
    std::size_t end = caption.find(' ', start);
    if (end == std::string::npos) end = caption.size();
    const std::string word = caption.substr(start, end - start);
    if (line.size() + 1 + word.size() > kOverlayColumns && line.size() > 8) {
      lines.push_back(line);
      line = " ";
    }
    line += " " + word;
    start = end + 1;
  }
  lines.push_back(line);
  return lines;
}

void draw_overlay(cv::Mat& image, const std::vector<std::string>& lines) {
  if (image.empty() || lines.empty()) return;
  // Text is scaled to the frame so a 32x32 test image and a 1280x720 camera both stay readable.
  const double scale = std::clamp(image.cols / 900.0, 0.35, 1.0);
  const int thickness = scale > 0.7 ? 2 : 1;
  int baseline = 0;
  const int line_h =
      cv::getTextSize("Ag", cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline).height + baseline + 6;
  const int band_h = std::min(image.rows, line_h * int(lines.size()) + 6);
  cv::Mat band = image(cv::Rect(0, 0, image.cols, band_h));
  band *= 0.35;  // darken, so white text reads on any scene
  for (std::size_t i = 0; i < lines.size(); ++i) {
    cv::putText(image, lines[i], {6, int(i + 1) * line_h - baseline}, cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
  }
}

cv::Mat attention_map(const Caption& caption, int word) {
  if (caption.attention.empty() || caption.grid_h <= 0 || caption.grid_w <= 0) return {};
  const std::size_t cells = std::size_t(caption.grid_h) * std::size_t(caption.grid_w);
  cv::Mat map = cv::Mat::zeros(caption.grid_h, caption.grid_w, CV_32F);
  int used = 0;
  for (std::size_t w = 0; w < caption.attention.size(); ++w) {
    if (word >= 0 && int(w) != word) continue;
    const auto& a = caption.attention[w];
    if (a.size() != cells) continue;
    map += cv::Mat(caption.grid_h, caption.grid_w, CV_32F, const_cast<float*>(a.data()));
    ++used;
  }
  if (used == 0) return {};
  double lo = 0, hi = 0;
  cv::minMaxLoc(map, &lo, &hi);
  if (hi > lo) {
    map = (map - lo) / (hi - lo);
  } else {
    map.setTo(0.0f);
  }
  return map;
}

void draw_heatmap(cv::Mat& image, const cv::Mat& map, const std::string& label) {
  if (image.empty() || map.empty()) return;
  cv::Mat up, bytes, colour;
  cv::resize(map, up, image.size(), 0, 0, cv::INTER_CUBIC);
  up.convertTo(bytes, CV_8U, 255.0);
  cv::applyColorMap(bytes, colour, cv::COLORMAP_JET);
  cv::addWeighted(image, 0.55, colour, 0.45, 0.0, image);
  const double scale = std::clamp(image.cols / 900.0, 0.35, 1.0);
  cv::putText(image, label, {6, image.rows - 8}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255),
              1, cv::LINE_AA);
}

std::string ascii_heatmap(const cv::Mat& map) {
  static const char kRamp[] = " .:-=+*#%@";
  std::string s;
  for (int r = 0; r < map.rows; ++r) {
    for (int c = 0; c < map.cols; ++c) {
      const float v = std::clamp(map.at<float>(r, c), 0.0f, 1.0f);
      s += kRamp[std::min(9, int(v * 9.999f))];
      s += kRamp[std::min(9, int(v * 9.999f))];  // doubled: terminal cells are twice as tall as wide
    }
    s += '\n';
  }
  return s;
}

cv::Mat SceneChangeDetector::shrink(const cv::Mat& frame) const {
  cv::Mat grey, small;
  if (frame.channels() == 3) {
    cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  } else if (frame.channels() == 4) {
    cv::cvtColor(frame, grey, cv::COLOR_BGRA2GRAY);
  } else {
    grey = frame;
  }
  cv::resize(grey, small, small_, 0, 0, cv::INTER_AREA);
  return small;
}

double SceneChangeDetector::difference(const cv::Mat& frame) const {
  if (reference_.empty()) return 255.0;
  if (frame.empty()) return 0.0;
  cv::Mat diff;
  cv::absdiff(shrink(frame), reference_, diff);
  return cv::mean(diff)[0];
}

void SceneChangeDetector::set_reference(const cv::Mat& frame) {
  if (!frame.empty()) reference_ = shrink(frame);
}

}  // namespace edgecap
