#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include "edgecap/error.h"
#include "edgecap/image_file.h"
#include "sources.h"

namespace fs = std::filesystem;

namespace edgecap::detail {

ImageSource::ImageSource(std::string path, const SourceOptions& options) : path_(std::move(path)) {
  std::string why;
  image_ = read_image_file(path_, &why);
  if (image_.empty()) throw SourceError(fmt::format("cannot read image {}: {}", path_, why));
}

FrameStatus ImageSource::read(Frame& out) {
  out.image = image_;
  out.index = 0;
  out.captured = std::chrono::steady_clock::now();
  out.label = fs::path(path_).filename().string();
  return FrameStatus::kOk;
}

std::string ImageSource::describe() const {
  return fmt::format("image {} ({}x{})", path_, image_.cols, image_.rows);
}

FolderSource::FolderSource(std::string dir, std::string kind, const SourceOptions& options)
    : dir_(std::move(dir)), kind_(std::move(kind)), options_(options) {
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && is_image_extension(lower_extension(it->path().string()))) {
      files_.push_back(it->path().string());
    }
  }
  if (ec) throw SourceError(fmt::format("cannot list folder {}: {}", dir_, ec.message()));
  if (files_.empty()) {
    throw SourceError(fmt::format("{} {} has no images (.png .jpg .jpeg .bmp .webp)", kind_, dir_));
  }
  std::sort(files_.begin(), files_.end());
  unreadable_.assign(files_.size(), false);
  // The first readable image is loaded now, so a folder of nothing but broken files fails at start-up.
  for (position_ = 0; position_ < files_.size(); ++position_) {
    if (load(position_)) return;
  }
  throw SourceError(fmt::format("{} {}: none of its {} images can be decoded", kind_, dir_, files_.size()));
}

bool FolderSource::load(std::size_t position) {
  if (unreadable_[position]) return false;
  std::string why;
  cv::Mat image = read_image_file(files_[position], &why);
  if (image.empty()) {
    unreadable_[position] = true;
    ++skipped_;
    warn(options_, fmt::format("skipping unreadable image {} ({})", files_[position], why));
    return false;
  }
  current_ = std::move(image);
  return true;
}

FrameStatus FolderSource::step_forward(int64_t steps) {
  // Only the image that will be shown is decoded; ones passed over while the viewer was away are not.
  const std::size_t count = files_.size();
  std::size_t position = position_;
  for (int64_t i = 0; i < steps; ++i) {
    if (position + 1 >= count && !options_.loop) {
      ended_ = true;
      return FrameStatus::kEndOfStream;
    }
    position = (position + 1) % count;
  }
  for (std::size_t tries = 0; tries < count; ++tries) {
    if (load(position)) {
      position_ = position;
      return FrameStatus::kOk;
    }
    if (position + 1 >= count && !options_.loop) {
      ended_ = true;
      return FrameStatus::kEndOfStream;
    }
    position = (position + 1) % count;
  }
  last_error_ = fmt::format("{} {}: no readable image left ({} skipped)", kind_, dir_, skipped_);
  ended_ = true;
  return FrameStatus::kError;
}

FrameStatus FolderSource::read(Frame& out) {
  if (ended_) return last_error_.empty() ? FrameStatus::kEndOfStream : FrameStatus::kError;
  const auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
  } else {
    int64_t due = steps_taken_ + 1;
    if (options_.paced) {
      const double elapsed_s = std::chrono::duration<double>(now - start_).count();
      due = int64_t(std::floor(elapsed_s * std::max(options_.still_fps, 1e-3)));
    }
    if (due > steps_taken_) {
      const FrameStatus status = step_forward(due - steps_taken_);
      if (status != FrameStatus::kOk) return status;
      steps_taken_ = due;
    }
  }
  out.image = current_;
  out.index = int64_t(position_);
  out.captured = now;
  out.label = fs::path(files_[position_]).filename().string();
  return FrameStatus::kOk;
}

std::string FolderSource::describe() const {
  std::string text = fmt::format("{} {} ({} images", kind_, dir_, files_.size());
  if (skipped_ > 0) text += fmt::format(", {} unreadable skipped", skipped_);
  if (ended_) text += ", ended";
  return text + ")";
}

}  // namespace edgecap::detail
