#pragma once
// The results of `edgecap bench` as plain data, and the pure functions that turn them into the terminal
// table, Markdown, CSV, JSON and the PNG chart. Nothing here measures anything, so it is unit-tested with
// hand-made results.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "edgecap/stats.h"

namespace edgecap {

// Where and how the numbers were taken; printed with every report so a number is never read without it.
struct BenchEnvironment {
  std::string edgecap_version;
  std::string date_utc;    // ISO 8601
  std::string git_commit;  // "" when not a git checkout
  std::string cpu_model;
  int logical_cores = 0;
  int physical_cores = 0;
  int intra_op_threads = 0;
  std::string omp_num_threads;  // $OMP_NUM_THREADS as set ("" = unset)
  std::string openblas_num_threads;
  std::string torch_version;
  std::string quantized_engine;  // engine in force for the INT8 variants ("" when none ran)
  std::string blas_library;
  int blas_threads = -1;  // OpenBLAS's own pool as it ran (-1: not OpenBLAS)
  std::string build_type;
  std::string compiler;
  std::string device;  // "cpu" | "cuda"
  std::string images;  // the image set
  int image_count = 0;
  bool has_references = false;  // ground_truth.jsonl found beside the images
  int warmup = 0;
  int iterations = 0;
  int beam = 1;
};

// Caption quality of one variant over the image set. Fractions in 0..1; nullopt = not measurable.
struct QualityScores {
  std::optional<double> exact_match_vs_fp32;  // captions identical to the same model's FP32 captions
  std::optional<double> bleu4_vs_fp32;        // corpus BLEU-4, FP32 captions as the single reference
  std::optional<double> bleu4_vs_refs;        // corpus BLEU-4 against ground_truth.jsonl captions
  std::optional<double> object_recall;        // ground-truth objects whose category the caption names
};

struct VariantResult {
  std::string model_key;    // "original" | "pruned" | "custom"
  std::string model_label;  // "Original Model", ...
  std::string precision;    // "fp32" | "fp16" | "bf16" | "int8"
  bool available = true;
  std::string reason;   // why it is unavailable, or why it failed while running
  bool failed = false;  // available but loading/running threw; `reason` says what

  std::string path;
  uint64_t file_bytes = 0;
  std::string sha256;
  int64_t parameters = 0;
  int64_t nonzero_parameters = 0;
  int64_t macs = 0;

  std::string decoder;  // which decoder step ran (LoadInfo::decoder)
  double load_ms = 0;
  double first_inference_ms = 0;  // first caption after loading, before any warm-up
  Summary latency;                // model latency per caption (preprocess + encode + decode), ms
  Summary preprocess;
  Summary encode;
  Summary decode;
  double mean_tokens = 0;     // decoder steps per caption, <end> included
  double tokens_per_s = 0;    // decoder steps / total model time
  double captions_per_s = 0;  // 1000 / mean latency

  // Memory: VmRSS/VmHWM are process-wide and all variants share the process, so each variant is charged
  // with the RSS growth it caused.
  double rss_load_delta_mb = 0;         // RSS after load - RSS before load
  double rss_inference_delta_mb = 0;    // highest RSS seen while captioning - RSS after load
  double peak_rss_mb = 0;               // process VmHWM after this variant (cumulative over the sweep)
  std::optional<double> gpu_memory_mb;  // nullopt = "n/a" (no CUDA)

  QualityScores quality;
  std::vector<std::string> sample_captions;  // the captions of the first few images
};

struct BenchResult {
  BenchEnvironment env;
  std::vector<VariantResult> variants;
  std::vector<std::string> warnings;  // e.g. high coefficient of variation
};

// The seed's comparison table, recomputed from measurements relative to a baseline variant.
struct RelativeRow {
  std::string label;                   // "Original FP32"
  std::optional<double> size_pct;      // file size / baseline file size * 100
  std::optional<double> speed_pct;     // baseline median latency / variant median latency * 100
  std::optional<double> accuracy_pct;  // object recall / baseline recall * 100 (or agreement with FP32 * 100)
};
struct RelativeTable {
  std::string baseline;           // label of the baseline variant ("" when none ran)
  std::string accuracy_basis;     // "object recall" | "exact-match agreement with FP32"
  std::vector<RelativeRow> rows;  // measured variants only, in sweep order
};

// Baseline: Original FP32 when it ran, else the first variant that ran.
RelativeTable relative_table(const BenchResult& result);
std::string variant_label(const VariantResult& v);  // "Original FP32"

// The quality number the chart and the relative table use, and its name.
std::optional<double> headline_quality(const VariantResult& v, bool has_references);
std::string headline_quality_name(bool has_references);

std::string format_terminal(const BenchResult& result);  // fixed-width tables for a terminal
std::string format_markdown(const BenchResult& result);
std::string format_csv(const BenchResult& result);  // one row per variant (unavailable ones too)
std::string format_json(const BenchResult& result);
// Scatter chart: x = median latency (ms), y = headline quality (%), marker area proportional to file size.
cv::Mat draw_chart(const BenchResult& result, int width = 1000, int height = 650);

// Writes bench.md, bench.json, bench.csv and bench.png into `dir` (created if missing); returns the paths.
// Throws BenchError when the folder or a file cannot be written.
std::vector<std::string> write_reports(const BenchResult& result, const std::string& dir);

}  // namespace edgecap
