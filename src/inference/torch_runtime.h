#pragma once
// Small facts about the LibTorch build for code that must not include torch headers (the catalog).
// Implemented in captioner.cpp, the one file that pays for LibTorch's headers.
#include <string>
#include <vector>

namespace edgecap::detail {

bool cuda_available();
std::vector<std::string> quantized_engines();  // lower case: "qnnpack", "onednn", "fbgemm", ...

}  // namespace edgecap::detail
