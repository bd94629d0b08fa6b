// libFuzzer target: cv::imdecode + preprocess on arbitrary bytes, the path every file of an image folder
// takes (fuzz/fuzz_checks.h says what must hold).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_checks.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // OpenCV reads this once, before the first decode: giant headers are refused before the allocation.
  const std::string limit = std::to_string(edgecap::fuzz::kMaxSide * edgecap::fuzz::kMaxSide);
  setenv("OPENCV_IO_MAX_IMAGE_PIXELS", limit.c_str(), 0);
  cv::setNumThreads(0);  // single-threaded, as libFuzzer expects
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem = edgecap::fuzz::frame_violation(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_frame_decode: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
