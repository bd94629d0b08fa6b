#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

#include <opencv2/core/version.hpp>

#include "edgecap/app.h"
#include "edgecap/build_info.h"
#include "edgecap/error.h"
#include "edgecap/image_file.h"
#include "selection.h"

namespace edgecap {
namespace {

std::string caption_json(const std::string& image, const Caption& c, const LoadInfo& info,
                         Precision precision) {
  nlohmann::json j;
  j["image"] = image;
  j["caption"] = c.text;
  j["tokens"] = c.tokens;
  j["token_log_probs"] = c.token_log_probs;
  j["score"] = c.score;
  j["finished"] = c.finished;
  j["steps"] = c.steps;
  j["timings"] = {{"preprocess_ms", c.times.preprocess_ms},
                  {"encode_ms", c.times.encode_ms},
                  {"decode_ms", c.times.decode_ms},
                  {"total_ms", c.times.total_ms}};
  j["model"] = info.path;
  j["precision"] = std::string(to_string(precision));
  return j.dump();
}

}  // namespace

int run_caption_command(const Config& config, std::ostream& out, std::ostream& err) {
  configure_threads(config.threads);
  const ModelCatalog catalog(config.models_dir, config.pruned_dir, config.device);
  // One-shot mode never asks: unset flags mean original + FP32.
  const auto selection = choose_selection(
      config, catalog, false, [] { return std::nullopt; }, err);
  const auto captioner = load_selection(*selection, config.device);
  int failed = 0;
  for (const std::string& path : config.inputs) {
    std::string why;
    const cv::Mat image = read_image_file(path, &why);
    if (image.empty()) {
      err << fmt::format("edgecap: cannot read image '{}' ({}); skipped\n", path, why);
      ++failed;
      continue;
    }
    const Caption caption = captioner->caption(image, config.beam);
    if (config.json) {
      out << caption_json(path, caption, captioner->load_info(), selection->precision) << '\n';
    } else {
      out << path << '\t' << caption.text << '\n';
    }
    out.flush();
  }
  if (failed > 0) {
    err << fmt::format("edgecap: {} of {} images could not be read\n", failed, config.inputs.size());
    return int(ExitCode::kSource);
  }
  return int(ExitCode::kOk);
}

std::string version_text() {
  const RuntimeInfo runtime = runtime_info();
  std::string engines;
  for (const auto& e : runtime.quantized_engines) engines += (engines.empty() ? "" : ", ") + e;
  return fmt::format(
      "edgecap {}\nLibTorch {} ({}; quantized engines: {})\nOpenCV {}\nbuild type {} ({})\n",
      build_info::kVersion, runtime.torch_version, runtime.cuda_available ? "CUDA available" : "CPU only",
      engines.empty() ? "none" : engines, CV_VERSION, build_info::kBuildType, build_info::kCompiler);
}

}  // namespace edgecap
