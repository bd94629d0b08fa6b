#include "edgecap/precision.h"

#include <algorithm>
#include <cctype>

namespace edgecap {
namespace {
std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

std::string_view to_string(Precision p) {
  switch (p) {
    case Precision::kFP32: return "fp32";
    case Precision::kFP16: return "fp16";
    case Precision::kBF16: return "bf16";
    case Precision::kINT8: return "int8";
  }
  return "?";
}

std::string_view display_name(Precision p) {
  switch (p) {
    case Precision::kFP32: return "FP32 (original)";
    case Precision::kFP16: return "FP16 (Half Precision)";
    case Precision::kBF16: return "BF16 (bfloat16)";
    case Precision::kINT8: return "INT8 (Quantized)";
  }
  return "?";
}

std::optional<Precision> parse_precision(std::string_view text) {
  const std::string t = lower(text);
  for (Precision p : kAllPrecisions) {
    if (t == to_string(p)) return p;
  }
  if (t == "float32" || t == "float") return Precision::kFP32;
  if (t == "half" || t == "float16") return Precision::kFP16;
  if (t == "bfloat16") return Precision::kBF16;
  if (t == "qint8") return Precision::kINT8;
  return std::nullopt;
}

std::string_view to_string(Device d) { return d == Device::kCUDA ? "cuda" : "cpu"; }

std::optional<Device> parse_device(std::string_view text) {
  const std::string t = lower(text);
  if (t == "cpu") return Device::kCPU;
  if (t == "cuda" || t == "gpu") return Device::kCUDA;
  return std::nullopt;
}

}  // namespace edgecap
