#include "caption_worker.h"

#include <exception>

namespace edgecap {

CaptionWorker::CaptionWorker(int threads) : threads_(threads), thread_([this] { run(); }) {}

CaptionWorker::~CaptionWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool CaptionWorker::submit(CaptionJob job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (job_ || working_ || result_) return false;
    job.frame.image = job.frame.image.clone();
    job_ = std::move(job);
  }
  wake_.notify_all();
  return true;
}

bool CaptionWorker::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return job_.has_value() || working_;
}

std::optional<CaptionResult> CaptionWorker::take_result() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<CaptionResult> out = std::move(result_);
  result_.reset();
  return out;
}

void CaptionWorker::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [this] { return !job_ && !working_; });
}

void CaptionWorker::run() {
  // Intra-op thread settings are per thread under OpenMP: apply them where the model runs.
  configure_threads(threads_);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || job_.has_value(); });
    if (stop_) return;
    CaptionResult result;
    result.job = std::move(*job_);
    job_.reset();
    working_ = true;
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    result.frame_age_ms =
        std::chrono::duration<double, std::milli>(start - result.job.frame.captured).count();
    try {
      result.caption = result.job.captioner->caption(result.job.frame.image, result.job.beam);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    lock.lock();
    working_ = false;
    result_ = std::move(result);
    wake_.notify_all();
  }
}

}  // namespace edgecap
