#include "edgecap/frame_source.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "edgecap/error.h"
#include "sources.h"  // white-box: CameraSource over a video file stands in for a camera

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace edgecap {
namespace {

constexpr int kVideoFrames = 30;
constexpr double kVideoFps = 20.0;

// Frame i of every fixture is a flat gray of level 8*i, so a test can tell which frame it got.
cv::Mat gray_frame(int level, int width = 64, int height = 48) {
  return cv::Mat(height, width, CV_8UC3, cv::Scalar::all(level));
}
double level_of(const cv::Mat& image) { return cv::mean(image)[0]; }
int frame_number_of(const cv::Mat& image) { return int(std::lround(level_of(image) / 8.0)); }

class FrameSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("edgecap_sources_" + std::to_string(::getpid()));
    fs::create_directories(root_);
    video_ = (root_ / "clip.avi").string();
    cv::VideoWriter writer(video_, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), kVideoFps, cv::Size(64, 48));
    ASSERT_TRUE(writer.isOpened());
    for (int i = 0; i < kVideoFrames; ++i) writer.write(gray_frame(8 * i));
    writer.release();

    folder_ = root_ / "folder";
    fs::create_directories(folder_);
    ASSERT_TRUE(cv::imwrite((folder_ / "a.png").string(), gray_frame(8)));
    ASSERT_TRUE(cv::imwrite((folder_ / "b.JPG").string(), gray_frame(16)));
    std::ofstream(folder_ / "c_corrupt.png") << "this is not a png";
    ASSERT_TRUE(cv::imwrite((folder_ / "d.bmp").string(), gray_frame(32)));
    std::ofstream(folder_ / "notes.txt") << "ignored: not an image extension";

    image_ = (root_ / "still.png").string();
    ASSERT_TRUE(cv::imwrite(image_, gray_frame(80, 40, 30)));
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static SourceOptions quiet(std::vector<std::string>* warnings = nullptr) {
    SourceOptions options;
    options.paced = false;
    options.on_warning = [warnings](const std::string& w) {
      if (warnings) warnings->push_back(w);
    };
    return options;
  }

  static fs::path root_;
  static std::string video_;
  static fs::path folder_;
  static std::string image_;
};
fs::path FrameSourceTest::root_;
std::string FrameSourceTest::video_;
fs::path FrameSourceTest::folder_;
std::string FrameSourceTest::image_;

TEST_F(FrameSourceTest, MissingCameraNamesTheAlternatives) {
  if (fs::exists("/dev/video7")) GTEST_SKIP() << "this machine has a /dev/video7";
  try {
    open_source("7");
    FAIL() << "expected SourceError";
  } catch (const SourceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no camera at index 7"));
    EXPECT_THAT(e.what(), HasSubstr("/dev/video7"));
    EXPECT_THAT(e.what(), HasSubstr("--source demo"));
    EXPECT_EQ(e.code(), ExitCode::kSource);
  }
}

TEST_F(FrameSourceTest, MissingPathIsASourceError) {
  EXPECT_THROW(open_source((root_ / "nope.mp4").string()), SourceError);
  EXPECT_THROW(open_source(""), SourceError);
}

TEST_F(FrameSourceTest, FileThatIsNotAVideoIsRefused) {
  const fs::path fake = root_ / "fake.avi";
  std::ofstream(fake) << "no frames in here";
  EXPECT_THROW(open_source(fake.string(), quiet()), SourceError);
}

TEST_F(FrameSourceTest, SingleImageRepeats) {
  auto source = open_source(image_, quiet());
  EXPECT_FALSE(source->live());
  Frame first, second;
  ASSERT_EQ(source->read(first), FrameStatus::kOk);
  ASSERT_EQ(source->read(second), FrameStatus::kOk);
  EXPECT_EQ(first.image.size(), cv::Size(40, 30));
  EXPECT_EQ(first.image.type(), CV_8UC3);
  EXPECT_NEAR(level_of(second.image), 80.0, 1.0);
  EXPECT_EQ(first.label, "still.png");
  EXPECT_THAT(source->describe(), HasSubstr("40x30"));
}

TEST_F(FrameSourceTest, CorruptImageFileIsRefused) {
  EXPECT_THROW(open_source((folder_ / "c_corrupt.png").string(), quiet()), SourceError);
}

TEST_F(FrameSourceTest, FolderSkipsAndReportsUnreadableFilesThenEnds) {
  std::vector<std::string> warnings;
  SourceOptions options = quiet(&warnings);
  options.loop = false;
  auto source = open_source(folder_.string(), options);
  std::vector<std::string> labels;
  Frame frame;
  FrameStatus status;
  while ((status = source->read(frame)) == FrameStatus::kOk && labels.size() < 10)
    labels.push_back(frame.label);
  EXPECT_EQ(status, FrameStatus::kEndOfStream);
  EXPECT_EQ(labels, (std::vector<std::string>{"a.png", "b.JPG", "d.bmp"}));
  EXPECT_EQ(source->skipped(), 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("c_corrupt.png"));
  EXPECT_THAT(source->describe(), HasSubstr("1 unreadable"));
  EXPECT_EQ(source->read(frame), FrameStatus::kEndOfStream);  // stays ended
}

TEST_F(FrameSourceTest, FolderLoopsAndWarnsOncePerFile) {
  std::vector<std::string> warnings;
  auto source = open_source(folder_.string(), quiet(&warnings));
  std::vector<std::string> labels;
  Frame frame;
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(source->read(frame), FrameStatus::kOk);
    labels.push_back(frame.label);
  }
  EXPECT_EQ(labels,
            (std::vector<std::string>{"a.png", "b.JPG", "d.bmp", "a.png", "b.JPG", "d.bmp", "a.png"}));
  EXPECT_EQ(source->skipped(), 1);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(FrameSourceTest, FolderOfBrokenFilesIsRefused) {
  const fs::path broken = root_ / "broken";
  fs::create_directories(broken);
  std::ofstream(broken / "x.png") << "junk";
  std::ofstream(broken / "y.jpg") << "junk";
  EXPECT_THROW(open_source(broken.string(), quiet()), SourceError);
  const fs::path empty = root_ / "empty";
  fs::create_directories(empty);
  EXPECT_THROW(open_source(empty.string(), quiet()), SourceError);
}

TEST_F(FrameSourceTest, PacedFolderAdvancesWithTheClockOnly) {
  SourceOptions options = quiet();
  options.paced = true;
  options.still_fps = 1e-3;  // one image per ~17 minutes: never advances during this test
  auto slow = open_source(folder_.string(), options);
  Frame frame;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(slow->read(frame), FrameStatus::kOk);
    EXPECT_EQ(frame.label, "a.png");
  }
  options.still_fps = 50.0;
  auto fast = open_source(folder_.string(), options);
  ASSERT_EQ(fast->read(frame), FrameStatus::kOk);
  EXPECT_EQ(frame.label, "a.png");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // >= 5 periods have passed
  ASSERT_EQ(fast->read(frame), FrameStatus::kOk);
  EXPECT_NE(frame.label, "a.png");
}

TEST_F(FrameSourceTest, DemoUsesTheGivenFolder) {
  SourceOptions options = quiet();
  options.demo_dir = folder_.string();
  auto source = open_source("demo", options);
  EXPECT_THAT(source->describe(), HasSubstr("demo"));
  Frame frame;
  ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  EXPECT_EQ(frame.label, "a.png");
}

TEST_F(FrameSourceTest, DemoFallsBackToTheEnvironment) {
  setenv("EDGECAP_DEMO_DIR", folder_.string().c_str(), 1);
  EXPECT_EQ(detail::resolve_demo_dir(SourceOptions{}), folder_.string());
  EXPECT_NO_THROW(open_source("demo", quiet()));
  setenv("EDGECAP_DEMO_DIR", (root_ / "no_such_dir").string().c_str(), 1);
  try {
    open_source("demo", quiet());
    FAIL() << "expected SourceError";
  } catch (const SourceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no_such_dir"));
    EXPECT_THAT(e.what(), HasSubstr("EDGECAP_DEMO_DIR"));
  }
  unsetenv("EDGECAP_DEMO_DIR");
  // Without options or environment the build's own samples folder is the default.
  EXPECT_EQ(detail::resolve_demo_dir(SourceOptions{}), std::string(EDGECAP_SOURCE_DIR) + "/samples/scenes");
}

TEST_F(FrameSourceTest, DemoDefaultsToTheRepositoryScenes) {
  const fs::path scenes = fs::path(EDGECAP_SOURCE_DIR) / "samples" / "scenes";
  if (!fs::is_directory(scenes)) GTEST_SKIP() << "samples/scenes not generated in this checkout";
  unsetenv("EDGECAP_DEMO_DIR");
  auto source = open_source("demo", quiet());
  Frame frame;
  ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  EXPECT_FALSE(frame.image.empty());
  EXPECT_EQ(fs::path(frame.label).extension(), ".png");  // ground_truth.jsonl is not an image
  EXPECT_THAT(source->describe(), HasSubstr("demo " + scenes.string()));
}

TEST_F(FrameSourceTest, VideoEndsWithoutLoop) {
  SourceOptions options = quiet();
  options.loop = false;
  auto source = open_source(video_, options);
  EXPECT_FALSE(source->live());
  EXPECT_THAT(source->describe(), HasSubstr("64x48"));
  Frame frame;
  for (int i = 0; i < kVideoFrames; ++i) {
    ASSERT_EQ(source->read(frame), FrameStatus::kOk) << "frame " << i;
    EXPECT_EQ(frame.index, i);
    EXPECT_EQ(frame_number_of(frame.image), i);
  }
  EXPECT_EQ(source->read(frame), FrameStatus::kEndOfStream);
  EXPECT_EQ(source->read(frame), FrameStatus::kEndOfStream);
  EXPECT_TRUE(source->last_error().empty());
}

TEST_F(FrameSourceTest, VideoLoopsBackToTheFirstFrame) {
  auto source = open_source(video_, quiet());
  Frame frame;
  for (int i = 0; i < kVideoFrames; ++i) ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  EXPECT_EQ(frame.index, 0);
  EXPECT_EQ(frame_number_of(frame.image), 0);
  EXPECT_THAT(source->describe(), HasSubstr("looped 1x"));
}

TEST_F(FrameSourceTest, PacedVideoSkipsToTheCurrentFrame) {
  SourceOptions options = quiet();
  options.paced = true;
  auto source = open_source(video_, options);
  Frame frame;
  ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  EXPECT_EQ(frame.index, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 6 frame periods at 20 fps
  ASSERT_EQ(source->read(frame), FrameStatus::kOk);
  EXPECT_GE(frame.index, 6);  // frames in between were skipped, as a camera would drop them
  EXPECT_EQ(frame_number_of(frame.image), frame.index);
  EXPECT_LE(frame.captured, std::chrono::steady_clock::now());
}

TEST_F(FrameSourceTest, TruncatedVideoReportsAnErrorNotACrash) {
  const fs::path cut = root_ / "cut.avi";
  fs::copy_file(video_, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  std::vector<std::string> warnings;
  SourceOptions options = quiet(&warnings);
  options.loop = false;
  // The first half of the frames is intact, so the file opens; it breaks off mid-stream.
  auto source = open_source(cut.string(), options);
  Frame frame;
  FrameStatus status = FrameStatus::kOk;
  for (int i = 0; i < 2 * kVideoFrames && status == FrameStatus::kOk; ++i) status = source->read(frame);
  EXPECT_EQ(status, FrameStatus::kError);
  EXPECT_THAT(source->last_error(), HasSubstr("stopped at frame"));
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(FrameSourceTest, TruncatedVideoStillLoopsAndWarnsOnce) {
  const fs::path cut = root_ / "cut_loop.avi";
  fs::copy_file(video_, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(cut) / 2);
  std::vector<std::string> warnings;
  auto source = open_source(cut.string(), quiet(&warnings));
  Frame frame;
  int rewinds = 0;
  for (int i = 0; i < 3 * kVideoFrames; ++i) {
    ASSERT_EQ(source->read(frame), FrameStatus::kOk) << "read " << i;
    if (i > 0 && frame.index == 0) ++rewinds;
  }
  EXPECT_GE(rewinds, 3);  // the intact half plays over and over
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_THAT(source->last_error(), HasSubstr("truncated"));
}

TEST_F(FrameSourceTest, CameraHandsOutTheNewestFrameAndReconnects) {
  // A video file read as fast as the grab thread can: it delivers all frames, then "unplugs".
  std::atomic<int> opens{0};
  std::atomic<bool> plugged_in{true};
  const std::string path = video_;
  std::vector<std::string> warnings;
  SourceOptions options = quiet(&warnings);
  options.timeout = std::chrono::milliseconds(200);
  detail::CameraSource camera(
      "test camera",
      [&](cv::VideoCapture& capture) {
        ++opens;
        return plugged_in.load() && capture.open(path, cv::CAP_FFMPEG);
      },
      options);
  EXPECT_TRUE(camera.live());
  plugged_in = false;
  for (int i = 0; i < 600 && camera.reconnects() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(camera.reconnects(), 1);

  Frame frame;
  ASSERT_EQ(camera.read(frame), FrameStatus::kOk);
  EXPECT_EQ(frame.index, kVideoFrames - 1);  // the newest, not the first still queued
  EXPECT_EQ(frame_number_of(frame.image), kVideoFrames - 1);
  EXPECT_EQ(camera.read(frame), FrameStatus::kTimeout);  // nothing new since
  EXPECT_THAT(camera.last_error(), HasSubstr("no frame"));
  EXPECT_THAT(camera.describe(), HasSubstr("reconnecting"));
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings[0], HasSubstr("stopped delivering"));

  plugged_in = true;
  FrameStatus status = FrameStatus::kTimeout;
  for (int i = 0; i < 100 && status != FrameStatus::kOk; ++i) status = camera.read(frame);
  ASSERT_EQ(status, FrameStatus::kOk);
  EXPECT_GT(frame.index, kVideoFrames - 1);  // frame numbers keep counting across the reconnect
  EXPECT_GE(opens.load(), 2);
}

}  // namespace
}  // namespace edgecap
