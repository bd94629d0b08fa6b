// Replays every committed fuzz input (seed corpora and the inputs the fuzzer found, fuzz/regressions/)
// through the same checks as the libFuzzer targets, so the ordinary and sanitizer test runs keep each
// finding fixed without needing clang or libFuzzer.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../fuzz/fuzz_checks.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(EDGECAP_SOURCE_DIR) / "fuzz" / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
        files.push_back(entry.path());
    }
  }
  return files;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(FuzzRegressions, MetadataInputsAreRefusedWithModelErrorOrSatisfyTheContract) {
  const auto files = inputs_of("metadata");
  ASSERT_GE(files.size(), 10u) << "the metadata seed corpus is missing";
  for (const auto& file : files) {
    EXPECT_EQ(edgecap::fuzz::metadata_violation(read_all(file)), "") << file;
  }
}

TEST(FuzzRegressions, FrameInputsDecodeAndPreprocessOrAreRefusedCleanly) {
  // Only small images are committed here: the 2.7 GB JPEG bomb the fuzzer found is exercised through the
  // binary (binary_faults.py image_bomb), where memory can be bounded.
  const auto files = inputs_of("frame_decode");
  ASSERT_GE(files.size(), 10u) << "the frame_decode seed corpus is missing";
  for (const auto& file : files) {
    const std::string bytes = read_all(file);
    EXPECT_EQ(edgecap::fuzz::frame_violation(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              "")
        << file;
  }
}

}  // namespace
