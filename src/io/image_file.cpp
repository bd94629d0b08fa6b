#include "edgecap/image_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <new>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

namespace edgecap {
namespace {

uint32_t be16(const uint8_t* p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return uint32_t(p[1]) << 8 | p[0]; }
uint32_t le24(const uint8_t* p) { return uint32_t(p[2]) << 16 | le16(p); }
uint32_t le32(const uint8_t* p) { return le16(p + 2) << 16 | le16(p); }

std::optional<ImageSize> jpeg_size(const uint8_t* data, std::size_t size) {
  std::size_t pos = 2;  // after SOI
  while (pos < size) {
    // Like libjpeg's next_marker(): bytes before a marker are skipped (it warns "extraneous bytes" and
    // decodes on), so a header check must resynchronise the same way or a corrupt file slips past it.
    while (pos < size && data[pos] != 0xFF) ++pos;
    while (pos < size && data[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= size) return std::nullopt;
    const uint8_t marker = data[pos++];
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI/SOS before any frame header
    if (pos + 2 > size) return std::nullopt;
    const uint32_t length = be16(data + pos);
    const bool frame_header =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame_header) {
      if (pos + 7 > size) return std::nullopt;
      return ImageSize{be16(data + pos + 5), be16(data + pos + 3)};
    }
    if (length < 2) return std::nullopt;
    pos += length;
  }
  return std::nullopt;
}

std::optional<ImageSize> webp_size(const uint8_t* data, std::size_t size) {
  if (size < 30) return std::nullopt;
  const uint8_t* chunk = data + 12;
  if (std::equal(chunk, chunk + 4, "VP8X")) {
    return ImageSize{int64_t(le24(chunk + 12)) + 1, int64_t(le24(chunk + 15)) + 1};
  }
  if (std::equal(chunk, chunk + 4, "VP8L") && chunk[8] == 0x2F) {
    const uint32_t bits = le32(chunk + 9);
    return ImageSize{int64_t(bits & 0x3FFF) + 1, int64_t((bits >> 14) & 0x3FFF) + 1};
  }
  if (std::equal(chunk, chunk + 4, "VP8 ")) {
    return ImageSize{le16(chunk + 14) & 0x3FFF, le16(chunk + 16) & 0x3FFF};
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageSize> image_header_size(const uint8_t* data, std::size_t size) {
  if (data == nullptr) return std::nullopt;
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size >= 24 && std::equal(kPng, kPng + 8, data)) return ImageSize{be32(data + 16), be32(data + 20)};
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return jpeg_size(data, size);
  if (size >= 26 && data[0] == 'B' && data[1] == 'M') {
    const auto width = int64_t(int32_t(le32(data + 18)));
    const auto height = int64_t(int32_t(le32(data + 22)));
    return ImageSize{width < 0 ? -width : width, height < 0 ? -height : height};
  }
  if (size >= 12 && std::equal(data, data + 4, "RIFF") && std::equal(data + 8, data + 12, "WEBP")) {
    return webp_size(data, size);
  }
  return std::nullopt;
}

cv::Mat decode_image(const uint8_t* data, std::size_t size, std::string* why, int64_t max_pixels) {
  std::string reason;
  cv::Mat image;
  const auto declared = image_header_size(data, size);
  if (declared && declared->width * declared->height > max_pixels) {
    reason = fmt::format("its header declares {}x{} pixels, more than the {} MP limit", declared->width,
                         declared->height, max_pixels / 1000000);
  } else if (size == 0) {
    reason = "empty file";
  } else {
    try {
      // imdecode takes a Mat header over the bytes; it does not modify them.
      const cv::Mat buffer(1, int(size), CV_8UC1, const_cast<uint8_t*>(data));
      image = cv::imdecode(buffer, cv::IMREAD_COLOR);
      if (image.empty()) reason = "corrupt, or a format this OpenCV build cannot decode";
    } catch (const cv::Exception& e) {
      image.release();
      reason = "corrupt or too large: " + e.err;
    } catch (const std::bad_alloc&) {
      image.release();
      reason = "too large to decode in the memory available";
    }
  }
  if (!reason.empty() && why != nullptr) *why = reason;
  return image;
}

cv::Mat read_image_file(const std::string& path, std::string* why, int64_t max_pixels) {
  namespace fs = std::filesystem;
  auto fail = [&](std::string reason) {
    if (why != nullptr) *why = std::move(reason);
    return cv::Mat();
  };
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return fail("no such file");
  if (!fs::is_regular_file(status)) return fail("not a regular file");
  const std::uintmax_t bytes = fs::file_size(path, ec);
  if (ec) return fail("cannot read its size: " + ec.message());
  if (bytes > kMaxImageFileBytes) {
    return fail(fmt::format("{} MB, more than the {} MB limit for an image file", bytes >> 20,
                            kMaxImageFileBytes >> 20));
  }
  std::vector<uint8_t> content(bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.read(reinterpret_cast<char*>(content.data()), std::streamsize(bytes))) {
    return fail("cannot read it (permissions?)");
  }
  return decode_image(content.data(), content.size(), why, max_pixels);
}

}  // namespace edgecap
