#include "edgecap/preprocess.h"

#include <stdexcept>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

namespace edgecap {
namespace {

InputSpec spec(int h, int w, const char* order = "RGB") {
  InputSpec s;
  s.height = h;
  s.width = w;
  s.channel_order = order;
  s.scale = 255.0f;
  s.mean = {0.485f, 0.456f, 0.406f};
  s.std = {0.229f, 0.224f, 0.225f};
  return s;
}

float normalised(int value, int channel, const InputSpec& s) {
  return (value / s.scale - s.mean[channel]) / s.std[channel];
}

float at(const ImageTensor& t, int c, int y, int x) {
  return t.data[(static_cast<std::size_t>(c) * t.height + y) * t.width + x];
}

TEST(Preprocess, KnownPixelGivesKnownValueInRgbOrder) {
  const InputSpec s = spec(4, 5);
  const cv::Mat frame(4, 5, CV_8UC3, cv::Scalar(10, 20, 30));  // B=10 G=20 R=30
  const ImageTensor t = preprocess(frame, s);
  EXPECT_EQ(t.channels, 3);
  EXPECT_EQ(t.height, 4);
  EXPECT_EQ(t.width, 5);
  ASSERT_EQ(t.data.size(), 3u * 4 * 5);
  EXPECT_NEAR(at(t, 0, 2, 3), normalised(30, 0, s), 1e-5);  // red first
  EXPECT_NEAR(at(t, 1, 2, 3), normalised(20, 1, s), 1e-5);
  EXPECT_NEAR(at(t, 2, 2, 3), normalised(10, 2, s), 1e-5);
  EXPECT_NEAR(at(t, 0, 0, 0), (30 / 255.0f - 0.485f) / 0.229f, 1e-5);
}

TEST(Preprocess, BgrOrderKeepsBlueFirst) {
  const InputSpec s = spec(4, 5, "BGR");
  const cv::Mat frame(4, 5, CV_8UC3, cv::Scalar(10, 20, 30));
  const ImageTensor t = preprocess(frame, s);
  EXPECT_NEAR(at(t, 0, 1, 1), normalised(10, 0, s), 1e-5);
  EXPECT_NEAR(at(t, 2, 1, 1), normalised(30, 2, s), 1e-5);
}

TEST(Preprocess, LayoutIsChwWithRowsInOrder) {
  const InputSpec s = spec(2, 3);
  cv::Mat frame(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  frame.at<cv::Vec3b>(1, 2) = cv::Vec3b(0, 0, 255);  // one red pixel at row 1, column 2
  const ImageTensor t = preprocess(frame, s);
  EXPECT_NEAR(t.data[0 * 6 + 1 * 3 + 2], normalised(255, 0, s), 1e-5);
  EXPECT_NEAR(t.data[0 * 6 + 0 * 3 + 2], normalised(0, 0, s), 1e-5);
  EXPECT_NEAR(t.data[1 * 6 + 1 * 3 + 2], normalised(0, 1, s), 1e-5);
}

TEST(Preprocess, ResizesToTheModelInput) {
  const InputSpec s = spec(32, 48);
  const cv::Mat big(480, 640, CV_8UC3, cv::Scalar(200, 100, 50));
  const ImageTensor t = preprocess(big, s);
  EXPECT_EQ(t.height, 32);
  EXPECT_EQ(t.width, 48);
  ASSERT_EQ(t.data.size(), 3u * 32 * 48);
  // A uniform frame stays uniform through any interpolation.
  EXPECT_NEAR(at(t, 0, 31, 47), normalised(50, 0, s), 1e-4);
  const cv::Mat small(8, 8, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_EQ(preprocess(small, s).data.size(), 3u * 32 * 48);
}

TEST(Preprocess, LargeShrinkAveragesInsteadOfSkipping) {
  // A one-pixel checkerboard shrunk 8x: area averaging gives mid-grey everywhere, while point-like
  // bilinear sampling would return pure black or white (aliasing).
  cv::Mat board(64, 64, CV_8UC3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      board.at<cv::Vec3b>(y, x) = ((x + y) % 2) ? cv::Vec3b(255, 255, 255) : cv::Vec3b(0, 0, 0);
  const InputSpec s = spec(8, 8);
  const ImageTensor t = preprocess(board, s);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) EXPECT_NEAR(at(t, 0, y, x), normalised(127.5, 0, s), 0.02) << y << "," << x;
}

TEST(Preprocess, GrayAndBgraInputs) {
  const InputSpec s = spec(4, 4);
  const cv::Mat gray(4, 4, CV_8UC1, cv::Scalar(100));
  const ImageTensor g = preprocess(gray, s);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(at(g, c, 3, 3), normalised(100, c, s), 1e-5);

  const cv::Mat bgra(4, 4, CV_8UC4, cv::Scalar(10, 20, 30, 7));  // alpha must not leak into a channel
  const ImageTensor b = preprocess(bgra, s);
  EXPECT_NEAR(at(b, 0, 0, 0), normalised(30, 0, s), 1e-5);
  EXPECT_NEAR(at(b, 1, 0, 0), normalised(20, 1, s), 1e-5);
  EXPECT_NEAR(at(b, 2, 0, 0), normalised(10, 2, s), 1e-5);
}

TEST(Preprocess, NonContiguousRoiIsRead) {
  cv::Mat frame(10, 10, CV_8UC3, cv::Scalar(0, 0, 0));
  frame(cv::Rect(2, 2, 4, 4)).setTo(cv::Scalar(0, 0, 200));
  const InputSpec s = spec(4, 4);
  const ImageTensor t = preprocess(frame(cv::Rect(2, 2, 4, 4)), s);
  EXPECT_NEAR(at(t, 0, 3, 3), normalised(200, 0, s), 1e-5);
}

TEST(Preprocess, RefusesEmptyAndWrongDepth) {
  const InputSpec s = spec(4, 4);
  EXPECT_THROW(preprocess(cv::Mat(), s), std::invalid_argument);
  EXPECT_THROW(preprocess(cv::Mat(4, 4, CV_32FC3, cv::Scalar(0.5)), s), std::invalid_argument);
  EXPECT_THROW(preprocess(cv::Mat(4, 4, CV_8UC2, cv::Scalar(1)), s), std::invalid_argument);
}

}  // namespace
}  // namespace edgecap
