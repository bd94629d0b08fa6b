#include "edgecap/preprocess.h"

#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

namespace edgecap {
namespace {

// The models are trained on images resized by PIL's BILINEAR filter, which widens its kernel with the
// scale factor (it antialiases). OpenCV's INTER_LINEAR does not: shrinking a 640x480 camera frame to
// 128x128 with it samples 1 pixel in 25 and aliases fine texture. INTER_AREA averages the covered pixels
// and is the closer match once the shrink is 2x or more; below that, INTER_LINEAR already touches every
// source pixel and is the contract's "bilinear".
int interpolation_for(const cv::Size& from, const cv::Size& to) {
  const bool big_shrink = from.width >= 2 * to.width || from.height >= 2 * to.height;
  return big_shrink ? cv::INTER_AREA : cv::INTER_LINEAR;
}

}  // namespace

ImageTensor preprocess(const cv::Mat& frame, const InputSpec& spec) {
  if (frame.empty()) throw std::invalid_argument("preprocess: empty frame");
  if (frame.depth() != CV_8U) {
    throw std::invalid_argument("preprocess: expected an 8-bit image, got OpenCV depth " +
                                std::to_string(frame.depth()));
  }
  if (spec.height < 1 || spec.width < 1)
    throw std::invalid_argument("preprocess: input size must be positive");
  const bool want_rgb = spec.channel_order != "BGR";

  cv::Mat ordered;
  switch (frame.channels()) {
    case 1:
      cv::cvtColor(frame, ordered, want_rgb ? cv::COLOR_GRAY2RGB : cv::COLOR_GRAY2BGR);
      break;
    case 3:
      if (want_rgb) {
        cv::cvtColor(frame, ordered, cv::COLOR_BGR2RGB);
      } else {
        ordered = frame;
      }
      break;
    case 4:
      cv::cvtColor(frame, ordered, want_rgb ? cv::COLOR_BGRA2RGB : cv::COLOR_BGRA2BGR);
      break;
    default:
      throw std::invalid_argument("preprocess: expected 1, 3 or 4 channels, got " +
                                  std::to_string(frame.channels()));
  }

  const cv::Size target(spec.width, spec.height);
  cv::Mat resized;
  if (ordered.size() == target) {
    resized = ordered;
  } else {
    cv::resize(ordered, resized, target, 0, 0, interpolation_for(ordered.size(), target));
  }

  ImageTensor out;
  out.channels = 3;
  out.height = spec.height;
  out.width = spec.width;
  const std::size_t plane = static_cast<std::size_t>(spec.height) * spec.width;
  out.data.resize(3 * plane);
  // (v / scale - mean) / std == v * a + b: one multiply-add per value.
  float a[3], b[3];
  for (int c = 0; c < 3; ++c) {
    a[c] = 1.0f / (spec.scale * spec.std[c]);
    b[c] = -spec.mean[c] / spec.std[c];
  }
  for (int y = 0; y < spec.height; ++y) {
    const uint8_t* row = resized.ptr<uint8_t>(y);
    float* dst[3];
    for (int c = 0; c < 3; ++c)
      dst[c] = out.data.data() + c * plane + static_cast<std::size_t>(y) * spec.width;
    for (int x = 0; x < spec.width; ++x) {
      for (int c = 0; c < 3; ++c) dst[c][x] = static_cast<float>(row[3 * x + c]) * a[c] + b[c];
    }
  }
  return out;
}

}  // namespace edgecap
