#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <opencv2/core/utils/logger.hpp>

#include "edgecap/error.h"
#include "sources.h"

namespace edgecap::detail {
namespace {
constexpr double kFirstBackoffS = 0.5;
constexpr double kMaxBackoffS = 5.0;

// FFmpeg's own log level: OpenCV reads OPENCV_FFMPEG_LOGLEVEL when it first initialises FFmpeg, i.e. on
// the first open, so setting it before that (without overriding a user's own value) is in time; -8 is
// AV_LOG_QUIET. Called from the constructors only (the opening thread, before the grab thread exists):
// setenv must not race with other threads.
void quiet_ffmpeg(bool backend_logs) {
  if (!backend_logs) setenv("OPENCV_FFMPEG_LOGLEVEL", "-8", /*overwrite=*/0);
}

// Runs the opener with OpenCV's logging off unless backend logs are wanted.
bool open_quietly(const CameraSource::Opener& opener, cv::VideoCapture& capture, bool backend_logs) {
  if (backend_logs) return opener(capture);
  namespace logging = cv::utils::logging;
  const logging::LogLevel previous = logging::setLogLevel(logging::LOG_LEVEL_SILENT);
  bool opened = false;
  try {
    opened = opener(capture);
  } catch (...) {
    logging::setLogLevel(previous);
    throw;
  }
  logging::setLogLevel(previous);
  return opened;
}

std::string describe_geometry(cv::VideoCapture& capture) {
  const int width = int(capture.get(cv::CAP_PROP_FRAME_WIDTH));
  const int height = int(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
  const double fps = capture.get(cv::CAP_PROP_FPS);
  if (width <= 0 || height <= 0) return capture.getBackendName();
  return fps > 0 ? fmt::format("{}x{} @ {:.0f} fps, {}", width, height, fps, capture.getBackendName())
                 : fmt::format("{}x{}, {}", width, height, capture.getBackendName());
}
}  // namespace

CameraSource::CameraSource(int index, const SourceOptions& options)
    : name_(fmt::format("camera {}", index)), options_(options) {
  const std::string device = fmt::format("/dev/video{}", index);
  if (access(device.c_str(), F_OK) != 0) {
    throw SourceError(fmt::format(
        "no camera at index {} ({} missing). Use --source demo, a video file, an image or a folder", index,
        device));
  }
  // V4L2 first: it is the native Linux backend and honours buffer settings; any other backend after.
  opener_ = [index](cv::VideoCapture& capture) {
    return capture.open(index, cv::CAP_V4L2) || capture.open(index, cv::CAP_ANY);
  };
  quiet_ffmpeg(options_.backend_logs);
  if (!open_quietly(opener_, capture_, options_.backend_logs)) {
    throw SourceError(fmt::format(
        "camera {} ({}) exists but could not be opened (in use by another program, or no permission: "
        "check the 'video' group). Use --source demo, a video file, an image or a folder",
        index, device));
  }
  // Drivers that honour it keep one buffered frame; the grab thread makes freshness independent of it.
  capture_.set(cv::CAP_PROP_BUFFERSIZE, 1);
  start();
}

CameraSource::CameraSource(std::string name, Opener opener, const SourceOptions& options)
    : name_(std::move(name)), opener_(std::move(opener)), options_(options) {
  quiet_ffmpeg(options_.backend_logs);
  if (!open_quietly(opener_, capture_, options_.backend_logs)) {
    throw SourceError(
        fmt::format("{} could not be opened. Use --source demo, a video file, an image or a folder", name_));
  }
  start();
}

void CameraSource::start() {
  geometry_ = describe_geometry(capture_);
  thread_ = std::thread([this] { grab_loop(); });
}

CameraSource::~CameraSource() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_requested_.notify_all();
  frame_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CameraSource::grab_loop() {
  double backoff_s = kFirstBackoffS;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
    }
    cv::Mat frame;
    if (capture_.isOpened() && capture_.read(frame) && !frame.empty()) {
      // Some backends hand out views of their own buffers; the copy is ours until the next frame.
      cv::Mat owned = frame.clone();
      std::lock_guard<std::mutex> lock(mutex_);
      latest_ = std::move(owned);
      ++latest_index_;
      latest_time_ = std::chrono::steady_clock::now();
      state_ = "streaming";
      backoff_s = kFirstBackoffS;
      frame_ready_.notify_all();
      continue;
    }
    // The device stopped delivering (unplugged, driver reset, stream dropped): reopen with back-off.
    capture_.release();
    std::string message;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      state_ = fmt::format("reconnecting, retry in {:.1f} s", backoff_s);
      last_error_ =
          fmt::format("{} stopped delivering frames; reconnecting (retry in {:.1f} s)", name_, backoff_s);
      message = last_error_;
      const auto wait = std::chrono::duration<double>(backoff_s);
      if (stop_requested_.wait_for(lock, wait, [this] { return stop_; })) return;
      ++reconnects_;
    }
    if (backoff_s == kFirstBackoffS) warn(options_, message);  // once per outage, not per retry
    backoff_s = std::min(backoff_s * 2.0, kMaxBackoffS);
    if (open_quietly(opener_, capture_, options_.backend_logs)) {
      capture_.set(cv::CAP_PROP_BUFFERSIZE, 1);
      std::string geometry = describe_geometry(capture_);
      std::lock_guard<std::mutex> lock(mutex_);
      geometry_ = std::move(geometry);
    }
  }
}

FrameStatus CameraSource::read(Frame& out) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool fresh = frame_ready_.wait_for(lock, options_.timeout,
                                           [this] { return stop_ || latest_index_ > delivered_index_; });
  if (stop_) return FrameStatus::kError;
  if (!fresh) {
    last_error_ =
        fmt::format("{} delivered no frame for {} ms ({})", name_, options_.timeout.count(), state_);
    return FrameStatus::kTimeout;
  }
  out.image = latest_;
  out.index = latest_index_;
  out.captured = latest_time_;
  out.label.clear();
  delivered_index_ = latest_index_;
  return FrameStatus::kOk;
}

std::string CameraSource::describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fmt::format("{} ({}; {})", name_, geometry_, state_);
}

std::string CameraSource::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

int CameraSource::reconnects() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reconnects_;
}

}  // namespace edgecap::detail
