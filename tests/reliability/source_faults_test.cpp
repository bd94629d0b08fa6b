// Fault matrix, frame source rows: a camera that does not exist, videos that end or break mid-stream,
// folders with files that are not images. Opening failures are SourceErrors with a hint; everything that
// happens while frames flow is a FrameStatus, never an exception or a crash.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "edgecap/error.h"
#include "edgecap/frame_source.h"
#include "sources.h"  // src/io: CameraSource with an injectable opener
#include "../support/temp_dir.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

namespace {

using edgecap::test_support::TempDir;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

cv::Mat numbered_frame(int i, cv::Size size = {160, 120}) {
  cv::Mat m(size, CV_8UC3, cv::Scalar((i * 37) % 256, (i * 91) % 256, (i * 53) % 256));
  cv::putText(m, std::to_string(i), {10, 80}, cv::FONT_HERSHEY_SIMPLEX, 2.0, cv::Scalar(255, 255, 255), 3);
  return m;
}

constexpr int kVideoFrames = 60;

// A small MJPG AVI; every frame is a separate JPEG, so damage to one part leaves the others decodable.
fs::path write_video(const fs::path& dir) {
  const fs::path path = dir / "clip.avi";
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30.0, {160, 120});
  if (!writer.isOpened()) return {};
  for (int i = 0; i < kVideoFrames; ++i) writer.write(numbered_frame(i));
  writer.release();
  return path;
}

edgecap::SourceOptions fast_files(bool loop) {
  edgecap::SourceOptions o;
  o.loop = loop;
  o.paced = false;  // every read() is the next frame: the test is about content, not the clock
  return o;
}

struct Drained {
  int ok = 0;
  std::map<edgecap::FrameStatus, int> statuses;
  edgecap::FrameStatus last = edgecap::FrameStatus::kOk;
  std::vector<std::string> labels;
  std::string error;
};

// Reads until the source stops giving frames (or `limit` reads), recording what it said.
Drained drain(edgecap::FrameSource& source, int limit = 5000) {
  Drained d;
  for (int i = 0; i < limit; ++i) {
    edgecap::Frame frame;
    d.last = source.read(frame);
    ++d.statuses[d.last];
    if (d.last == edgecap::FrameStatus::kOk) {
      ++d.ok;
      EXPECT_FALSE(frame.image.empty()) << "kOk without an image at read " << i;
      EXPECT_EQ(frame.image.type(), CV_8UC3) << "frames are 8-bit BGR";
      d.labels.push_back(frame.label);
      continue;
    }
    if (d.last == edgecap::FrameStatus::kError) d.error = source.last_error();
    break;
  }
  return d;
}

TEST(SourceFaults, CameraIndexThatDoesNotExistIsASourceErrorSuggestingDemo) {
  try {
    auto source = edgecap::open_source("7");
    // A machine with an 8th camera would open it; this one has none (/dev/video7).
    if (fs::exists("/dev/video7")) GTEST_SKIP() << "/dev/video7 exists here";
    ADD_FAILURE() << "camera 7 opened: " << source->describe();
  } catch (const edgecap::SourceError& e) {
    EXPECT_EQ(e.code(), edgecap::ExitCode::kSource);
    EXPECT_THAT(lower(e.what()), HasSubstr("demo"));
  }
}

TEST(SourceFaults, MissingFileIsASourceError) {
  EXPECT_THROW(edgecap::open_source("/nonexistent/clip.mp4"), edgecap::SourceError);
}

TEST(SourceFaults, GarbageVideoFileIsASourceError) {
  TempDir dir;
  const fs::path fake = dir.path() / "clip.mp4";
  write_all(fake, std::string(20000, 'x'));
  try {
    auto source = edgecap::open_source(fake.string(), fast_files(false));
    // Some backends open anything and fail on the first read; that must then be a status, not a throw.
    const Drained d = drain(*source);
    EXPECT_EQ(d.ok, 0);
    EXPECT_NE(d.last, edgecap::FrameStatus::kOk);
  } catch (const edgecap::SourceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("clip.mp4"));
  }
}

TEST(SourceFaults, VideoEndIsEndOfStreamAndStaysThere) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty()) << "this OpenCV cannot write MJPG AVI";
  auto source = edgecap::open_source(video.string(), fast_files(false));
  const Drained d = drain(*source);
  EXPECT_EQ(d.ok, kVideoFrames);
  EXPECT_EQ(d.last, edgecap::FrameStatus::kEndOfStream);
  edgecap::Frame frame;
  EXPECT_EQ(source->read(frame), edgecap::FrameStatus::kEndOfStream);
}

TEST(SourceFaults, LoopingVideoRewinds) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty());
  auto source = edgecap::open_source(video.string(), fast_files(true));
  int ok = 0;
  for (int i = 0; i < kVideoFrames * 3; ++i) {
    edgecap::Frame frame;
    if (source->read(frame) == edgecap::FrameStatus::kOk) ++ok;
  }
  EXPECT_EQ(ok, kVideoFrames * 3);
}

TEST(SourceFaults, TruncatedVideoDeliversWhatItHasThenEnds) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty());
  const std::string bytes = read_all(video);
  const fs::path cut = dir.path() / "cut.avi";
  write_all(cut, bytes.substr(0, bytes.size() / 2));  // loses the second half and the AVI index
  try {
    auto source = edgecap::open_source(cut.string(), fast_files(false));
    const Drained d = drain(*source);
    EXPECT_LT(d.ok, kVideoFrames);
    EXPECT_TRUE(d.last == edgecap::FrameStatus::kEndOfStream || d.last == edgecap::FrameStatus::kError)
        << "ended with status " << int(d.last);
    if (d.last == edgecap::FrameStatus::kError) {
      EXPECT_FALSE(d.error.empty());
    }
  } catch (const edgecap::SourceError& e) {
    SUCCEED() << "refused at open: " << e.what();
  }
}

TEST(SourceFaults, TruncatedVideoWithLoopDoesNotSpinOrCrash) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty());
  const std::string bytes = read_all(video);
  const fs::path cut = dir.path() / "cut.avi";
  write_all(cut, bytes.substr(0, bytes.size() / 2));
  try {
    auto source = edgecap::open_source(cut.string(), fast_files(true));
    int ok = 0;
    for (int i = 0; i < 300; ++i) {
      edgecap::Frame frame;
      const edgecap::FrameStatus s = source->read(frame);
      if (s == edgecap::FrameStatus::kOk) ++ok;
      if (s == edgecap::FrameStatus::kError) break;
    }
    EXPECT_GT(ok, 0) << "the intact first half should play (and rewind)";
  } catch (const edgecap::SourceError& e) {
    SUCCEED() << "refused at open: " << e.what();
  }
}

TEST(SourceFaults, VideoCorruptMidStreamKeepsDeliveringOrEndsCleanly) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty());
  std::string bytes = read_all(video);
  // Overwrite a slice in the middle (several JPEG frames) with noise; the length stays the same.
  for (std::size_t i = bytes.size() * 2 / 5; i < bytes.size() * 3 / 5; ++i)
    bytes[i] = static_cast<char>(i * 131);
  const fs::path bad = dir.path() / "corrupt.avi";
  write_all(bad, bytes);
  auto source = edgecap::open_source(bad.string(), fast_files(false));
  const Drained d = drain(*source);
  EXPECT_GT(d.ok, 0);
  EXPECT_NE(d.last, edgecap::FrameStatus::kOk) << "never ended";
  EXPECT_NE(d.last, edgecap::FrameStatus::kTimeout) << "a file is not a live source";
}

TEST(SourceFaults, FolderSkipsAndCountsUnreadableImages) {
  TempDir dir;
  const fs::path folder = dir.path();
  cv::imwrite((folder / "a_good.png").string(), numbered_frame(1));
  cv::imwrite((folder / "c_good.jpg").string(), numbered_frame(2));
  write_all(folder / "b_garbage.png", std::string(3000, '\x5a'));
  write_all(folder / "d_empty.jpg", "");
  const std::string png = read_all(folder / "a_good.png");
  write_all(folder / "e_truncated.png", png.substr(0, png.size() / 3));
  fs::create_directory(folder / "f_directory.png");
  std::mutex m;
  std::vector<std::string> warnings;
  edgecap::SourceOptions options = fast_files(false);
  options.on_warning = [&](const std::string& w) {
    std::lock_guard<std::mutex> lock(m);
    warnings.push_back(w);
  };
  auto source = edgecap::open_source(folder.string(), options);
  const Drained d = drain(*source);
  EXPECT_EQ(d.ok, 2);
  std::string all_warnings;
  for (const auto& w : warnings) all_warnings += w + "\n";
  EXPECT_THAT(all_warnings, HasSubstr("b_garbage.png")) << "the user is told which file was skipped";
  for (const auto& label : d.labels) EXPECT_THAT(label, HasSubstr("good"));
  EXPECT_EQ(d.last, edgecap::FrameStatus::kEndOfStream);
  EXPECT_GE(source->skipped(), 3) << "garbage, empty and truncated files are skipped and counted";
}

TEST(SourceFaults, FolderWithOnlyUnreadableImagesIsRefusedOrReportsAnError) {
  TempDir dir;
  write_all(dir.path() / "x.png", "not an image");
  write_all(dir.path() / "y.jpg", "");
  try {
    auto source = edgecap::open_source(dir.path().string(), fast_files(true));
    const Drained d = drain(*source, 100);
    EXPECT_EQ(d.ok, 0);
    EXPECT_EQ(d.last, edgecap::FrameStatus::kError) << "looping over nothing readable must not spin";
    EXPECT_FALSE(d.error.empty());
  } catch (const edgecap::SourceError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir.path().string()));
  }
}

TEST(SourceFaults, EmptyFolderIsASourceError) {
  TempDir dir;
  EXPECT_THROW(edgecap::open_source(dir.path().string()), edgecap::SourceError);
}

TEST(SourceFaults, ImageDeletedAfterOpeningIsSkippedNotFatal) {
  TempDir dir;
  cv::imwrite((dir.path() / "a.png").string(), numbered_frame(1));
  cv::imwrite((dir.path() / "b.png").string(), numbered_frame(2));
  cv::imwrite((dir.path() / "c.png").string(), numbered_frame(3));
  auto source = edgecap::open_source(dir.path().string(), fast_files(false));
  fs::remove(dir.path() / "b.png");
  const Drained d = drain(*source);
  EXPECT_GE(d.ok, 2);
  EXPECT_NE(d.last, edgecap::FrameStatus::kOk);
}

// The seam: a CameraSource whose "device" is a short video that ends (the camera stops delivering),
// then fails to reopen twice (unplugged), then opens again (plugged back in).
TEST(SourceFaults, CameraThatStopsDeliveringReconnectsWithBackoffAndReportsIt) {
  TempDir dir;
  const fs::path video = write_video(dir.path());
  ASSERT_FALSE(video.empty());
  std::atomic<int> opens{0};
  auto opener = [&](cv::VideoCapture& capture) {
    const int n = opens++;
    if (n == 1 || n == 2) return false;
    return capture.open(video.string());
  };
  std::mutex m;
  std::vector<std::string> warnings;
  edgecap::SourceOptions options;
  options.timeout = std::chrono::milliseconds(250);
  options.on_warning = [&](const std::string& w) {
    std::lock_guard<std::mutex> lock(m);
    warnings.push_back(w);
  };
  edgecap::detail::CameraSource camera("fake camera", opener, options);
  bool saw_ok = false, saw_timeout = false, ok_after_timeout = false;
  std::string timeout_error;
  for (int i = 0; i < 200 && !ok_after_timeout; ++i) {  // at most 200 x 250 ms
    edgecap::Frame frame;
    const edgecap::FrameStatus s = camera.read(frame);
    ASSERT_NE(s, edgecap::FrameStatus::kEndOfStream) << "a camera does not end";
    if (s == edgecap::FrameStatus::kOk) {
      saw_ok = true;
      if (saw_timeout) ok_after_timeout = true;
    } else if (s == edgecap::FrameStatus::kTimeout) {
      saw_timeout = true;
      timeout_error = camera.last_error();
    }
  }
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(saw_timeout) << "a stalled camera reports kTimeout rather than blocking";
  EXPECT_THAT(timeout_error, HasSubstr("fake camera"));
  EXPECT_TRUE(ok_after_timeout) << "frames come back once the device reopens";
  EXPECT_GE(camera.reconnects(), 2);
  std::lock_guard<std::mutex> lock(m);
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings.front(), HasSubstr("stopped delivering"));
}

}  // namespace
