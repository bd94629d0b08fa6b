#pragma once
// Private to edgecap_io: the concrete frame sources behind open_source(), exposed for white-box tests.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/videoio.hpp>

#include "edgecap/frame_source.h"

namespace edgecap::detail {

// Sends a warning to options.on_warning, or to stderr when none is set.
void warn(const SourceOptions& options, const std::string& message);
// Lower-case extension with the dot (".png"), or "" when there is none.
std::string lower_extension(const std::string& path);
bool is_image_extension(const std::string& extension);  // png jpg jpeg bmp webp
// The demo folder: options.demo_dir, else $EDGECAP_DEMO_DIR, else the build's <repo>/samples/scenes.
std::string resolve_demo_dir(const SourceOptions& options);

// A live capture (camera index or stream URL). A grab thread keeps only the newest frame, so read() never
// hands out a frame that sat in a driver queue; when the device stops delivering it is reopened with a
// back-off of 0.5 s doubling to 5 s.
class CameraSource : public FrameSource {
 public:
  // Opens `capture` (returns false on failure); called again on every reconnect.
  using Opener = std::function<bool(cv::VideoCapture& capture)>;

  CameraSource(int index, const SourceOptions& options);  // throws SourceError
  // Any capture as a camera (stream URLs; tests use a video file). Throws SourceError if the first open
  // fails.
  CameraSource(std::string name, Opener opener, const SourceOptions& options);
  ~CameraSource() override;

  FrameStatus read(Frame& out) override;
  std::string describe() const override;
  std::string last_error() const override;
  bool live() const override { return true; }
  int reconnects() const;  // reopen attempts so far

 private:
  void start();
  void grab_loop();

  std::string name_;
  Opener opener_;
  SourceOptions options_;
  cv::VideoCapture capture_;  // touched only by the grab thread once it runs
  std::string geometry_;      // "640x480 @ 30 fps", set at each successful open

  mutable std::mutex mutex_;
  std::condition_variable frame_ready_;
  std::condition_variable stop_requested_;
  bool stop_ = false;
  cv::Mat latest_;
  int64_t latest_index_ = -1;     // frames grabbed since the source opened, across reconnects
  int64_t delivered_index_ = -1;  // the newest frame read() has handed out
  std::chrono::steady_clock::time_point latest_time_;
  std::string state_ = "streaming";
  std::string last_error_;
  int reconnects_ = 0;
  std::thread thread_;
};

// A video file that plays in real time (or frame by frame when options.paced is false).
class VideoFileSource : public FrameSource {
 public:
  VideoFileSource(std::string path, const SourceOptions& options);  // throws SourceError
  FrameStatus read(Frame& out) override;
  std::string describe() const override;
  std::string last_error() const override { return last_error_; }
  bool live() const override { return false; }
  double fps() const { return fps_; }

 private:
  bool open();                      // (re)opens the file and reads frame 0 into current_
  bool advance_to(int64_t target);  // grabs forward; false when the file ends before `target`
  FrameStatus handle_end();

  std::string path_;
  SourceOptions options_;
  cv::VideoCapture capture_;
  double fps_ = 25.0;
  int64_t frame_count_ = 0;  // as the container reports it (an estimate for some formats)
  int width_ = 0, height_ = 0;
  cv::Mat current_;
  int64_t current_index_ = -1;  // position of current_ in the file
  bool started_ = false;        // the first read() starts the clock and returns frame 0
  bool ended_ = false;
  bool warned_truncated_ = false;
  int loops_ = 0;
  std::chrono::steady_clock::time_point play_start_;
  std::string last_error_;
};

// One image file, returned on every read().
class ImageSource : public FrameSource {
 public:
  ImageSource(std::string path, const SourceOptions& options);  // throws SourceError
  FrameStatus read(Frame& out) override;
  std::string describe() const override;
  std::string last_error() const override { return {}; }
  bool live() const override { return false; }

 private:
  std::string path_;
  cv::Mat image_;
};

// The images of a folder in name order, advancing at options.still_fps. Unreadable files are skipped,
// counted and named in a warning once each. `kind` is "folder" or "demo" (for describe()).
class FolderSource : public FrameSource {
 public:
  FolderSource(std::string dir, std::string kind, const SourceOptions& options);  // throws SourceError
  FrameStatus read(Frame& out) override;
  std::string describe() const override;
  std::string last_error() const override { return last_error_; }
  bool live() const override { return false; }
  int skipped() const override { return skipped_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  // Moves `steps` images forward (wrapping when looping) and loads the first readable one from there.
  FrameStatus step_forward(int64_t steps);
  bool load(std::size_t position);  // false (and counted once) when the file cannot be decoded

  std::string dir_;
  std::string kind_;
  SourceOptions options_;
  std::vector<std::string> files_;  // full paths, sorted
  std::vector<bool> unreadable_;
  int skipped_ = 0;
  std::size_t position_ = 0;
  cv::Mat current_;
  int64_t steps_taken_ = 0;  // advances so far; paced mode compares it with the clock
  bool started_ = false;
  bool ended_ = false;
  std::chrono::steady_clock::time_point start_;
  std::string last_error_;
};

}  // namespace edgecap::detail
