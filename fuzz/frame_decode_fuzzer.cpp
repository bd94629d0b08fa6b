// libFuzzer target: cv::imdecode + preprocess on arbitrary bytes, the path every file of an image folder
// takes (fuzz/fuzz_checks.h says what must hold).
#include <cstdio>
#include <cstdlib>

#include "fuzz_checks.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS in a static initializer of libopencv_imgcodecs, i.e. before
  // main: setting it here is too late, so scripts/fuzz.sh exports it. Without it a 200-byte JPEG header
  // asks for gigabytes (the first thing this target found) and libFuzzer stops with out-of-memory.
  if (std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS") == nullptr) {
    std::fprintf(stderr, "fuzz_frame_decode: set OPENCV_IO_MAX_IMAGE_PIXELS (scripts/fuzz.sh does)\n");
  }
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
