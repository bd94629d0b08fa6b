#pragma once
// Reading still images (an image source, a folder, `edgecap caption`) without trusting the file: a
// 200-byte header can declare a 900-megapixel JPEG, and OpenCV's own cap (2^30 pixels) lets it allocate
// gigabytes. The declared size is checked before decoding and every decode failure becomes a reason string.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <opencv2/core/mat.hpp>

namespace edgecap {

// 8192 x 8192: far above any camera frame, about 200 MB decoded.
constexpr int64_t kMaxImagePixels = int64_t(8192) * 8192;
// Files larger than this are not read into memory at all.
constexpr std::uintmax_t kMaxImageFileBytes = std::uintmax_t(256) << 20;

struct ImageSize {
  int64_t width = 0;
  int64_t height = 0;
};

// The size a PNG, JPEG, BMP or WebP header declares; nullopt when the format is not recognised or the
// header is cut short (the decoder then decides).
std::optional<ImageSize> image_header_size(const uint8_t* data, std::size_t size);

// Decodes an encoded image to 8-bit BGR. On failure returns an empty Mat and sets *why to a reason a user
// can act on; never throws for anything in the bytes.
cv::Mat decode_image(const uint8_t* data, std::size_t size, std::string* why,
                     int64_t max_pixels = kMaxImagePixels);

// Reads and decodes a file as decode_image does; a missing, unreadable or oversized file is a reason too.
cv::Mat read_image_file(const std::string& path, std::string* why, int64_t max_pixels = kMaxImagePixels);

}  // namespace edgecap
