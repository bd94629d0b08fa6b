// Runs the real sweep once (tiny committed model, 1 iteration) and checks that the reports are complete and
// well-formed. No timing is asserted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "edgecap/bench.h"
#include "edgecap/config.h"
#include "edgecap/error.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;

class BenchSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("edgecap_bench_sweep_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "models");
    fs::create_directories(root_ / "images");
    const fs::path data = fs::path(EDGECAP_SOURCE_DIR) / "tests" / "data";
    fs::copy_file(data / "tiny_model.pt", root_ / "models" / "lightweight_captioning_model.pt");
    fs::copy_file(data / "tiny_model.int8.pt", root_ / "models" / "lightweight_captioning_model.int8.pt");
    for (int i = 0; i < 3; ++i) {
      cv::Mat img(48, 64, CV_8UC3, cv::Scalar(40 * i, 200 - 50 * i, 90));
      cv::imwrite((root_ / "images" / ("scene_" + std::to_string(i) + ".png")).string(), img);
    }
    std::ofstream gt(root_ / "images" / "ground_truth.jsonl");
    gt << R"({"image": "scene_0.png", "captions": ["a red car on the grass"], "objects": [{"category": "car"}]})"
       << "\n"
       << R"({"image": "scene_1.png", "captions": ["two dogs"], "objects": [{"category": "dog"}, {"category": "dog"}]})"
       << "\n";
    config_.command = Command::kBench;
    config_.models_dir = (root_ / "models").string();
    config_.pruned_dir = (root_ / "no_pruned_model_here").string();
    config_.bench_images = (root_ / "images").string();
    config_.bench_out = (root_ / "out").string();
    config_.bench_warmup = 0;
    config_.bench_iterations = 1;
    config_.threads = 1;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string read(const std::string& name) {
    std::ifstream in(root_ / "out" / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path root_;
  Config config_;
};

TEST_F(BenchSweep, WritesWellFormedReportsForEveryVariant) {
  std::ostringstream out;
  ASSERT_EQ(run_bench(config_, out), 0) << out.str();

  auto j = nlohmann::json::parse(read("bench.json"));
  EXPECT_EQ(j["environment"]["image_count"], 3);
  EXPECT_TRUE(j["environment"]["has_references"].get<bool>());
  EXPECT_FALSE(j["environment"]["torch_version"].get<std::string>().empty());
  std::map<std::string, nlohmann::json> by_label;
  for (const auto& v : j["variants"]) by_label[v["label"].get<std::string>()] = v;
  ASSERT_EQ(by_label.size(), 8u);  // 2 models x 4 precisions, unavailable ones listed too

  const auto& fp32 = by_label["Original FP32"];
  ASSERT_EQ(fp32["status"], "ok") << fp32.dump();
  EXPECT_EQ(fp32["latency_ms"]["count"], 1);
  EXPECT_GT(fp32["latency_ms"]["median"].get<double>(), 0.0);
  EXPECT_GT(fp32["file_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(fp32["parameters"].get<int64_t>(), 0);
  EXPECT_DOUBLE_EQ(fp32["quality"]["exact_match_vs_fp32"].get<double>(), 1.0);
  EXPECT_FALSE(fp32["quality"]["object_recall"].is_null());  // 3 objects in the ground truth
  EXPECT_EQ(fp32["sample_captions"].size(), 3u);

  const auto& int8 = by_label["Original INT8"];
  ASSERT_EQ(int8["status"], "ok") << int8.dump();
  EXPECT_FALSE(int8["quality"]["exact_match_vs_fp32"].is_null());
  EXPECT_EQ(j["environment"]["quantized_engine"], "onednn");  // what tools/export.py writes

  EXPECT_EQ(by_label["Original FP16"]["status"], "unavailable");  // no CPU half kernels
  EXPECT_FALSE(by_label["Original FP16"]["reason"].get<std::string>().empty());
  EXPECT_EQ(by_label["Pruned FP32"]["status"], "unavailable");
  EXPECT_NE(by_label["Pruned FP32"]["reason"].get<std::string>().find("Pruning_epoch_1_checkpoint.pt"),
            std::string::npos);
  EXPECT_EQ(j["relative"]["baseline"], "Original FP32");

  // CSV: header + one row per variant, every row as wide as the header
  std::istringstream csv(read("bench.csv"));
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 9);

  std::string md = read("bench.md");
  EXPECT_NE(md.find("| Original FP32 | 100% | 100% |"), std::string::npos) << md;
  EXPECT_NE(md.find("Pruned FP32: unavailable"), std::string::npos);

  cv::Mat chart = cv::imread((root_ / "out" / "bench.png").string());
  EXPECT_FALSE(chart.empty());
  EXPECT_NE(out.str().find("Relative to Original FP32"), std::string::npos);
}

TEST_F(BenchSweep, NarrowsToOnePrecisionAndStillMeasuresAgreement) {
  config_.model = "original";
  config_.precision = Precision::kINT8;
  std::ostringstream out;
  ASSERT_EQ(run_bench(config_, out), 0) << out.str();
  auto j = nlohmann::json::parse(read("bench.json"));
  ASSERT_EQ(j["variants"].size(), 1u);
  EXPECT_EQ(j["variants"][0]["label"], "Original INT8");
  // agreement with FP32 comes from an untimed FP32 pass, so it is a number, not n/a
  EXPECT_TRUE(j["variants"][0]["quality"]["exact_match_vs_fp32"].is_number()) << j["variants"][0].dump();
}

TEST_F(BenchSweep, WithoutOutWritesNoFiles) {
  config_.bench_out.clear();
  config_.precision = Precision::kFP32;
  std::ostringstream out;
  ASSERT_EQ(run_bench(config_, out), 0) << out.str();
  EXPECT_FALSE(fs::exists(root_ / "out"));
  EXPECT_EQ(out.str().find("wrote "), std::string::npos);
}

TEST_F(BenchSweep, MissingImageSetIsABenchError) {
  config_.bench_images = (root_ / "nothing_here").string();
  std::ostringstream out;
  EXPECT_THROW(run_bench(config_, out), BenchError);
}

}  // namespace
}  // namespace edgecap
