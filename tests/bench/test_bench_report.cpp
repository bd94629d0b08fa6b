#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "edgecap/bench_report.h"
#include "edgecap/error.h"

namespace edgecap {
namespace {

Summary latency(double median) {
  Summary s;
  s.count = 10;
  s.mean = median * 1.1;
  s.median = median;
  s.min = median * 0.9;
  s.max = median * 1.5;
  s.stddev = median * 0.05;
  s.p90 = s.p95 = s.p99 = median * 1.3;
  s.cv = s.stddev / s.mean;
  return s;
}

VariantResult measured(const std::string& key, const std::string& precision, uint64_t bytes, double median,
                       double recall, double agreement) {
  VariantResult v;
  v.model_key = key;
  v.model_label = key == "original" ? "Original Model" : "Pruned Model";
  v.precision = precision;
  v.path = "models/" + key + "_" + precision + ".pt";
  v.file_bytes = bytes;
  v.parameters = 1000000;
  v.nonzero_parameters = 900000;
  v.macs = 50000000;
  v.latency = latency(median);
  v.preprocess = latency(0.1);
  v.encode = latency(median * 0.4);
  v.decode = latency(median * 0.5);
  v.mean_tokens = 9;
  v.captions_per_s = 1000 / v.latency.mean;
  v.tokens_per_s = 9 * v.captions_per_s;
  v.quality.object_recall = recall;
  v.quality.exact_match_vs_fp32 = agreement;
  v.quality.bleu4_vs_fp32 = agreement;
  v.quality.bleu4_vs_refs = 0.3;
  v.sample_captions = {"a dog on the grass"};
  return v;
}

BenchResult sample_result(bool refs = true) {
  BenchResult r;
  r.env.cpu_model = "Test CPU";
  r.env.torch_version = "1.13.1";
  r.env.intra_op_threads = 2;
  r.env.date_utc = "2026-11-25T00:00:00Z";
  r.env.git_commit = "abc123";
  r.env.has_references = refs;
  r.env.image_count = 4;
  r.env.iterations = 10;
  r.variants.push_back(measured("original", "fp32", 4000000, 10.0, 0.8, 1.0));
  VariantResult fp16;
  fp16.model_key = "original";
  fp16.model_label = "Original Model";
  fp16.precision = "fp16";
  fp16.available = false;
  fp16.reason = "no CPU half kernels, in LibTorch 1.13";  // comma: must be quoted in CSV
  r.variants.push_back(fp16);
  r.variants.push_back(measured("original", "int8", 1000000, 5.0, 0.6, 0.5));
  VariantResult failed;
  failed.model_key = "pruned";
  failed.model_label = "Pruned Model";
  failed.precision = "fp32";
  failed.failed = true;
  failed.reason = "contract broken: step missing";
  r.variants.push_back(failed);
  r.warnings.push_back("Original INT8: latency coefficient of variation 40%");
  return r;
}

// Splits CSV text into rows of cells, honouring quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(cell);
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST(RelativeTable, ComputedAgainstOriginalFp32) {
  auto t = relative_table(sample_result());
  EXPECT_EQ(t.baseline, "Original FP32");
  EXPECT_EQ(t.accuracy_basis, "object recall");
  ASSERT_EQ(t.rows.size(), 2u);  // unavailable and failed variants are not rows
  EXPECT_DOUBLE_EQ(*t.rows[0].size_pct, 100.0);
  EXPECT_DOUBLE_EQ(*t.rows[0].speed_pct, 100.0);
  EXPECT_EQ(t.rows[1].label, "Original INT8");
  EXPECT_DOUBLE_EQ(*t.rows[1].size_pct, 25.0);
  EXPECT_DOUBLE_EQ(*t.rows[1].speed_pct, 200.0);  // half the latency = twice the speed
  EXPECT_DOUBLE_EQ(*t.rows[1].accuracy_pct, 75.0);
}

TEST(RelativeTable, UsesAgreementWithoutReferences) {
  auto t = relative_table(sample_result(false));
  EXPECT_EQ(t.accuracy_basis, "exact-match agreement with FP32");
  EXPECT_DOUBLE_EQ(*t.rows[1].accuracy_pct, 50.0);
}

TEST(RelativeTable, FallsBackToFirstMeasuredVariant) {
  BenchResult r = sample_result();
  r.variants.erase(r.variants.begin());  // no Original FP32
  auto t = relative_table(r);
  EXPECT_EQ(t.baseline, "Original INT8");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_DOUBLE_EQ(*t.rows[0].speed_pct, 100.0);
}

TEST(RelativeTable, MissingQualityIsNotAPercentage) {
  BenchResult r = sample_result();
  r.variants[2].quality.object_recall.reset();
  auto t = relative_table(r);
  EXPECT_FALSE(t.rows[1].accuracy_pct.has_value());
  EXPECT_TRUE(relative_table(BenchResult{}).rows.empty());
}

TEST(Csv, EveryRowHasTheHeaderWidthAndReasonsAreQuoted) {
  auto rows = parse_csv(format_csv(sample_result()));
  ASSERT_EQ(rows.size(), 5u);  // header + 4 variants, unavailable ones included
  for (const auto& row : rows) EXPECT_EQ(row.size(), rows[0].size());
  EXPECT_EQ(rows[0][0], "model");
  EXPECT_EQ(rows[2][2], "unavailable");
  EXPECT_EQ(rows[2][3], "no CPU half kernels, in LibTorch 1.13");
  EXPECT_EQ(rows[4][2], "failed");
  auto col = [&](const std::string& name) {
    return std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin();
  };
  EXPECT_EQ(rows[3][col("latency_median_ms")], "5");
  EXPECT_EQ(rows[3][col("file_bytes")], "1000000");
  EXPECT_EQ(rows[1][col("cpu_model")], "Test CPU");
  EXPECT_EQ(rows[2][col("latency_median_ms")], "");  // nothing measured, nothing written
}

TEST(Json, CarriesVariantsRelativeTableAndEnvironment) {
  auto j = nlohmann::json::parse(format_json(sample_result()));
  ASSERT_EQ(j["variants"].size(), 4u);
  EXPECT_EQ(j["variants"][0]["status"], "ok");
  EXPECT_DOUBLE_EQ(j["variants"][0]["latency_ms"]["median"].get<double>(), 10.0);
  EXPECT_EQ(j["variants"][1]["status"], "unavailable");
  EXPECT_FALSE(j["variants"][1].contains("latency_ms"));
  EXPECT_EQ(j["variants"][3]["status"], "failed");
  EXPECT_TRUE(j["variants"][0]["memory_mb"]["gpu"].is_null());
  EXPECT_EQ(j["relative"]["baseline"], "Original FP32");
  EXPECT_DOUBLE_EQ(j["relative"]["rows"][1]["speed_pct"].get<double>(), 200.0);
  EXPECT_EQ(j["environment"]["torch_version"], "1.13.1");
  EXPECT_EQ(j["environment"]["git_commit"], "abc123");
  EXPECT_EQ(j["warnings"].size(), 1u);
}

TEST(Markdown, HasTheSeedTableAndTheReasons) {
  std::string md = format_markdown(sample_result());
  EXPECT_NE(md.find("| Original INT8 | 25% | 200% | 75% |"), std::string::npos) << md;
  EXPECT_NE(md.find("Original FP16: unavailable: no CPU half kernels"), std::string::npos);
  EXPECT_NE(md.find("Pruned FP32: failed: contract broken"), std::string::npos);
  EXPECT_NE(md.find("Test CPU"), std::string::npos);
  EXPECT_NE(md.find("\"a dog on the grass\""), std::string::npos);
}

TEST(Terminal, AlignsColumnsAndFlagsHighVariance) {
  BenchResult r = sample_result();
  r.variants[2].latency.cv = 0.4;
  std::string t = format_terminal(r);
  EXPECT_NE(t.find("40.0% !"), std::string::npos) << t;
  EXPECT_NE(t.find("warning: Original INT8"), std::string::npos);
  // rows of one table have the same width
  std::istringstream in(t);
  std::string line, header;
  std::vector<std::size_t> widths;
  while (std::getline(in, line)) {
    if (line.rfind("variant ", 0) == 0) header = line;
    if (!header.empty() && line.rfind("Original", 0) == 0) {
      EXPECT_EQ(line.size(), header.size()) << line;
      break;
    }
  }
  EXPECT_FALSE(header.empty());
}

TEST(Chart, DrawsMarkersSizedByFile) {
  cv::Mat img = draw_chart(sample_result(), 800, 500);
  ASSERT_EQ(img.cols, 800);
  ASSERT_EQ(img.rows, 500);
  ASSERT_EQ(img.type(), CV_8UC3);
  // FP32 markers are blue, INT8 orange: count strongly coloured pixels of each
  int blue = 0, orange = 0;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      cv::Vec3b p = img.at<cv::Vec3b>(y, x);
      if (p[0] > 150 && p[2] < 80) ++blue;
      if (p[2] > 200 && p[0] < 80) ++orange;
    }
  }
  EXPECT_GT(blue, 0);
  EXPECT_GT(orange, 0);
  EXPECT_GT(blue, orange);  // the FP32 file is 4x larger, so its marker is larger
}

TEST(Chart, EmptyResultStillDraws) {
  cv::Mat img = draw_chart(BenchResult{}, 640, 400);
  EXPECT_EQ(img.size(), cv::Size(640, 400));
}

TEST(WriteReports, WritesFourReadableFiles) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "edgecap_test_reports";
  fs::remove_all(dir);
  auto paths = write_reports(sample_result(), (dir / "sub").string());
  ASSERT_EQ(paths.size(), 4u);
  for (const auto& p : paths) EXPECT_GT(fs::file_size(p), 0u) << p;
  EXPECT_FALSE(cv::imread((dir / "sub" / "bench.png").string()).empty());
  std::ifstream json(dir / "sub" / "bench.json");
  EXPECT_NO_THROW(nlohmann::json::parse(json));
  fs::remove_all(dir);
}

TEST(WriteReports, UnwritableFolderIsABenchError) {
  namespace fs = std::filesystem;
  fs::path file = fs::temp_directory_path() / "edgecap_test_not_a_dir";
  std::ofstream(file) << "x";
  EXPECT_THROW(write_reports(sample_result(), (file / "out").string()), BenchError);
  fs::remove(file);
}

}  // namespace
}  // namespace edgecap
