#pragma once
// One input abstraction for camera, video file, image file, image folder and the built-in demo scenes.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace edgecap {

enum class FrameStatus {
  kOk,           // `frame` holds a new or current frame
  kEndOfStream,  // a video/folder ended and looping is off
  kTimeout,      // a live source delivered nothing in time (camera stalled; it keeps retrying)
  kError         // the source failed; `last_error()` says why
};

struct Frame {
  cv::Mat image;                                   // 8-bit BGR
  int64_t index = -1;                              // frame number within the source
  std::chrono::steady_clock::time_point captured;  // when the frame was grabbed
  std::string label;                               // file name for images/folders, "" otherwise
};

struct SourceOptions {
  bool loop = true;                         // rewind videos/folders/demo at the end
  double still_fps = 2.0;                   // how fast a folder/demo advances to its next image
  std::chrono::milliseconds timeout{2000};  // a live source that delivers nothing this long reports kTimeout
  std::string demo_dir;                     // folder of the demo scenes ("" = $EDGECAP_DEMO_DIR, else
                                            // <repo>/samples/scenes of the source tree this was built from)
  // true: videos play at their own fps and stills advance at `still_fps` in wall-clock time, so the
  // "current frame" moves like a camera's. false: every read() returns the next frame (bench, tests).
  bool paced = true;
  // Non-fatal problems (an unreadable image in a folder, a camera reconnecting). Empty = print to stderr.
  std::function<void(const std::string&)> on_warning;
  // false: while a camera or stream is (re)opened, OpenCV's and FFmpeg's own log lines are silenced (a dead
  // stream prints several per retry, every few seconds); edgecap's own message says what failed. -v sets it.
  bool backend_logs = false;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The newest frame (never a stale, buffered one for a live camera). Non-blocking beyond `timeout`.
  virtual FrameStatus read(Frame& out) = 0;
  virtual std::string describe() const = 0;  // "camera 0 (640x480 @ 30 fps)", "folder samples/ (16 images)"
  virtual std::string last_error() const = 0;
  virtual bool live() const = 0;             // camera: true; files: false
  virtual int skipped() const { return 0; }  // unreadable files skipped so far (folders)
};

// Opens "0".."9" (camera index), "demo", a video file, an image file or a folder of images.
// Throws SourceError with a message that names the alternatives (e.g. no camera -> try --source demo).
std::unique_ptr<FrameSource> open_source(const std::string& uri, const SourceOptions& options = {});

}  // namespace edgecap
