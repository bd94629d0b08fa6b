// Writes a small MJPG AVI for the binary fault scenarios (Python here has no OpenCV):
//   edgecap_make_test_video OUT.avi [FRAMES] [FPS]
// Each frame is a separate JPEG, so a truncated or damaged copy still has decodable frames before the cut.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: edgecap_make_test_video OUT.avi [FRAMES] [FPS]\n");
    return 2;
  }
  const int frames = argc > 2 ? std::atoi(argv[2]) : 60;
  const double fps = argc > 3 ? std::atof(argv[3]) : 30.0;
  cv::VideoWriter writer(argv[1], cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, {160, 120});
  if (!writer.isOpened()) {
    std::fprintf(stderr, "edgecap_make_test_video: cannot write %s\n", argv[1]);
    return 1;
  }
  for (int i = 0; i < frames; ++i) {
    cv::Mat m(120, 160, CV_8UC3, cv::Scalar((i * 37) % 256, (i * 91) % 256, (i * 53) % 256));
    cv::putText(m, std::to_string(i), {10, 80}, cv::FONT_HERSHEY_SIMPLEX, 2.0, cv::Scalar(255, 255, 255), 3);
    writer.write(m);
  }
  return 0;
}
