#pragma once
// SHA-256, so the app can say exactly which model file it loaded.
#include <cstdint>
#include <string>
#include <string_view>

namespace edgecap {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file(const std::string& path);  // throws std::runtime_error if unreadable

}  // namespace edgecap
