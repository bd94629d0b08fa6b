// Fault matrix, model rows: every way a model file can be wrong must end in a ModelError whose message
// names the problem (the app maps it to exit 3 at start-up, or keeps the previous model on a switch),
// never in a crash, a hang or a LibTorch exception escaping.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "edgecap/captioner.h"
#include "edgecap/error.h"
#include "edgecap/hash.h"
#include "edgecap/model_catalog.h"
#include "../support/temp_dir.h"

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;

namespace {

using edgecap::test_support::TempDir;

const fs::path kData = fs::path(EDGECAP_SOURCE_DIR) / "tests" / "data";
const fs::path kFaultData = fs::path(EDGECAP_SOURCE_DIR) / "tests" / "reliability" / "data";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Loads and returns the ModelError's message; fails the test for success or any other exception.
std::string load_error(const std::string& path, edgecap::Precision precision = edgecap::Precision::kFP32) {
  try {
    edgecap::Captioner captioner({path, precision});
    ADD_FAILURE() << path << " (" << edgecap::to_string(precision) << ") loaded but should have been refused";
  } catch (const edgecap::ModelError& e) {
    EXPECT_EQ(e.code(), edgecap::ExitCode::kModel);
    return lower(e.what());
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": a " << typeid(e).name() << " escaped instead of a ModelError: " << e.what();
  }
  return "";
}

cv::Mat test_frame() {
  cv::Mat frame(48, 64, CV_8UC3);
  cv::randu(frame, cv::Scalar::all(0), cv::Scalar::all(255));
  return frame;
}

TEST(ModelFaults, MissingFileIsRefusedNamingThePath) {
  const std::string path = "/nonexistent/edgecap/model.pt";
  const std::string message = load_error(path);
  EXPECT_THAT(message, HasSubstr(path));
}

TEST(ModelFaults, DirectoryIsRefusedAsNotARegularFile) {
  TempDir dir;
  EXPECT_THAT(load_error(dir.path().string()), AnyOf(HasSubstr("regular file"), HasSubstr("directory")));
}

TEST(ModelFaults, CharacterDeviceIsRefusedAsNotARegularFile) {
  EXPECT_THAT(load_error("/dev/zero"), HasSubstr("regular file"));
}

// A FIFO would block the loader's open() forever if it were opened before the regular-file check.
TEST(ModelFaults, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const fs::path fifo = dir.path() / "model.pt";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(load_error(fifo.string()), HasSubstr("regular file"));
}

TEST(ModelFaults, EmptyFileIsRefused) {
  TempDir dir;
  const fs::path empty = dir.path() / "empty.pt";
  write_all(empty, "");
  EXPECT_FALSE(load_error(empty.string()).empty());
}

TEST(ModelFaults, TruncatedFilesAreRefused) {
  TempDir dir;
  const std::string bytes = read_all(kData / "tiny_model.pt");
  ASSERT_GT(bytes.size(), 1000u);
  // Cut inside the central directory, inside the tensor records and inside the first header.
  for (double fraction : {0.99, 0.5, 0.01}) {
    const fs::path cut = dir.path() / ("cut_" + std::to_string(int(fraction * 100)) + ".pt");
    write_all(cut, bytes.substr(0, static_cast<std::size_t>(bytes.size() * fraction)));
    SCOPED_TRACE(cut.string());
    EXPECT_FALSE(load_error(cut.string()).empty());
  }
}

TEST(ModelFaults, RandomBytesAreRefused) {
  TempDir dir;
  std::mt19937 rng(7);
  std::string noise(50000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  const fs::path garbage = dir.path() / "noise.pt";
  write_all(garbage, noise);
  EXPECT_FALSE(load_error(garbage.string()).empty());
  // A real zip that is not TorchScript.
  write_all(garbage, std::string("PK\x05\x06", 4) + std::string(18, '\0'));
  EXPECT_FALSE(load_error(garbage.string()).empty());
}

TEST(ModelFaults, CorruptedCodeRecordIsRefused) {
  TempDir dir;
  std::string bytes = read_all(kData / "tiny_model.pt");
  // Damage the deflated TorchScript source of the module inside the archive (its first record is the
  // local header; the compressed code follows the name).
  const std::size_t at = bytes.find("code/__torch__/edgecap_model.py");
  ASSERT_NE(at, std::string::npos);
  for (std::size_t i = at + 100; i < at + 400 && i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  const fs::path bad = dir.path() / "bad_code.pt";
  write_all(bad, bytes);
  EXPECT_FALSE(load_error(bad.string()).empty());
}

TEST(ModelFaults, ModuleWithoutStepIsRefusedNamingStep) {
  EXPECT_THAT(load_error((kData / "broken_no-step.pt").string()), HasSubstr("step"));
}

TEST(ModelFaults, MissingMetadataIsRefusedNamingTheExtraFile) {
  EXPECT_THAT(load_error((kData / "broken_no-metadata.pt").string()), HasSubstr("edgecap.json"));
}

TEST(ModelFaults, InvalidMetadataJsonIsRefused) {
  EXPECT_THAT(load_error((kData / "broken_bad-json.pt").string()), HasSubstr("json"));
}

TEST(ModelFaults, VocabularySizeMismatchIsRefusedNamingTheVocab) {
  EXPECT_THAT(load_error((kData / "broken_vocab-mismatch.pt").string()), HasSubstr("vocab"));
}

TEST(ModelFaults, TransposedStepOutputIsRefused) {
  const std::string message = load_error((kData / "broken_wrong-shape.pt").string());
  EXPECT_THAT(message, AnyOf(HasSubstr("shape"), HasSubstr("[1, "), HasSubstr("vocab")));
}

TEST(ModelFaults, SpecialTokenOutsideVocabIsRefused) {
  EXPECT_THAT(load_error((kFaultData / "special_outside_vocab.pt").string()),
              HasSubstr("special_tokens.end"));
}

TEST(ModelFaults, UnknownFormatVersionIsRefused) {
  EXPECT_THAT(load_error((kFaultData / "format_version_2.pt").string()), HasSubstr("format_version"));
}

TEST(ModelFaults, Fp16OnCpuIsRefusedWithTheReason) {
  const std::string message = load_error((kData / "tiny_model.pt").string(), edgecap::Precision::kFP16);
  EXPECT_THAT(message, AnyOf(HasSubstr("fp16"), HasSubstr("half")));
  // The menu shows the same choice as unavailable, with a reason, instead of offering it.
  edgecap::ModelCatalog catalog(kData.string(), kData.string(), edgecap::Device::kCPU);
  const edgecap::ModelEntry entry = catalog.resolve((kData / "tiny_model.pt").string());
  bool seen = false;
  for (const auto& p : catalog.precisions(entry)) {
    if (p.precision != edgecap::Precision::kFP16) continue;
    seen = true;
    EXPECT_FALSE(p.availability.available);
    EXPECT_FALSE(p.availability.reason.empty());
  }
  EXPECT_TRUE(seen);
}

TEST(ModelFaults, Int8PrecisionOnAnFp32FileIsRefused) {
  // The metadata says fp32: asking for INT8 must not silently run FP32 and report it as INT8.
  EXPECT_THAT(load_error((kData / "tiny_model.pt").string(), edgecap::Precision::kINT8), HasSubstr("int8"));
}

TEST(ModelFaults, Fp32WeightsLabelledInt8AreRefusedOrRunAsWhatTheyAre) {
  // Metadata says int8, weights are float: loading as INT8 must either refuse or verify the module.
  try {
    edgecap::Captioner c({(kFaultData / "fp32_labelled_int8.pt").string(), edgecap::Precision::kINT8});
    EXPECT_FALSE(c.caption(test_frame()).text.empty() && c.caption(test_frame()).steps == 0);
  } catch (const edgecap::ModelError& e) {
    SUCCEED() << e.what();
  }
}

TEST(ModelFaults, Int8FileNamingAnEngineThisBuildLacksLoadsWithAnAvailableEngineOrIsRefused) {
  // tests/reliability/data/int8_engine_fbgemm.pt: made for fbgemm, which Debian's LibTorch does not have.
  const edgecap::RuntimeInfo runtime = edgecap::runtime_info();
  const bool has_fbgemm = std::find(runtime.quantized_engines.begin(), runtime.quantized_engines.end(),
                                    "fbgemm") != runtime.quantized_engines.end();
  if (has_fbgemm) GTEST_SKIP() << "this LibTorch has fbgemm; the fault cannot happen here";
  const std::string path = (kFaultData / "int8_engine_fbgemm.pt").string();
  try {
    edgecap::Captioner c({path, edgecap::Precision::kINT8});
    // Dynamic INT8 weights are repacked at load time for the engine in force, so a file is not tied to
    // the engine it was made with; what matters is that the engine in force is one this build has.
    const std::string engine = c.load_info().quantized_engine;
    EXPECT_NE(std::find(runtime.quantized_engines.begin(), runtime.quantized_engines.end(), engine),
              runtime.quantized_engines.end())
        << "engine in force: '" << engine << "'";
    EXPECT_GT(c.caption(test_frame()).steps, 0);
  } catch (const edgecap::ModelError& e) {
    EXPECT_THAT(lower(e.what()), HasSubstr("fbgemm"));
  }
}

TEST(ModelFaults, Int8FileRunsWithAQuantizedEngineSet) {
  edgecap::Captioner c({(kData / "tiny_model.int8.pt").string(), edgecap::Precision::kINT8});
  EXPECT_FALSE(c.load_info().quantized_engine.empty());
  EXPECT_GT(c.caption(test_frame()).steps, 0);
}

TEST(ModelFaults, Int8WeightsLabelledFp32AreNotReportedAsFp32Silently) {
  // Quantized weights behind fp32 metadata: either refused, or loaded and able to caption (not a crash).
  try {
    edgecap::Captioner c({(kFaultData / "int8_labelled_fp32.pt").string(), edgecap::Precision::kFP32});
    EXPECT_GT(c.caption(test_frame()).steps, 0);
  } catch (const edgecap::ModelError& e) {
    SUCCEED() << e.what();
  }
}

TEST(ModelFaults, LoadInfoNamesTheExactFileLoaded) {
  const fs::path path = kData / "tiny_model.pt";
  edgecap::Captioner c({path.string(), edgecap::Precision::kFP32});
  const edgecap::LoadInfo& info = c.load_info();
  EXPECT_EQ(fs::path(info.path), path);
  EXPECT_EQ(info.file_bytes, fs::file_size(path));
  EXPECT_EQ(info.sha256, edgecap::sha256_file(path.string()));
  EXPECT_EQ(info.sha256.size(), 64u);
}

TEST(ModelFaults, AFailedLoadLeavesTheRunningModelWorking) {
  edgecap::Captioner running({(kData / "tiny_model.pt").string(), edgecap::Precision::kFP32});
  const cv::Mat frame = test_frame();
  const edgecap::Caption before = running.caption(frame);
  for (const char* broken : {"broken_wrong-shape.pt", "broken_no-step.pt", "broken_vocab-mismatch.pt"}) {
    EXPECT_FALSE(load_error((kData / broken).string()).empty());
  }
  EXPECT_FALSE(load_error((kData / "tiny_model.pt").string(), edgecap::Precision::kFP16).empty());
  // Same frame, same model: the failed loads in between must not have touched the running model.
  const edgecap::Caption after = running.caption(frame);
  EXPECT_EQ(after.tokens, before.tokens);
  EXPECT_GT(after.steps, 0);
}

}  // namespace
