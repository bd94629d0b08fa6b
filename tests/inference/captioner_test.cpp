// Loads the committed tiny model (tests/data, made by tools/make_test_model.py): its captions are
// meaningless, but loading, the contract check, precisions and the search all run for real.
#include "edgecap/captioner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "edgecap/error.h"
#include "edgecap/hash.h"
#include "../support/temp_dir.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;

std::string data_path(const std::string& name) {
  return std::string(EDGECAP_SOURCE_DIR) + "/tests/data/" + name;
}

LoadOptions options(const std::string& name, Precision precision = Precision::kFP32) {
  LoadOptions o;
  o.path = data_path(name);
  o.precision = precision;
  return o;
}

std::string load_error(const LoadOptions& o) {
  try {
    Captioner c(o);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(loaded without error)";
}

// A frame with structure, so the encoder sees more than a constant.
cv::Mat test_frame() {
  cv::Mat frame(48, 64, CV_8UC3);
  for (int y = 0; y < frame.rows; ++y)
    for (int x = 0; x < frame.cols; ++x)
      frame.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(4 * x), static_cast<uchar>(5 * y), static_cast<uchar>((x * y) % 256));
  return frame;
}

using edgecap::test_support::TempDir;

void check_caption(const Caption& c, const ModelMetadata& meta) {
  EXPECT_GE(c.times.preprocess_ms, 0.0);
  EXPECT_GE(c.times.encode_ms, 0.0);
  EXPECT_GE(c.times.decode_ms, 0.0);
  EXPECT_GE(c.times.total_ms, c.times.encode_ms);
  EXPECT_GE(c.steps, 1);
  EXPECT_LE(c.steps, meta.max_caption_length);
  EXPECT_LE(static_cast<int>(c.tokens.size()), meta.max_caption_length);
  for (int64_t t : c.tokens) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int64_t>(meta.vocab.size()));
    EXPECT_NE(t, meta.special.end);
  }
  EXPECT_EQ(c.words.size(), c.tokens.size());  // the tiny model never emits <pad>/<start>
  EXPECT_EQ(c.text, join_words(c.words));
  EXPECT_EQ(c.token_log_probs.size(), c.tokens.size() + (c.finished ? 1 : 0));
  for (float lp : c.token_log_probs) EXPECT_LE(lp, 1e-4f);
  EXPECT_TRUE(std::isfinite(c.score));
}

TEST(Captioner, LoadsTheTinyModelAndReportsTheFile) {
  Captioner captioner(options("tiny_model.pt"));
  const ModelMetadata& meta = captioner.metadata();
  EXPECT_EQ(meta.variant, "test");
  EXPECT_EQ(meta.vocab.size(), 14u);
  EXPECT_EQ(meta.input.height, 32);
  const LoadInfo& info = captioner.load_info();
  EXPECT_EQ(info.file_bytes, fs::file_size(data_path("tiny_model.pt")));
  EXPECT_EQ(info.sha256, sha256_file(data_path("tiny_model.pt")));
  EXPECT_EQ(info.sha256.size(), 64u);
  EXPECT_GT(info.load_ms, 0.0);
  EXPECT_TRUE(info.quantized_engine.empty());
  EXPECT_EQ(captioner.precision(), Precision::kFP32);
  EXPECT_EQ(captioner.device(), Device::kCPU);
}

TEST(Captioner, GreedyCaptionIsDeterministicAndWellFormed) {
  Captioner captioner(options("tiny_model.pt"));
  const cv::Mat frame = test_frame();
  const Caption first = captioner.caption(frame);
  const Caption second = captioner.caption(frame);
  check_caption(first, captioner.metadata());
  EXPECT_EQ(first.tokens, second.tokens);
  EXPECT_EQ(first.text, second.text);
  EXPECT_FLOAT_EQ(first.score, second.score);
  // The tiny model's attention covers its 8x8 grid; every map is a distribution.
  EXPECT_EQ(first.grid_h, 8);
  EXPECT_EQ(first.grid_w, 8);
  ASSERT_EQ(first.attention.size(), first.tokens.size());
  for (const auto& map : first.attention) {
    ASSERT_EQ(map.size(), 64u);
    EXPECT_NEAR(std::accumulate(map.begin(), map.end(), 0.0), 1.0, 1e-4);
  }
}

TEST(Captioner, BeamSearchRunsThroughTheStateReordering) {
  Captioner captioner(options("tiny_model.pt"));
  const cv::Mat frame = test_frame();
  const Caption beam = captioner.caption(frame, 3);
  check_caption(beam, captioner.metadata());
  EXPECT_EQ(captioner.caption(frame, 3).tokens, beam.tokens);
  // Beam 1 is greedy.
  EXPECT_EQ(captioner.caption(frame, 1).tokens, captioner.caption(frame, 0).tokens);
}

TEST(Captioner, Int8SiblingLoadsWithAQuantizedEngine) {
  Captioner captioner(options("tiny_model.int8.pt", Precision::kINT8));
  const std::string engine = captioner.load_info().quantized_engine;
  const RuntimeInfo rt = runtime_info();
  EXPECT_THAT(engine, AnyOf("qnnpack", "onednn"));
  EXPECT_NE(std::find(rt.quantized_engines.begin(), rt.quantized_engines.end(), engine),
            rt.quantized_engines.end());
  EXPECT_EQ(captioner.metadata().precision, "int8");
  const Caption c = captioner.caption(test_frame());
  check_caption(c, captioner.metadata());
  EXPECT_EQ(captioner.caption(test_frame()).tokens, c.tokens);
}

TEST(Captioner, PrecisionMustMatchTheFile) {
  EXPECT_THAT(load_error(options("tiny_model.pt", Precision::kINT8)),
              HasSubstr("INT8 needs the quantized sibling (*.int8.pt)"));
  EXPECT_THAT(load_error(options("tiny_model.int8.pt", Precision::kFP32)),
              HasSubstr("holds INT8 (quantized) weights"));
}

TEST(Captioner, Fp16OnCpuIsRefusedWithTheReason) {
  EXPECT_THAT(
      load_error(options("tiny_model.pt", Precision::kFP16)),
      HasSubstr(
          "FP16 needs CUDA: LibTorch 1.13 has no CPU half kernels for conv/linear; use FP32, BF16 or INT8"));
}

TEST(Captioner, Bf16Runs) {
  Captioner captioner(options("tiny_model.pt", Precision::kBF16));
  EXPECT_EQ(captioner.precision(), Precision::kBF16);
  const Caption c = captioner.caption(test_frame());
  check_caption(c, captioner.metadata());
  ASSERT_FALSE(c.attention.empty());
  EXPECT_NEAR(std::accumulate(c.attention[0].begin(), c.attention[0].end(), 0.0), 1.0, 0.05);
}

TEST(Captioner, CudaRefusedWithoutAGpu) {
  if (runtime_info().cuda_available) GTEST_SKIP() << "this machine has CUDA";
  LoadOptions o = options("tiny_model.pt");
  o.device = Device::kCUDA;
  EXPECT_THAT(load_error(o), HasSubstr("CUDA was asked for but is not available"));
}

TEST(Captioner, BrokenModelsAreRefusedNamingTheRule) {
  EXPECT_THAT(load_error(options("broken_no-step.pt")), HasSubstr("has no 'step' method"));
  EXPECT_THAT(load_error(options("broken_no-metadata.pt")), HasSubstr("has no edgecap.json metadata"));
  EXPECT_THAT(load_error(options("broken_bad-json.pt")), HasSubstr("edgecap.json is not valid JSON"));
  EXPECT_THAT(load_error(options("broken_vocab-mismatch.pt")),
              HasSubstr("step returns 14 log-probs per row but edgecap.json's vocab has 13 words"));
  const std::string shape = load_error(options("broken_wrong-shape.pt"));
  EXPECT_THAT(shape, HasSubstr("step must return log-probs shaped [1, V] = [1, 14]"));
  EXPECT_THAT(shape, HasSubstr("got [14, 1]"));
}

TEST(Captioner, VerificationCanBeSkipped) {
  LoadOptions o = options("broken_wrong-shape.pt");
  o.verify = false;
  EXPECT_NO_THROW(Captioner c(o));
}

TEST(Captioner, BadPathsAreRefused) {
  TempDir tmp;
  EXPECT_THAT(load_error({tmp.file("absent.pt")}), HasSubstr("model file not found"));
  EXPECT_THAT(load_error({tmp.path().string()}), HasSubstr("is a directory, not a model file"));

  { std::ofstream(tmp.file("empty.pt"), std::ios::binary); }
  EXPECT_THAT(load_error({tmp.file("empty.pt")}), HasSubstr("is empty"));

  std::ifstream in(data_path("tiny_model.pt"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  {
    std::ofstream out(tmp.file("truncated.pt"), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  EXPECT_THAT(load_error({tmp.file("truncated.pt")}), HasSubstr("corrupt or truncated"));

  { std::ofstream(tmp.file("notes.pt")) << "this is a text file, not a model\n"; }
  EXPECT_THAT(load_error({tmp.file("notes.pt")}), HasSubstr("not a TorchScript file"));
}

TEST(Captioner, ReadsMetadataWithoutLoading) {
  const ModelMetadata meta = read_model_metadata(data_path("tiny_model.int8.pt"));
  EXPECT_EQ(meta.precision, "int8");
  EXPECT_EQ(meta.quantized_engine, "onednn");
  EXPECT_EQ(meta.vocab.size(), 14u);
  EXPECT_THROW(read_model_metadata(data_path("broken_no-metadata.pt")), ModelError);
  EXPECT_THROW(read_model_metadata(data_path("absent.pt")), ModelError);
}

// The pixels of tests/inference/make_golden.py pattern(), in OpenCV's BGR order.
cv::Mat golden_frame(int kind) {
  cv::Mat frame(32, 32, CV_8UC3);
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      frame.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((4 * x + 7 * kind * y) % 256),
                                            static_cast<uchar>((5 * y + 40 * kind) % 256),
                                            static_cast<uchar>((x * y * (kind + 1)) % 256));
    }
  }
  return frame;
}

// Same model, same pixels: the C++ preprocessing and search must give the tokens tools/common.py gives
// (greedy and beam 3). A swapped channel order or a wrong normalisation changes them.
TEST(Captioner, MatchesThePythonReference) {
  std::ifstream in(std::string(EDGECAP_SOURCE_DIR) + "/tests/inference/data/tiny_golden.json");
  ASSERT_TRUE(in) << "missing tests/inference/data/tiny_golden.json; run tests/inference/make_golden.py";
  const auto golden = nlohmann::json::parse(in);
  Captioner captioner(options("tiny_model.pt"));
  ASSERT_FALSE(golden.at("cases").empty());
  for (const auto& c : golden.at("cases")) {
    const int kind = c.at("pattern").get<int>();
    const cv::Mat frame = golden_frame(kind);
    const Caption greedy = captioner.caption(frame, 1);
    EXPECT_EQ(greedy.tokens, c.at("greedy").get<std::vector<int64_t>>()) << "pattern " << kind;
    const auto log_probs = c.at("greedy_log_probs").get<std::vector<float>>();
    ASSERT_EQ(greedy.token_log_probs.size(), log_probs.size()) << "pattern " << kind;
    for (std::size_t i = 0; i < log_probs.size(); ++i) {
      EXPECT_NEAR(greedy.token_log_probs[i], log_probs[i], 2e-4) << "pattern " << kind << " token " << i;
    }
    EXPECT_EQ(captioner.caption(frame, 3).tokens, c.at("beam3").get<std::vector<int64_t>>())
        << "pattern " << kind;
  }
}

// freeze + optimize_for_inference must not change what the model says.
TEST(Captioner, OptimizedFp32ModuleCaptionsLikeTheLoadedOne) {
  LoadOptions plain_options = options("tiny_model.pt");
  plain_options.optimize = false;
  Captioner plain(plain_options);
  Captioner optimized(options("tiny_model.pt"));
  EXPECT_FALSE(plain.load_info().optimized);
  EXPECT_TRUE(optimized.load_info().optimized);
  for (int kind = 0; kind < 4; ++kind) {
    const Caption a = plain.caption(golden_frame(kind));
    const Caption b = optimized.caption(golden_frame(kind));
    EXPECT_EQ(a.tokens, b.tokens) << "pattern " << kind;
    ASSERT_EQ(a.token_log_probs.size(), b.token_log_probs.size());
    for (std::size_t i = 0; i < a.token_log_probs.size(); ++i) {
      EXPECT_NEAR(a.token_log_probs[i], b.token_log_probs[i], 1e-4) << "pattern " << kind << " token " << i;
    }
  }
  // Only FP32 on the CPU is optimized; the other precisions run the module as loaded.
  EXPECT_FALSE(Captioner(options("tiny_model.pt", Precision::kBF16)).load_info().optimized);
  EXPECT_FALSE(Captioner(options("tiny_model.int8.pt", Precision::kINT8)).load_info().optimized);
}

// A measurement for the report, not a time limit: prints the median of encode + greedy decode.
TEST(Captioner, ReportsMedianCaptionTime) {
  configure_threads(1);
  Captioner captioner(options("tiny_model.pt"));
  const cv::Mat frame = test_frame();
  captioner.caption(frame);  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    const Caption c = captioner.caption(frame);
    ms.push_back(c.times.encode_ms + c.times.decode_ms);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::cout << "[ measured ] tiny model FP32, 1 thread: median encode+greedy " << median << " ms ("
            << ms.size() << " runs)\n";
  RecordProperty("median_caption_ms", std::to_string(median));
  EXPECT_GT(median, 0.0);
}

TEST(Runtime, ReportsTheBuildAndSetsThreads) {
  configure_threads(1);
  RuntimeInfo rt = runtime_info();
  EXPECT_THAT(rt.torch_version, HasSubstr("1."));
  EXPECT_EQ(rt.intra_op_threads, 1);
  EXPECT_EQ(rt.inter_op_threads, 1);
  EXPECT_FALSE(rt.parallel_info.empty());
  configure_threads(0);
  EXPECT_GE(runtime_info().intra_op_threads, 1);
  configure_threads(1);
}

}  // namespace
}  // namespace edgecap
