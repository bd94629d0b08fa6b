// Pure formatting of a BenchResult: terminal table, Markdown, CSV, JSON. No measurement happens here.
#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edgecap/bench_report.h"
#include "edgecap/system_info.h"

namespace edgecap {
namespace {

bool measured(const VariantResult& v) { return v.available && !v.failed; }

std::string precision_upper(const std::string& p) {
  std::string out = p;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string model_short(const VariantResult& v) {
  if (v.model_key == "original") return "Original";
  if (v.model_key == "pruned") return "Pruned";
  return v.model_label.empty() ? v.model_key : v.model_label;
}

std::string pct(const std::optional<double>& fraction, int decimals = 1) {
  return fraction ? fmt::format("{:.{}f}%", *fraction * 100.0, decimals) : "n/a";
}
std::string pct_value(const std::optional<double>& percent) {
  return percent ? fmt::format("{:.0f}%", *percent) : "n/a";
}
std::string ms(double value) { return fmt::format("{:.2f}", value); }

std::string count_short(int64_t n) {
  if (n <= 0) return "n/a";
  if (n >= 1000000000) return fmt::format("{:.2f} G", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.1f} k", n / 1e3);
  return std::to_string(n);
}

std::string gpu_text(const VariantResult& v) {
  return v.gpu_memory_mb ? fmt::format("{:.1f} MB", *v.gpu_memory_mb) : "n/a";
}

// A fixed-width table: first column left-aligned, the others right-aligned.
std::string text_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  widen(header);
  for (const auto& r : rows) widen(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += i == 0 ? fmt::format("{:<{}}", cell, width[i]) : fmt::format("  {:>{}}", cell, width[i]);
    }
    return out + "\n";
  };
  std::string out = line(header);
  std::size_t total = 0;
  for (std::size_t w : width) total += w + 2;
  out += std::string(total - 2, '-') + "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string md_table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& row) {
    std::string out = "|";
    for (const auto& c : row) out += " " + c + " |";
    return out + "\n";
  };
  std::string out = line(header) + "|";
  for (std::size_t i = 0; i < header.size(); ++i) out += i == 0 ? " :-- |" : " --: |";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

std::vector<std::string> relative_header() {
  return {"variant", "model size", "inference speed", "accuracy"};
}
std::vector<std::vector<std::string>> relative_rows(const RelativeTable& table) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : table.rows) {
    rows.push_back({r.label, pct_value(r.size_pct), pct_value(r.speed_pct), pct_value(r.accuracy_pct)});
  }
  return rows;
}

std::vector<std::string> speed_header() {
  return {"variant", "load ms", "first ms", "mean", "median", "p90",        "p95",
          "p99",     "min",     "max",      "std",  "cv",     "captions/s", "tokens/s"};
}
std::vector<std::vector<std::string>> speed_rows(const BenchResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : r.variants) {
    if (!measured(v)) continue;
    const Summary& s = v.latency;
    rows.push_back({variant_label(v), fmt::format("{:.0f}", v.load_ms), ms(v.first_inference_ms), ms(s.mean),
                    ms(s.median), ms(s.p90), ms(s.p95), ms(s.p99), ms(s.min), ms(s.max), ms(s.stddev),
                    fmt::format("{:.1f}%{}", s.cv * 100, spread_too_wide(s) ? " !" : ""),
                    fmt::format("{:.1f}", v.captions_per_s), fmt::format("{:.0f}", v.tokens_per_s)});
  }
  return rows;
}

std::vector<std::string> stage_header() {
  return {"variant", "preprocess ms", "encode ms", "decode ms", "tokens/caption", "ms/token", "decoder step"};
}
std::vector<std::vector<std::string>> stage_rows(const BenchResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : r.variants) {
    if (!measured(v)) continue;
    double per_token = v.mean_tokens > 0 ? v.decode.mean / v.mean_tokens : 0.0;
    rows.push_back({variant_label(v), ms(v.preprocess.mean), ms(v.encode.mean), ms(v.decode.mean),
                    fmt::format("{:.1f}", v.mean_tokens), fmt::format("{:.3f}", per_token),
                    v.decoder.empty() ? std::string("n/a") : v.decoder});
  }
  return rows;
}

std::vector<std::string> size_header() {
  return {"variant", "file", "params", "non-zero", "MACs", "RSS +load", "RSS +infer", "peak RSS", "GPU mem"};
}
std::vector<std::vector<std::string>> size_rows(const BenchResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : r.variants) {
    if (!measured(v)) continue;
    rows.push_back({variant_label(v), human_bytes(v.file_bytes), count_short(v.parameters),
                    count_short(v.nonzero_parameters), count_short(v.macs),
                    fmt::format("{:.1f} MB", v.rss_load_delta_mb),
                    fmt::format("{:.1f} MB", v.rss_inference_delta_mb),
                    fmt::format("{:.1f} MB", v.peak_rss_mb), gpu_text(v)});
  }
  return rows;
}

std::vector<std::string> quality_header() {
  return {"variant", "exact = FP32", "BLEU-4 vs FP32", "BLEU-4 vs refs", "object recall"};
}
std::vector<std::vector<std::string>> quality_rows(const BenchResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : r.variants) {
    if (!measured(v)) continue;
    const auto& q = v.quality;
    auto bleu = [](const std::optional<double>& b) { return b ? fmt::format("{:.3f}", *b) : "n/a"; };
    rows.push_back({variant_label(v), pct(q.exact_match_vs_fp32), bleu(q.bleu4_vs_fp32),
                    bleu(q.bleu4_vs_refs), pct(q.object_recall)});
  }
  return rows;
}

std::vector<std::string> environment_lines(const BenchEnvironment& e) {
  auto or_na = [](const std::string& s) { return s.empty() ? std::string("n/a") : s; };
  return {
      fmt::format("edgecap {} ({} build, {}), commit {}", e.edgecap_version, or_na(e.build_type),
                  or_na(e.compiler), or_na(e.git_commit)),
      fmt::format("date {}", or_na(e.date_utc)),
      fmt::format("CPU {} ({} logical / {} physical cores), device {}", or_na(e.cpu_model), e.logical_cores,
                  e.physical_cores, or_na(e.device)),
      fmt::format("LibTorch {}, intra-op threads {}, OMP_NUM_THREADS={}, OPENBLAS_NUM_THREADS={}",
                  or_na(e.torch_version), e.intra_op_threads,
                  e.omp_num_threads.empty() ? "unset" : e.omp_num_threads,
                  e.openblas_num_threads.empty() ? "unset" : e.openblas_num_threads),
      fmt::format("quantized engine {}, BLAS {} ({})", or_na(e.quantized_engine), or_na(e.blas_library),
                  e.blas_threads > 0
                      ? fmt::format("{} thread{}", e.blas_threads, e.blas_threads == 1 ? "" : "s")
                      : std::string("threads n/a")),
      fmt::format("images {} ({} images, ground truth {}), warm-up {}, iterations {} per variant, beam {}",
                  or_na(e.images), e.image_count, e.has_references ? "yes" : "no", e.warmup, e.iterations,
                  e.beam),
  };
}

std::vector<std::string> unavailable_lines(const BenchResult& r) {
  std::vector<std::string> out;
  for (const auto& v : r.variants) {
    if (!v.available) out.push_back(fmt::format("{}: unavailable: {}", variant_label(v), v.reason));
    if (v.available && v.failed) out.push_back(fmt::format("{}: failed: {}", variant_label(v), v.reason));
  }
  return out;
}

const char* kMemoryNote =
    "RSS is process-wide and the sweep holds all variants in one process, so each variant is charged with "
    "the RSS growth it caused: RSS after its load minus before (RSS +load), and the sum of the RSS growth "
    "across its own captions (RSS +infer). Peak RSS is the process VmHWM after this variant's load and first "
    "caption, cumulative over the sweep. Memory the allocator kept from an earlier variant can make later "
    "deltas read low.";
const char* kLatencyNote =
    "Latency is model time per caption (preprocess + encode + greedy/beam decode, one wall-clock span), "
    "warm-up excluded; the variants' timed captions are interleaved so machine-load drift hits all alike; "
    "tokens/s counts decoder steps (<end> included) per second of model time.";

}  // namespace

std::string variant_label(const VariantResult& v) {
  return model_short(v) + " " + precision_upper(v.precision);
}

std::optional<double> headline_quality(const VariantResult& v, bool has_references) {
  return has_references ? v.quality.object_recall : v.quality.exact_match_vs_fp32;
}
std::string headline_quality_name(bool has_references) {
  return has_references ? "object recall" : "exact-match agreement with FP32";
}

RelativeTable relative_table(const BenchResult& result) {
  RelativeTable table;
  table.accuracy_basis = headline_quality_name(result.env.has_references);
  const VariantResult* base = nullptr;
  for (const auto& v : result.variants) {
    if (measured(v) && v.model_key == "original" && v.precision == "fp32") base = &v;
  }
  for (const auto& v : result.variants) {
    if (!base && measured(v)) base = &v;
  }
  if (!base) return table;
  table.baseline = variant_label(*base);
  auto base_quality = headline_quality(*base, result.env.has_references);
  for (const auto& v : result.variants) {
    if (!measured(v)) continue;
    RelativeRow row;
    row.label = variant_label(v);
    if (base->file_bytes > 0) row.size_pct = 100.0 * double(v.file_bytes) / double(base->file_bytes);
    if (v.latency.median > 0) row.speed_pct = 100.0 * base->latency.median / v.latency.median;
    auto q = headline_quality(v, result.env.has_references);
    if (q && base_quality && *base_quality > 0) row.accuracy_pct = 100.0 * *q / *base_quality;
    table.rows.push_back(row);
  }
  return table;
}

std::string format_terminal(const BenchResult& result) {
  std::ostringstream out;
  out << "=== edgecap bench ===\n";
  for (const auto& l : environment_lines(result.env)) out << "  " << l << "\n";
  auto rel = relative_table(result);
  if (!rel.rows.empty()) {
    out << "\nRelative to " << rel.baseline
        << " (speed = baseline median / variant median; accuracy = " << rel.accuracy_basis << " relative):\n"
        << text_table(relative_header(), relative_rows(rel));
    out << "\nLatency per caption (ms):\n" << text_table(speed_header(), speed_rows(result));
    out << "\nStages (mean ms):\n" << text_table(stage_header(), stage_rows(result));
    out << "\nSize and memory:\n" << text_table(size_header(), size_rows(result));
    out << "\nQuality:\n" << text_table(quality_header(), quality_rows(result));
  } else {
    out << "\nNo variant could be measured.\n";
  }
  auto unavailable = unavailable_lines(result);
  if (!unavailable.empty()) {
    out << "\nNot measured:\n";
    for (const auto& l : unavailable) out << "  " << l << "\n";
  }
  for (const auto& w : result.warnings) out << "warning: " << w << "\n";
  return out.str();
}

std::string format_markdown(const BenchResult& result) {
  std::ostringstream out;
  out << "# edgecap bench\n\n## Environment\n\n";
  for (const auto& l : environment_lines(result.env)) out << "- " << l << "\n";
  auto rel = relative_table(result);
  out << "\n## Comparison (the seed's table, measured)\n\n";
  if (rel.rows.empty()) {
    out << "No variant could be measured.\n";
  } else {
    out << "Relative to **" << rel.baseline
        << "**: model size = file size, inference speed = baseline median "
        << "latency / variant median latency, accuracy = " << rel.accuracy_basis
        << " relative to the baseline.\n\n"
        << md_table(relative_header(), relative_rows(rel));
    out << "\n## Latency per caption (ms)\n\n"
        << kLatencyNote << "\n\n"
        << md_table(speed_header(), speed_rows(result));
    out << "\n## Stage breakdown (mean ms)\n\n" << md_table(stage_header(), stage_rows(result));
    out << "\n## Size and memory\n\n" << kMemoryNote << "\n\n" << md_table(size_header(), size_rows(result));
    out << "\n## Quality\n\nAgreement is with the same model's FP32 captions on the same images; BLEU-4 is "
           "corpus BLEU over tokenised captions; object recall counts ground-truth objects whose category "
           "the "
           "caption names (singular or plural).\n\n"
        << md_table(quality_header(), quality_rows(result));
    out << "\n## Sample captions\n\n";
    for (const auto& v : result.variants) {
      if (!measured(v)) continue;
      out << "- **" << variant_label(v) << "**: ";
      for (std::size_t i = 0; i < v.sample_captions.size(); ++i) {
        out << (i ? "; " : "") << "\"" << v.sample_captions[i] << "\"";
      }
      out << "\n";
    }
  }
  auto unavailable = unavailable_lines(result);
  if (!unavailable.empty()) {
    out << "\n## Not measured\n\n";
    for (const auto& l : unavailable) out << "- " << l << "\n";
  }
  if (!result.warnings.empty()) {
    out << "\n## Warnings\n\n";
    for (const auto& w : result.warnings) out << "- " << w << "\n";
  }
  return out.str();
}

namespace {
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
std::string opt_num(const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : ""; }
std::string num(double v) { return fmt::format("{:.6g}", v); }
}  // namespace

std::string format_csv(const BenchResult& result) {
  const std::vector<std::string> header = {"model",
                                           "precision",
                                           "status",
                                           "reason",
                                           "path",
                                           "file_bytes",
                                           "sha256",
                                           "parameters",
                                           "nonzero_parameters",
                                           "macs",
                                           "load_ms",
                                           "decoder",
                                           "first_inference_ms",
                                           "latency_mean_ms",
                                           "latency_median_ms",
                                           "latency_p90_ms",
                                           "latency_p95_ms",
                                           "latency_p99_ms",
                                           "latency_min_ms",
                                           "latency_max_ms",
                                           "latency_std_ms",
                                           "latency_cv",
                                           "samples",
                                           "preprocess_mean_ms",
                                           "encode_mean_ms",
                                           "decode_mean_ms",
                                           "tokens_per_caption",
                                           "tokens_per_s",
                                           "captions_per_s",
                                           "rss_load_delta_mb",
                                           "rss_inference_delta_mb",
                                           "peak_rss_mb",
                                           "gpu_memory_mb",
                                           "exact_match_vs_fp32",
                                           "bleu4_vs_fp32",
                                           "bleu4_vs_refs",
                                           "object_recall",
                                           "threads",
                                           "torch_version",
                                           "quantized_engine",
                                           "cpu_model",
                                           "date_utc",
                                           "git_commit"};
  std::string out;
  for (std::size_t i = 0; i < header.size(); ++i) out += (i ? "," : "") + header[i];
  out += "\n";
  const auto& e = result.env;
  for (const auto& v : result.variants) {
    const bool m = measured(v);
    auto mnum = [&](double x) { return m ? num(x) : std::string(); };
    std::vector<std::string> row = {v.model_key,
                                    v.precision,
                                    m ? "ok" : (v.available ? "failed" : "unavailable"),
                                    v.reason,
                                    v.path,
                                    m ? std::to_string(v.file_bytes) : "",
                                    v.sha256,
                                    m ? std::to_string(v.parameters) : "",
                                    m ? std::to_string(v.nonzero_parameters) : "",
                                    m ? std::to_string(v.macs) : "",
                                    mnum(v.load_ms),
                                    m ? v.decoder : "",
                                    mnum(v.first_inference_ms),
                                    mnum(v.latency.mean),
                                    mnum(v.latency.median),
                                    mnum(v.latency.p90),
                                    mnum(v.latency.p95),
                                    mnum(v.latency.p99),
                                    mnum(v.latency.min),
                                    mnum(v.latency.max),
                                    mnum(v.latency.stddev),
                                    mnum(v.latency.cv),
                                    m ? std::to_string(v.latency.count) : "",
                                    mnum(v.preprocess.mean),
                                    mnum(v.encode.mean),
                                    mnum(v.decode.mean),
                                    mnum(v.mean_tokens),
                                    mnum(v.tokens_per_s),
                                    mnum(v.captions_per_s),
                                    mnum(v.rss_load_delta_mb),
                                    mnum(v.rss_inference_delta_mb),
                                    mnum(v.peak_rss_mb),
                                    opt_num(v.gpu_memory_mb),
                                    opt_num(v.quality.exact_match_vs_fp32),
                                    opt_num(v.quality.bleu4_vs_fp32),
                                    opt_num(v.quality.bleu4_vs_refs),
                                    opt_num(v.quality.object_recall),
                                    std::to_string(e.intra_op_threads),
                                    e.torch_version,
                                    e.quantized_engine,
                                    e.cpu_model,
                                    e.date_utc,
                                    e.git_commit};
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_cell(row[i]);
    out += "\n";
  }
  return out;
}

namespace {
nlohmann::json summary_json(const Summary& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"median", s.median}, {"min", s.min}, {"max", s.max},
          {"std", s.stddev},  {"p90", s.p90},   {"p95", s.p95},       {"p99", s.p99}, {"cv", s.cv}};
}
nlohmann::json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

std::string format_json(const BenchResult& result) {
  const auto& e = result.env;
  nlohmann::json j;
  j["format"] = "edgecap-bench/1";
  j["environment"] = {{"edgecap_version", e.edgecap_version},
                      {"date_utc", e.date_utc},
                      {"git_commit", e.git_commit},
                      {"cpu_model", e.cpu_model},
                      {"logical_cores", e.logical_cores},
                      {"physical_cores", e.physical_cores},
                      {"intra_op_threads", e.intra_op_threads},
                      {"omp_num_threads", e.omp_num_threads},
                      {"openblas_num_threads", e.openblas_num_threads},
                      {"torch_version", e.torch_version},
                      {"quantized_engine", e.quantized_engine},
                      {"blas_library", e.blas_library},
                      {"blas_threads", e.blas_threads},
                      {"build_type", e.build_type},
                      {"compiler", e.compiler},
                      {"device", e.device},
                      {"images", e.images},
                      {"image_count", e.image_count},
                      {"has_references", e.has_references},
                      {"warmup", e.warmup},
                      {"iterations", e.iterations},
                      {"beam", e.beam}};
  j["variants"] = nlohmann::json::array();
  for (const auto& v : result.variants) {
    nlohmann::json jv = {{"model", v.model_key},
                         {"model_label", v.model_label},
                         {"precision", v.precision},
                         {"label", variant_label(v)},
                         {"status", measured(v) ? "ok" : (v.available ? "failed" : "unavailable")},
                         {"reason", v.reason}};
    if (measured(v)) {
      jv["path"] = v.path;
      jv["file_bytes"] = v.file_bytes;
      jv["sha256"] = v.sha256;
      jv["parameters"] = v.parameters;
      jv["nonzero_parameters"] = v.nonzero_parameters;
      jv["macs"] = v.macs;
      jv["load_ms"] = v.load_ms;
      jv["decoder"] = v.decoder;
      jv["first_inference_ms"] = v.first_inference_ms;
      jv["latency_ms"] = summary_json(v.latency);
      jv["high_variance"] = spread_too_wide(v.latency);
      jv["stages_ms"] = {{"preprocess", summary_json(v.preprocess)},
                         {"encode", summary_json(v.encode)},
                         {"decode", summary_json(v.decode)}};
      jv["tokens_per_caption"] = v.mean_tokens;
      jv["tokens_per_s"] = v.tokens_per_s;
      jv["captions_per_s"] = v.captions_per_s;
      jv["memory_mb"] = {{"rss_load_delta", v.rss_load_delta_mb},
                         {"rss_inference_delta", v.rss_inference_delta_mb},
                         {"peak_rss_process", v.peak_rss_mb},
                         {"gpu", opt_json(v.gpu_memory_mb)}};
      jv["quality"] = {{"exact_match_vs_fp32", opt_json(v.quality.exact_match_vs_fp32)},
                       {"bleu4_vs_fp32", opt_json(v.quality.bleu4_vs_fp32)},
                       {"bleu4_vs_refs", opt_json(v.quality.bleu4_vs_refs)},
                       {"object_recall", opt_json(v.quality.object_recall)}};
      jv["sample_captions"] = v.sample_captions;
    }
    j["variants"].push_back(jv);
  }
  auto rel = relative_table(result);
  j["relative"] = {
      {"baseline", rel.baseline}, {"accuracy_basis", rel.accuracy_basis}, {"rows", nlohmann::json::array()}};
  for (const auto& r : rel.rows) {
    j["relative"]["rows"].push_back({{"label", r.label},
                                     {"size_pct", opt_json(r.size_pct)},
                                     {"speed_pct", opt_json(r.speed_pct)},
                                     {"accuracy_pct", opt_json(r.accuracy_pct)}});
  }
  j["warnings"] = result.warnings;
  j["notes"] = {{"latency", kLatencyNote}, {"memory", kMemoryNote}};
  return j.dump(2) + "\n";
}

}  // namespace edgecap
