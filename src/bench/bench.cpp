// `edgecap bench`: load each model x precision in turn, caption the same image set, measure, report.
#include "edgecap/bench.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "edgecap/bench_quality.h"
#include "edgecap/bench_report.h"
#include "edgecap/build_info.h"
#include "edgecap/captioner.h"
#include "edgecap/error.h"
#include "edgecap/frame_source.h"
#include "edgecap/model_catalog.h"
#include "edgecap/stats.h"
#include "edgecap/system_info.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;

// A video can hold thousands of frames; the sweep captions each image at least once per variant.
constexpr int kMaxImages = 200;
constexpr int kSampleCaptions = 3;
constexpr double kHighCv = 0.25;

struct BenchImage {
  cv::Mat image;
  std::string name;  // file name, the key into ground_truth.jsonl
};

std::string default_images() {
  if (fs::is_directory("samples/scenes")) return "samples/scenes";
  return (fs::path(build_info::kSourceDir) / "samples" / "scenes").string();
}

std::vector<BenchImage> load_images(const std::string& uri) {
  SourceOptions options;
  options.loop = false;
  options.paced = false;  // every read() is the next image or video frame, not the one due at display pace
  auto source = open_source(uri, options);
  std::vector<BenchImage> images;
  std::set<int64_t> seen;
  // A still source may hand out the same frame again; stop at the first repeat or the end.
  for (int reads = 0; reads < kMaxImages * 4 && static_cast<int>(images.size()) < kMaxImages; ++reads) {
    Frame frame;
    FrameStatus status = source->read(frame);
    if (status == FrameStatus::kEndOfStream || status == FrameStatus::kError) break;
    if (status != FrameStatus::kOk || frame.image.empty()) continue;
    if (!seen.insert(frame.index).second) break;
    std::string name = frame.label.empty() ? fmt::format("frame_{:06d}", frame.index) : frame.label;
    images.push_back({frame.image.clone(), fs::path(name).filename().string()});
  }
  if (images.empty()) {
    throw BenchError(
        fmt::format("no images could be read from {} ({}); pass --images with a folder of "
                    "images or a video",
                    uri, source->last_error()));
  }
  return images;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string read_first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The checked-out commit, read from .git directly (no git binary needed on a board).
std::string git_commit() {
  for (fs::path root : {fs::current_path(), fs::path(build_info::kSourceDir)}) {
    fs::path git = root / ".git";
    if (!fs::is_directory(git)) continue;
    std::string head = read_first_line(git / "HEAD");
    if (head.rfind("ref: ", 0) != 0) return head.substr(0, 12);
    std::string ref = head.substr(5);
    std::string hash = read_first_line(git / ref);
    if (hash.empty()) {
      std::ifstream packed(git / "packed-refs");
      std::string line;
      while (std::getline(packed, line)) {
        if (line.size() > 41 && line.compare(41, std::string::npos, ref) == 0) hash = line.substr(0, 40);
      }
    }
    return hash.substr(0, 12);
  }
  return "";
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Progress on stderr: a redrawn bar on a terminal, one line per variant otherwise (logs stay short).
class Progress {
 public:
  Progress() : tty_(isatty(fileno(stderr)) != 0) {}
  ~Progress() { finish(); }
  void start(const std::string& label, int total) {
    finish();
    label_ = label;
    total_ = std::max(total, 1);
    done_ = 0;
    active_ = true;
    if (!tty_) std::fprintf(stderr, "bench: %s ...\n", label.c_str());
    draw();
  }
  void tick() {
    ++done_;
    draw();
  }
  void finish() {
    if (active_ && tty_) std::fprintf(stderr, "\n");
    active_ = false;
  }

 private:
  void draw() {
    if (!tty_ || !active_) return;
    constexpr int kWidth = 30;
    int filled = kWidth * std::min(done_, total_) / total_;
    std::fprintf(stderr, "\r%-22s [%s%s] %d/%d", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), done_, total_);
    std::fflush(stderr);
  }
  bool tty_;
  bool active_ = false;
  std::string label_;
  int total_ = 1;
  int done_ = 0;
};

using CaptionWords = std::vector<Words>;  // one per image

// Captions of every image once (untimed), for agreement with a variant that is not in the sweep.
CaptionWords caption_all(Captioner& captioner, const std::vector<BenchImage>& images, int beam) {
  CaptionWords out;
  for (const auto& img : images) out.push_back(tokenize_caption(captioner.caption(img.image, beam).text));
  return out;
}

struct References {
  bool present = false;
  std::vector<const GroundTruth*> per_image;  // nullptr where the image has no record
  std::vector<std::string> categories;
  std::map<std::string, GroundTruth> records;
};

References find_references(const std::string& uri, const std::vector<BenchImage>& images) {
  References refs;
  fs::path file = fs::is_directory(uri) ? fs::path(uri) / "ground_truth.jsonl"
                                        : fs::path(uri).parent_path() / "ground_truth.jsonl";
  if (!fs::is_regular_file(file)) return refs;
  refs.records = read_ground_truth(file.string());
  std::set<std::string> categories;
  for (const auto& img : images) {
    auto it = refs.records.find(img.name);
    refs.per_image.push_back(it == refs.records.end() ? nullptr : &it->second);
    if (it != refs.records.end()) {
      refs.present = true;
      categories.insert(it->second.objects.begin(), it->second.objects.end());
    }
  }
  refs.categories.assign(categories.begin(), categories.end());
  return refs;
}

QualityScores score(const CaptionWords& captions, const CaptionWords* fp32, const References& refs) {
  QualityScores q;
  if (fp32 && fp32->size() == captions.size() && !captions.empty()) {
    int same = 0;
    std::vector<std::vector<Words>> fp32_refs;
    for (std::size_t i = 0; i < captions.size(); ++i) {
      same += captions[i] == (*fp32)[i] ? 1 : 0;
      fp32_refs.push_back({(*fp32)[i]});
    }
    q.exact_match_vs_fp32 = double(same) / captions.size();
    q.bleu4_vs_fp32 = corpus_bleu(captions, fp32_refs);
  }
  if (refs.present) {
    std::vector<Words> hyps;
    std::vector<std::vector<Words>> gts;
    RecallCount total;
    for (std::size_t i = 0; i < captions.size() && i < refs.per_image.size(); ++i) {
      const GroundTruth* gt = refs.per_image[i];
      if (!gt) continue;
      if (!gt->captions.empty()) {
        hyps.push_back(captions[i]);
        std::vector<Words> r;
        for (const auto& c : gt->captions) r.push_back(tokenize_caption(c));
        gts.push_back(r);
      }
      RecallCount c = object_recall(captions[i], *gt, refs.categories);
      total.objects += c.objects;
      total.recalled += c.recalled;
    }
    if (!hyps.empty()) q.bleu4_vs_refs = corpus_bleu(hyps, gts);
    if (total.objects > 0) q.object_recall = double(total.recalled) / total.objects;
  }
  return q;
}

// One loaded variant and what has been measured of it so far.
struct LiveVariant {
  VariantResult result;
  Precision precision = Precision::kFP32;
  std::unique_ptr<Captioner> captioner;
  std::vector<std::optional<Words>> per_image;
  std::vector<double> total, pre, enc, dec;
  double steps = 0;
  double rss_growth_mb = 0;  // sum of the RSS growth across this variant's captions

  bool alive() const { return captioner != nullptr; }
  void fail(const std::exception& e) {
    result.failed = true;
    result.reason = e.what();
    captioner.reset();
  }
};

// The variants are loaded together and their timed captions interleaved (variant A, B, C, A, B, C, ...),
// so a change in machine load during the run hits every variant alike instead of whichever ran then.
class Sweep {
 public:
  Sweep(const Config& config, const std::vector<BenchImage>& images) : config_(config), images_(images) {}

  // Loads the variant and times its first caption; a failure is recorded on the variant, not thrown.
  void load(LiveVariant& live) {
    VariantResult& v = live.result;
    progress_.start("loading " + variant_label(v), 2);
    try {
      const double rss_before = process_memory().rss_mb;
      LoadOptions load;
      load.path = v.path;
      load.precision = live.precision;
      load.device = config_.device;
      live.captioner = std::make_unique<Captioner>(load);
      v.rss_load_delta_mb = process_memory().rss_mb - rss_before;
      const LoadInfo& info = live.captioner->load_info();
      const ModelMetadata& meta = live.captioner->metadata();
      v.file_bytes = info.file_bytes;
      v.sha256 = info.sha256;
      v.load_ms = info.load_ms;
      v.decoder = info.decoder;
      v.parameters = meta.parameters;
      v.nonzero_parameters = meta.nonzero_parameters;
      v.macs = meta.macs;
      if (!info.quantized_engine.empty()) quantized_engine_ = info.quantized_engine;
      progress_.tick();
      live.per_image.assign(images_.size(), std::nullopt);
      v.first_inference_ms = caption(live, 0).times.total_ms;
      v.peak_rss_mb = process_memory().peak_rss_mb;
      progress_.tick();
    } catch (const std::exception& e) {
      live.fail(e);
    }
    progress_.finish();
  }

  void measure(std::vector<LiveVariant*>& variants) {
    const int warmup = std::max(config_.bench_warmup, 0);
    const int iterations = std::max(config_.bench_iterations, 1);
    const int n = static_cast<int>(images_.size());
    int alive = 0;
    for (auto* v : variants) alive += v->alive() ? 1 : 0;
    if (alive == 0) return;
    progress_.start(fmt::format("{} variant{}", alive, alive == 1 ? "" : "s"), (warmup + iterations) * alive);
    for (int i = 0; i < warmup + iterations; ++i) {
      for (LiveVariant* live : variants) {
        if (!live->alive()) continue;
        try {
          Caption c = caption(*live, (i + 1) % n);
          if (i >= warmup) {
            live->total.push_back(c.times.total_ms);
            live->pre.push_back(c.times.preprocess_ms);
            live->enc.push_back(c.times.encode_ms);
            live->dec.push_back(c.times.decode_ms);
            live->steps += c.steps;
          }
        } catch (const std::exception& e) {
          live->fail(e);
        }
        progress_.tick();
      }
    }
    progress_.finish();
    // Every image is captioned at least once for the quality numbers, outside the timed loop.
    for (LiveVariant* live : variants) {
      try {
        for (int i = 0; i < n && live->alive(); ++i) {
          if (!live->per_image[i]) caption(*live, i);
        }
      } catch (const std::exception& e) {
        live->fail(e);
      }
    }
  }

  const std::string& quantized_engine() const { return quantized_engine_; }

 private:
  Caption caption(LiveVariant& live, int index) {
    const double rss_before = process_memory().rss_mb;
    Caption c = live.captioner->caption(images_[index].image, config_.beam);
    live.rss_growth_mb += std::max(0.0, process_memory().rss_mb - rss_before);
    if (!live.per_image[index]) live.per_image[index] = tokenize_caption(c.text);
    return c;
  }

  const Config& config_;
  const std::vector<BenchImage>& images_;
  Progress progress_;
  std::string quantized_engine_;
};

void finish(LiveVariant& live, const CaptionWords* fp32, const References& refs) {
  VariantResult& v = live.result;
  live.captioner.reset();
  if (v.failed || live.total.empty()) {
    if (!v.failed) {
      v.failed = true;
      v.reason = "no timed caption completed";
    }
    return;
  }
  v.latency = summarize(live.total);
  v.preprocess = summarize(live.pre);
  v.encode = summarize(live.enc);
  v.decode = summarize(live.dec);
  double total_ms = 0;
  for (double t : live.total) total_ms += t;
  v.mean_tokens = live.steps / static_cast<double>(live.total.size());
  v.tokens_per_s = total_ms > 0 ? live.steps / (total_ms / 1000.0) : 0;
  v.captions_per_s = v.latency.mean > 0 ? 1000.0 / v.latency.mean : 0;
  v.rss_inference_delta_mb = live.rss_growth_mb;
  CaptionWords captions;
  for (auto& words : live.per_image) captions.push_back(words ? *words : Words{});
  // FP32 agrees with itself by definition; another precision without FP32 captions has no agreement.
  v.quality = score(captions, live.precision == Precision::kFP32 ? &captions : fp32, refs);
  for (std::size_t i = 0; i < std::min<std::size_t>(captions.size(), kSampleCaptions); ++i) {
    v.sample_captions.push_back(join_words(captions[i]));
  }
}

CaptionWords words_of(const LiveVariant& live) {
  CaptionWords out;
  for (const auto& w : live.per_image) out.push_back(w ? *w : Words{});
  return out;
}

}  // namespace

int run_bench(const Config& config, std::ostream& out) {
  if (config.bench_iterations < 1) throw BenchError("--iterations must be at least 1");
  const std::string uri = config.bench_images.empty() ? default_images() : config.bench_images;
  if (!fs::exists(uri)) {
    throw BenchError(
        fmt::format("image set {} does not exist; pass --images DIR|VIDEO (the sample scenes are "
                    "made by tools/datagen)",
                    uri));
  }
  configure_threads(config.threads);
  std::vector<BenchImage> images = load_images(uri);
  References refs = find_references(uri, images);

  BenchResult result;
  RuntimeInfo runtime = runtime_info();
  BenchEnvironment& env = result.env;
  env.edgecap_version = build_info::kVersion;
  env.date_utc = utc_now();
  env.git_commit = git_commit();
  env.cpu_model = cpu_model();
  env.logical_cores = logical_cores();
  env.physical_cores = physical_cores();
  env.intra_op_threads = runtime.intra_op_threads;
  env.omp_num_threads = env_or_empty("OMP_NUM_THREADS");
  env.openblas_num_threads = env_or_empty("OPENBLAS_NUM_THREADS");
  env.torch_version = runtime.torch_version;
  env.build_type = build_info::kBuildType;
  env.compiler = build_info::kCompiler;
  env.device = std::string(to_string(config.device));
  env.images = uri;
  env.image_count = static_cast<int>(images.size());
  env.has_references = refs.present;
  env.warmup = config.bench_warmup;
  env.iterations = config.bench_iterations;
  env.beam = config.beam;

  ModelCatalog catalog(config.models_dir, config.pruned_dir, config.device);
  std::vector<ModelEntry> models =
      config.model.empty() ? catalog.models() : std::vector<ModelEntry>{catalog.resolve(config.model)};
  Sweep sweep(config, images);

  // Every variant of the sweep, in catalog order; the measurable ones are loaded and then timed together.
  std::vector<LiveVariant> variants;
  std::vector<ModelEntry> model_of;
  for (const ModelEntry& model : models) {
    for (const PrecisionEntry& entry : catalog.precisions(model)) {
      if (config.precision && entry.precision != *config.precision) continue;
      LiveVariant live;
      VariantResult& v = live.result;
      live.precision = entry.precision;
      v.model_key = model.key;
      v.model_label = model.label;
      v.precision = std::string(to_string(entry.precision));
      v.path = ModelCatalog::path_for(model, entry.precision);
      if (!model.availability.available || !entry.availability.available) {
        v.available = false;
        v.reason = !model.availability.available ? model.availability.reason : entry.availability.reason;
      }
      variants.push_back(std::move(live));
      model_of.push_back(model);
    }
  }
  for (std::size_t i = 0; i < variants.size(); ++i) {
    if (variants[i].result.available) sweep.load(variants[i]);
  }
  std::vector<LiveVariant*> loaded;
  for (auto& live : variants) {
    if (live.alive()) loaded.push_back(&live);
  }
  sweep.measure(loaded);

  // Agreement needs each model's FP32 captions, also when FP32 itself is not in the sweep (captioned
  // once here, untimed, after the timed phase so it cannot disturb it).
  std::map<std::string, CaptionWords> fp32_by_model;
  for (auto& live : variants) {
    if (live.precision == Precision::kFP32 && !live.result.failed && live.result.available) {
      fp32_by_model[live.result.model_key] = words_of(live);
    }
  }
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const VariantResult& v = variants[i].result;
    if (!v.available || v.failed || fp32_by_model.count(v.model_key)) continue;
    try {
      LoadOptions load{ModelCatalog::path_for(model_of[i], Precision::kFP32), Precision::kFP32, config.device,
                       true};
      Captioner reference(load);
      fp32_by_model[v.model_key] = caption_all(reference, images, config.beam);
    } catch (const std::exception& e) {
      result.warnings.push_back(
          fmt::format("{}: no agreement with FP32: the FP32 file could not be captioned ({})",
                      variant_label(v), e.what()));
      fp32_by_model[v.model_key] = {};
    }
  }
  for (auto& live : variants) {
    VariantResult& v = live.result;
    if (v.available) {
      auto it = fp32_by_model.find(v.model_key);
      const CaptionWords* fp32 = it != fp32_by_model.end() && !it->second.empty() ? &it->second : nullptr;
      finish(live, fp32, refs);
    }
    if (v.available && !v.failed && spread_too_wide(v.latency, kHighCv)) {
      result.warnings.push_back(fmt::format(
          "{}: latency coefficient of variation {:.0f}% (> {:.0f}%): the machine was busy or the run too "
          "short; rerun with more --iterations on a quiet machine before trusting the mean",
          variant_label(v), v.latency.cv * 100, kHighCv * 100));
    }
    result.variants.push_back(v);
  }
  env.quantized_engine = sweep.quantized_engine();
  // Read after the sweep: LibTorch maps its BLAS lazily, at the first model's first matrix multiply.
  env.blas_library = blas_library();
  env.blas_threads = blas_threads();
  if (config.device == Device::kCUDA) {
    result.warnings.push_back(
        "GPU memory is not measured yet (n/a): the captioner does not expose CUDA "
        "allocator statistics");
  }

  out << format_terminal(result);
  if (!config.bench_out.empty()) {
    for (const auto& path : write_reports(result, config.bench_out)) out << "wrote " << path << "\n";
  }
  bool any = false;
  for (const auto& v : result.variants) any = any || (v.available && !v.failed);
  return any ? static_cast<int>(ExitCode::kOk) : static_cast<int>(ExitCode::kBench);
}

}  // namespace edgecap
