#pragma once
// Captioning off the UI loop: one job in flight at a time, so the preview and the keys never wait for
// the model. The job holds its own reference to the captioner, so `M` can swap models while it runs.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "edgecap/captioner.h"
#include "edgecap/frame_source.h"

namespace edgecap {

struct CaptionJob {
  std::shared_ptr<Captioner> captioner;
  Frame frame;  // the image is cloned on submit: the source may reuse its buffer
  int beam = 1;
  bool automatic = false;
};

struct CaptionResult {
  CaptionJob job;
  Caption caption;
  double frame_age_ms = 0;  // capture -> caption start
  std::string error;        // non-empty: the caption failed (the model keeps running)
};

class CaptionWorker {
 public:
  explicit CaptionWorker(int threads);
  ~CaptionWorker();
  CaptionWorker(const CaptionWorker&) = delete;
  CaptionWorker& operator=(const CaptionWorker&) = delete;

  bool submit(CaptionJob job);  // false while a job is in flight or a result is not collected
  bool busy() const;
  std::optional<CaptionResult> take_result();
  void wait_idle();  // until the job in flight (if any) has a result

 private:
  void run();
  int threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<CaptionJob> job_;
  std::optional<CaptionResult> result_;
  bool working_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace edgecap
