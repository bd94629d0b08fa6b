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

struct Sweep {
  const Config& config;
  const std::vector<BenchImage>& images;
  const References& refs;
  Progress progress;
  std::string quantized_engine;

  VariantResult measure(const ModelEntry& model, Precision precision, const CaptionWords* fp32,
                        CaptionWords& captions_out) {
    VariantResult v;
    v.model_key = model.key;
    v.model_label = model.label;
    v.precision = std::string(to_string(precision));
    v.path = ModelCatalog::path_for(model, precision);
    const int warmup = std::max(config.bench_warmup, 0);
    const int iterations = std::max(config.bench_iterations, 1);
    const int n = static_cast<int>(images.size());
    progress.start(variant_label(v), 1 + warmup + iterations + std::max(n - iterations, 0));

    const double rss_before = process_memory().rss_mb;
    LoadOptions load;
    load.path = v.path;
    load.precision = precision;
    load.device = config.device;
    Captioner captioner(load);
    const double rss_loaded = process_memory().rss_mb;
    v.rss_load_delta_mb = rss_loaded - rss_before;
    const LoadInfo& info = captioner.load_info();
    const ModelMetadata& meta = captioner.metadata();
    v.file_bytes = info.file_bytes;
    v.sha256 = info.sha256;
    v.load_ms = info.load_ms;
    v.parameters = meta.parameters;
    v.nonzero_parameters = meta.nonzero_parameters;
    v.macs = meta.macs;
    if (!info.quantized_engine.empty()) quantized_engine = info.quantized_engine;

    double rss_high = rss_loaded;
    auto sample_rss = [&] { rss_high = std::max(rss_high, process_memory().rss_mb); };

    std::vector<std::optional<Words>> per_image(images.size());
    auto run = [&](int index) {
      Caption c = captioner.caption(images[index].image, config.beam);
      if (!per_image[index]) per_image[index] = tokenize_caption(c.text);
      sample_rss();
      progress.tick();
      return c;
    };
    v.first_inference_ms = run(0).times.total_ms;
    for (int i = 0; i < warmup; ++i) run((i + 1) % n);

    std::vector<double> total, pre, enc, dec;
    double steps = 0;
    for (int i = 0; i < iterations; ++i) {
      Caption c = run(i % n);
      total.push_back(c.times.total_ms);
      pre.push_back(c.times.preprocess_ms);
      enc.push_back(c.times.encode_ms);
      dec.push_back(c.times.decode_ms);
      steps += c.steps;
    }
    // Every image is captioned at least once for the quality numbers, outside the timed loop.
    for (int i = 0; i < n; ++i) {
      if (!per_image[i]) run(i);
    }
    progress.finish();

    v.latency = summarize(total);
    v.preprocess = summarize(pre);
    v.encode = summarize(enc);
    v.decode = summarize(dec);
    double total_ms = 0;
    for (double t : total) total_ms += t;
    v.mean_tokens = steps / iterations;
    v.tokens_per_s = total_ms > 0 ? steps / (total_ms / 1000.0) : 0;
    v.captions_per_s = v.latency.mean > 0 ? 1000.0 / v.latency.mean : 0;
    v.rss_inference_delta_mb = rss_high - rss_loaded;
    v.peak_rss_mb = process_memory().peak_rss_mb;

    captions_out.clear();
    for (auto& words : per_image) captions_out.push_back(*words);
    // FP32 agrees with itself by definition; another precision without FP32 captions has no agreement.
    v.quality = score(captions_out, precision == Precision::kFP32 ? &captions_out : fp32, refs);
    for (int i = 0; i < std::min(n, kSampleCaptions); ++i)
      v.sample_captions.push_back(join_words(captions_out[i]));
    return v;
  }
};

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
  Sweep sweep{config, images, refs, {}, {}};

  for (const ModelEntry& model : models) {
    std::optional<CaptionWords> fp32_captions;
    bool fp32_in_sweep = !config.precision || *config.precision == Precision::kFP32;
    for (const PrecisionEntry& entry : catalog.precisions(model)) {
      if (config.precision && entry.precision != *config.precision) continue;
      VariantResult v;
      v.model_key = model.key;
      v.model_label = model.label;
      v.precision = std::string(to_string(entry.precision));
      v.path = ModelCatalog::path_for(model, entry.precision);
      if (!model.availability.available || !entry.availability.available) {
        v.available = false;
        v.reason = !model.availability.available ? model.availability.reason : entry.availability.reason;
        result.variants.push_back(v);
        continue;
      }
      try {
        // Agreement needs this model's FP32 captions even when FP32 itself is not being measured.
        if (entry.precision != Precision::kFP32 && !fp32_captions && !fp32_in_sweep) {
          LoadOptions load{ModelCatalog::path_for(model, Precision::kFP32), Precision::kFP32, config.device,
                           true};
          Captioner reference(load);
          fp32_captions = caption_all(reference, images, config.beam);
        }
        CaptionWords captions;
        const CaptionWords* fp32 = fp32_captions ? &*fp32_captions : nullptr;
        v = sweep.measure(model, entry.precision, fp32, captions);
        if (entry.precision == Precision::kFP32) fp32_captions = captions;
      } catch (const std::exception& e) {
        sweep.progress.finish();
        v.failed = true;
        v.reason = e.what();
      }
      if (v.available && !v.failed && spread_too_wide(v.latency, kHighCv)) {
        result.warnings.push_back(fmt::format(
            "{}: latency coefficient of variation {:.0f}% (> {:.0f}%): the machine was busy or the run too "
            "short; rerun with more --iterations on a quiet machine before trusting the mean",
            variant_label(v), v.latency.cv * 100, kHighCv * 100));
      }
      result.variants.push_back(v);
    }
  }
  env.quantized_engine = sweep.quantized_engine;
  // Read after the sweep: LibTorch maps its BLAS lazily, at the first model's first matrix multiply.
  env.blas_library = blas_library();
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
