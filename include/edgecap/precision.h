#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace edgecap {

enum class Precision { kFP32, kFP16, kBF16, kINT8 };
enum class Device { kCPU, kCUDA };

inline constexpr Precision kAllPrecisions[] = {Precision::kFP32, Precision::kFP16, Precision::kBF16,
                                               Precision::kINT8};

std::string_view to_string(Precision p);       // "fp32", "fp16", "bf16", "int8"
std::string_view display_name(Precision p);    // "FP32 (original)", "FP16 (Half Precision)", ...
std::optional<Precision> parse_precision(std::string_view text);  // case-insensitive; nullopt if unknown
std::string_view to_string(Device d);          // "cpu", "cuda"
std::optional<Device> parse_device(std::string_view text);

}  // namespace edgecap
