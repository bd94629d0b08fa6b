#pragma once
// Frame -> model input, one pure function (docs/MODEL_CONTRACT.md "Preprocessing").
#include <vector>

#include <opencv2/core.hpp>

#include "edgecap/metadata.h"

namespace edgecap {

struct ImageTensor {
  int channels = 3;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // CHW, row-major, normalised
};

// `frame` is 8-bit BGR (3 channels), BGRA (4) or gray (1), as OpenCV delivers it. Throws
// std::invalid_argument for an empty frame or another depth.
ImageTensor preprocess(const cv::Mat& frame, const InputSpec& spec);

}  // namespace edgecap
