#include <cmath>

#include <fmt/format.h>

#include "edgecap/error.h"
#include "sources.h"

namespace edgecap::detail {
namespace {
// Containers that report no (or an absurd) frame rate still play at a believable speed.
constexpr double kFallbackFps = 25.0;
// A file that ends before this share of the frames its container announced was cut short.
constexpr double kTruncatedShare = 0.9;

// File backends only: CAP_ANY would also probe camera backends (FireWire, gPhoto) that are slow to give
// up on a file path and leak memory in libusb on the way (seen under LeakSanitizer).
bool open_file(cv::VideoCapture& capture, const std::string& path) {
  // (GStreamer is left out: on a file it cannot play it prints an OpenCV assertion over the terminal.)
  for (const int backend : {cv::CAP_FFMPEG, cv::CAP_OPENCV_MJPEG}) {
    if (capture.open(path, backend)) return true;
  }
  return false;
}
}  // namespace

VideoFileSource::VideoFileSource(std::string path, const SourceOptions& options)
    : path_(std::move(path)), options_(options) {
  if (!open_file(capture_, path_)) {
    throw SourceError(fmt::format(
        "cannot open video {}: no OpenCV backend reads it (not a video, or a codec FFmpeg lacks). "
        "Use --source demo, an image or a folder",
        path_));
  }
  const double fps = capture_.get(cv::CAP_PROP_FPS);
  fps_ = (fps > 0.5 && fps < 1000.0) ? fps : kFallbackFps;
  frame_count_ = int64_t(capture_.get(cv::CAP_PROP_FRAME_COUNT));
  width_ = int(capture_.get(cv::CAP_PROP_FRAME_WIDTH));
  height_ = int(capture_.get(cv::CAP_PROP_FRAME_HEIGHT));
  if (!capture_.read(current_) || current_.empty()) {
    throw SourceError(fmt::format("video {} has no readable frame (empty or corrupt file)", path_));
  }
  current_index_ = 0;
}

bool VideoFileSource::open() {
  capture_.release();
  // Reopening instead of seeking to 0: seeking is unreliable for some codecs and for a damaged file.
  if (!open_file(capture_, path_)) return false;
  cv::Mat first;
  if (!capture_.read(first) || first.empty()) return false;
  current_ = std::move(first);
  current_index_ = 0;
  return true;
}

bool VideoFileSource::advance_to(int64_t target) {
  if (target <= current_index_) return true;
  // Frames the viewer would have missed are grabbed but not decoded into images.
  while (current_index_ + 1 < target) {
    if (!capture_.grab()) return false;
    ++current_index_;
  }
  cv::Mat next;
  if (!capture_.read(next) || next.empty()) return false;
  current_ = std::move(next);
  ++current_index_;
  return true;
}

FrameStatus VideoFileSource::handle_end() {
  const int64_t frames_read = current_index_ + 1;
  const bool truncated = frame_count_ > 0 && double(frames_read) < kTruncatedShare * double(frame_count_);
  if (truncated) {
    last_error_ = fmt::format("video {} stopped at frame {} of {} (file truncated or unreadable)", path_,
                              frames_read, frame_count_);
    if (!warned_truncated_) warn(options_, last_error_);  // once, not on every pass of a looping clip
    warned_truncated_ = true;
  }
  if (!options_.loop) {
    ended_ = true;
    return truncated ? FrameStatus::kError : FrameStatus::kEndOfStream;
  }
  if (!open()) {
    ended_ = true;
    last_error_ =
        fmt::format("video {} cannot be read again from the start (file removed or corrupt)", path_);
    return FrameStatus::kError;
  }
  ++loops_;
  play_start_ = std::chrono::steady_clock::now();
  return FrameStatus::kOk;
}

FrameStatus VideoFileSource::read(Frame& out) {
  if (ended_) return last_error_.empty() ? FrameStatus::kEndOfStream : FrameStatus::kError;
  const auto now = std::chrono::steady_clock::now();
  auto captured = now;
  if (!started_) {
    started_ = true;
    play_start_ = now;
  } else {
    int64_t target = current_index_ + 1;
    if (options_.paced) {
      const double elapsed_s = std::chrono::duration<double>(now - play_start_).count();
      target = int64_t(std::floor(elapsed_s * fps_));
    }
    if (!advance_to(target)) {
      const FrameStatus status = handle_end();
      if (status != FrameStatus::kOk) return status;
    }
    if (options_.paced) {
      // The moment this frame became current, so frame-age numbers match what a camera would show.
      captured = play_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(double(current_index_) / fps_));
    }
  }
  out.image = current_;
  out.index = current_index_;
  out.captured = captured;
  out.label.clear();
  return FrameStatus::kOk;
}

std::string VideoFileSource::describe() const {
  std::string text = fmt::format("video {} ({}x{} @ {:.1f} fps", path_, width_, height_, fps_);
  if (frame_count_ > 0) text += fmt::format(", {} frames", frame_count_);
  if (loops_ > 0) text += fmt::format(", looped {}x", loops_);
  if (ended_) text += ", ended";
  return text + ")";
}

}  // namespace edgecap::detail
