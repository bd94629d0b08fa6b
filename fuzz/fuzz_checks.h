#pragma once
// The properties the fuzz targets check, shared with tests/reliability/fuzz_regressions_test.cpp so that
// every input the fuzzer ever found is replayed by the ordinary (and sanitizer) test run.
// Each function returns "" when the input was handled as documented, otherwise what went wrong.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "edgecap/error.h"
#include "edgecap/image_file.h"
#include "edgecap/metadata.h"
#include "edgecap/preprocess.h"

namespace edgecap::fuzz {

// The rules docs/MODEL_CONTRACT.md says a parsed file satisfies, checked on the values as the app uses
// them (floats), so that the fuzzer also finds inputs that slip through validation, not only crashes.
inline std::string metadata_rule_broken(const ModelMetadata& meta) {
  const auto vocab_size = static_cast<int64_t>(meta.vocab.size());
  auto inside = [&](int64_t id) { return id >= 0 && id < vocab_size; };
  if (meta.format_version != 1) return "format_version != 1 accepted";
  if (vocab_size == 0) return "empty vocab accepted";
  if (!inside(meta.special.pad) || !inside(meta.special.start) || !inside(meta.special.end) ||
      !inside(meta.special.unk)) {
    return "special token id outside the vocab accepted";
  }
  if (meta.input.height <= 0 || meta.input.width <= 0) return "non-positive input size accepted";
  if (meta.max_caption_length < 1 || meta.max_caption_length > 200)
    return "max_caption_length outside 1..200";
  for (float s : meta.input.std) {
    if (!std::isfinite(s) || !(s > 0.0f))
      return "input.std accepted but is " + std::to_string(s) + " as a float";
  }
  for (float m : meta.input.mean) {
    if (!std::isfinite(m)) return "input.mean accepted but is not finite as a float";
  }
  if (!std::isfinite(meta.input.scale) || !(meta.input.scale > 0.0f)) {
    return "input.scale accepted but is " + std::to_string(meta.input.scale) + " as a float";
  }
  // The words of any id, in range or not, must be computable without reading out of bounds.
  const std::vector<int64_t> ids{meta.special.start, 0, vocab_size - 1, vocab_size, -1, meta.special.end};
  (void)join_words(tokens_to_words(ids, meta));
  return "";
}

// parse_metadata must turn every malformed text into a ModelError: anything else escaping (a JSON library
// exception, std::bad_alloc from a huge value) would reach main() as an internal error (exit 1) with a
// message that does not tell the user which model file or field is wrong.
inline std::string metadata_violation(std::string_view text) {
  try {
    return metadata_rule_broken(parse_metadata(text));
  } catch (const ModelError&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("parse_metadata let a non-ModelError escape: ") + e.what();
  }
}

// OpenCV's own limit is 2^30 pixels, which lets a 200-byte header ask for gigabytes. Real frames are camera
// sized. OPENCV_IO_MAX_IMAGE_PIXELS = kMaxSide^2 in the environment (read before main) makes OpenCV refuse
// such headers before allocating; this check only keeps preprocess off the few that pass.
constexpr int kMaxSide = 4096;

inline InputSpec spec_from(uint8_t a, uint8_t b) {
  InputSpec spec;
  spec.height = 1 + (a & 0x3f);  // 1..64: small keeps the fuzzer fast; 1 exercises the degenerate resize
  spec.width = 1 + (b & 0x3f);
  spec.channel_order = (a & 0x80) ? "BGR" : "RGB";
  spec.scale = 255.0f;
  spec.mean = {0.485f, 0.456f, 0.406f};
  spec.std = {0.229f, 0.224f, 0.225f};
  return spec;
}

// The frame path of an image file/folder source: decode_image (header size check, cv::imdecode) then
// preprocess. Whatever OpenCV makes of
// the bytes, preprocess must produce exactly the requested shape with finite values or throw
// std::invalid_argument (empty frame, unsupported depth or channel count).
// Layout of `data`: two control bytes (model input size/order, decode flags), then the file.
inline std::string frame_violation(const uint8_t* data, std::size_t size) {
  if (size < 3) return "";
  const InputSpec spec = spec_from(data[0], data[1]);
  // IMREAD_COLOR is what the sources use; IMREAD_UNCHANGED also yields 16-bit, float, 2- and 4-channel
  // images, which preprocess must refuse cleanly rather than misread.
  const int flags = (data[1] & 0x80) ? cv::IMREAD_UNCHANGED : cv::IMREAD_COLOR;
  // A header that declares more than the app accepts is refused before decoding, as read_image_file does.
  const auto declared = image_header_size(data + 2, size - 2);
  if (declared && declared->width * declared->height > int64_t(kMaxSide) * kMaxSide) return "";
  cv::Mat frame;
  if (flags == cv::IMREAD_COLOR) {
    frame = decode_image(data + 2, size - 2, nullptr);  // the sources' own path; must not throw
  } else {
    const cv::Mat bytes(1, static_cast<int>(size - 2), CV_8U, const_cast<uint8_t*>(data + 2));
    try {
      frame = cv::imdecode(bytes, flags);
    } catch (const cv::Exception&) {
      return "";  // OpenCV reports some corrupt headers by throwing; a source counts that as unreadable
    }
  }
  if (frame.rows > kMaxSide || frame.cols > kMaxSide) return "";
  try {
    const ImageTensor t = preprocess(frame, spec);
    const std::size_t expected = static_cast<std::size_t>(3) * spec.height * spec.width;
    if (t.channels != 3 || t.height != spec.height || t.width != spec.width || t.data.size() != expected) {
      return "preprocess returned the wrong shape";
    }
    for (float v : t.data) {
      if (!std::isfinite(v)) return "preprocess returned a non-finite value";
    }
  } catch (const std::invalid_argument&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("preprocess let a non-invalid_argument escape: ") + e.what();
  }
  return "";
}

}  // namespace edgecap::fuzz
