#include "edgecap/frame_source.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "edgecap/error.h"
#include "sources.h"

namespace fs = std::filesystem;

namespace edgecap {
namespace detail {

void warn(const SourceOptions& options, const std::string& message) {
  if (options.on_warning) {
    options.on_warning(message);
  } else {
    std::cerr << "edgecap: warning: " << message << std::endl;
  }
}

std::string lower_extension(const std::string& path) {
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return extension;
}

bool is_image_extension(const std::string& extension) {
  for (const char* known : {".png", ".jpg", ".jpeg", ".bmp", ".webp"}) {
    if (extension == known) return true;
  }
  return false;
}

std::string resolve_demo_dir(const SourceOptions& options) {
  if (!options.demo_dir.empty()) return options.demo_dir;
  if (const char* env = std::getenv("EDGECAP_DEMO_DIR"); env && *env) return env;
#ifdef EDGECAP_DEFAULT_DEMO_DIR
  return EDGECAP_DEFAULT_DEMO_DIR;
#else
  return {};
#endif
}

}  // namespace detail

namespace {
constexpr const char* kAlternatives = "Use --source demo, a video file, an image or a folder";

bool is_camera_index(const std::string& uri) {
  return !uri.empty() && uri.size() <= 2 &&
         std::all_of(uri.begin(), uri.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::unique_ptr<FrameSource> open_demo(const SourceOptions& options) {
  const std::string dir = detail::resolve_demo_dir(options);
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) {
    throw SourceError(fmt::format(
        "demo scenes not found{}. Set EDGECAP_DEMO_DIR to a folder of images, or use --source with a "
        "video file, an image or a folder",
        dir.empty() ? std::string() : " at " + dir));
  }
  return std::make_unique<detail::FolderSource>(dir, "demo", options);
}
}  // namespace

std::unique_ptr<FrameSource> open_source(const std::string& uri, const SourceOptions& options) {
  if (uri.empty()) throw SourceError(fmt::format("no source given. {}", kAlternatives));
  std::string lower = uri;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (lower == "demo") return open_demo(options);
  if (is_camera_index(uri)) return std::make_unique<detail::CameraSource>(std::stoi(uri), options);
  if (uri.rfind("/dev/video", 0) == 0 && is_camera_index(uri.substr(10))) {
    return std::make_unique<detail::CameraSource>(std::stoi(uri.substr(10)), options);
  }
  if (uri.find("://") != std::string::npos) {  // rtsp://, http://: a live stream, treated like a camera
    return std::make_unique<detail::CameraSource>(
        uri,
        [uri](cv::VideoCapture& capture) {
          return capture.open(uri, cv::CAP_FFMPEG) || capture.open(uri, cv::CAP_GSTREAMER);
        },
        options);
  }
  std::error_code ec;
  const fs::file_status status = fs::status(uri, ec);
  if (fs::is_directory(status)) return std::make_unique<detail::FolderSource>(uri, "folder", options);
  if (fs::is_regular_file(status)) {
    if (detail::is_image_extension(detail::lower_extension(uri))) {
      return std::make_unique<detail::ImageSource>(uri, options);
    }
    return std::make_unique<detail::VideoFileSource>(uri, options);
  }
  if (fs::exists(status)) {
    throw SourceError(
        fmt::format("source {} is neither a regular file nor a folder. {}", uri, kAlternatives));
  }
  throw SourceError(
      fmt::format("source {} does not exist (not a camera index 0-99, 'demo', a file or a folder). {}", uri,
                  kAlternatives));
}

}  // namespace edgecap
