#include "edgecap/image_file.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include <opencv2/imgcodecs.hpp>

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace edgecap {
namespace {

std::vector<uint8_t> encode(const cv::Mat& image, const std::string& ext) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes)) << ext;
  return bytes;
}

cv::Mat pattern(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 7), uchar(y * 5), 90);
  return image;
}

class HeaderSize : public ::testing::TestWithParam<std::string> {};

TEST_P(HeaderSize, MatchesWhatOpenCvWrites) {
  const cv::Mat image = pattern(37, 23);
  const auto bytes = encode(image, GetParam());
  const auto size = image_header_size(bytes.data(), bytes.size());
  ASSERT_TRUE(size.has_value()) << GetParam();
  EXPECT_EQ(size->width, 37);
  EXPECT_EQ(size->height, 23);
}

INSTANTIATE_TEST_SUITE_P(Formats, HeaderSize, ::testing::Values(".png", ".jpg", ".bmp", ".webp"));

TEST(ImageHeaderSize, UnknownOrTruncatedIsNullopt) {
  const std::vector<uint8_t> text{'h', 'e', 'l', 'l', 'o'};
  EXPECT_FALSE(image_header_size(text.data(), text.size()).has_value());
  EXPECT_FALSE(image_header_size(nullptr, 0).has_value());
  auto jpeg = encode(pattern(8, 8), ".jpg");
  EXPECT_FALSE(image_header_size(jpeg.data(), 4).has_value());
}

TEST(DecodeImage, RoundTripsAPng) {
  const cv::Mat image = pattern(16, 12);
  const auto bytes = encode(image, ".png");
  std::string why;
  const cv::Mat decoded = decode_image(bytes.data(), bytes.size(), &why);
  ASSERT_FALSE(decoded.empty()) << why;
  EXPECT_EQ(cv::norm(decoded, image, cv::NORM_INF), 0.0);
}

TEST(DecodeImage, RefusesAHeaderAboveTheLimitBeforeDecoding) {
  const auto bytes = encode(pattern(300, 200), ".png");
  std::string why;
  EXPECT_TRUE(decode_image(bytes.data(), bytes.size(), &why, 300 * 199).empty());
  EXPECT_THAT(why, HasSubstr("300x200"));
  EXPECT_FALSE(decode_image(bytes.data(), bytes.size(), &why, 300 * 200).empty());
}

TEST(DecodeImage, GarbageAndEmptyGiveAReason) {
  std::vector<uint8_t> garbage(100, 0x42);
  std::string why;
  EXPECT_TRUE(decode_image(garbage.data(), garbage.size(), &why).empty());
  EXPECT_THAT(why, HasSubstr("corrupt"));
  EXPECT_TRUE(decode_image(garbage.data(), 0, &why).empty());
  EXPECT_THAT(why, HasSubstr("empty"));
}

TEST(ReadImageFile, TheFuzzFoundJpegBombIsRefusedByItsHeader) {
  std::ifstream in(EDGECAP_BOMB_JPEG, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_LT(bytes.size(), 1000u);
  const auto size = image_header_size(bytes.data(), bytes.size());
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 19721);
  EXPECT_EQ(size->height, 45634);
  std::string why;
  EXPECT_TRUE(read_image_file(EDGECAP_BOMB_JPEG, &why).empty());
  EXPECT_THAT(why, HasSubstr("19721x45634"));
}

TEST(ReadImageFile, MissingDirectoryAndTruncatedFiles) {
  const fs::path dir = fs::temp_directory_path() / ("edgecap_image_file_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string why;
  EXPECT_TRUE(read_image_file((dir / "absent.png").string(), &why).empty());
  EXPECT_THAT(why, HasSubstr("no such file"));
  EXPECT_TRUE(read_image_file(dir.string(), &why).empty());
  EXPECT_THAT(why, HasSubstr("not a regular file"));
  const auto bytes = encode(pattern(64, 64), ".jpg");
  {
    std::ofstream out(dir / "cut.jpg", std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size() / 3));
  }
  // libjpeg decodes what is there of a truncated file (grey below); it must not throw or fail oddly.
  EXPECT_NO_THROW((void)read_image_file((dir / "cut.jpg").string(), &why));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgecap
