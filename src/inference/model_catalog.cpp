#include "edgecap/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <utility>

#include "edgecap/error.h"
#include "torch_runtime.h"

namespace edgecap {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOriginalFile = "lightweight_captioning_model.pt";
constexpr const char* kPrunedFile = "Pruning_epoch_1_checkpoint.pt";

// Availability is asked for every menu redraw: stat the file, never open or load it.
bool regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (fs::path(dir.empty() ? "." : dir) / name).lexically_normal().string();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Availability available() { return {true, ""}; }
Availability unavailable(std::string reason) { return {false, std::move(reason)}; }

Availability file_availability(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return unavailable("file not found: " + path + "; build it with tools/build_models.sh");
  if (!fs::is_regular_file(status)) return unavailable(path + " is not a regular file");
  return available();
}

}  // namespace

ModelCatalog::ModelCatalog(std::string models_dir, std::string pruned_dir, Device device)
    : models_dir_(std::move(models_dir)), pruned_dir_(std::move(pruned_dir)), device_(device) {}

ModelEntry ModelCatalog::make_entry(std::string key, std::string label, std::string fp32_path) const {
  ModelEntry entry;
  entry.key = std::move(key);
  entry.label = std::move(label);
  entry.fp32_path = std::move(fp32_path);
  entry.int8_path = int8_sibling(entry.fp32_path);
  entry.availability = file_availability(entry.fp32_path);
  return entry;
}

std::vector<ModelEntry> ModelCatalog::models() const {
  return {make_entry("original", "Original Model", join_path(models_dir_, kOriginalFile)),
          make_entry("pruned", "Pruned Model (Struct 30% + Mag 10%)", join_path(pruned_dir_, kPrunedFile))};
}

std::vector<PrecisionEntry> ModelCatalog::precisions(const ModelEntry& model) const {
  const Availability fp32_file = file_availability(model.fp32_path);
  const bool cuda = device_ == Device::kCUDA;
  std::vector<PrecisionEntry> out;
  for (Precision p : kAllPrecisions) {
    PrecisionEntry entry{p, {}};
    switch (p) {
      case Precision::kFP32:
        entry.availability = fp32_file;
        break;
      case Precision::kFP16:
        // The reason comes first: it holds even once the file exists, so it is the more useful one.
        entry.availability =
            cuda ? fp32_file : unavailable("needs CUDA (LibTorch 1.13 has no CPU half kernels)");
        break;
      case Precision::kBF16:
        entry.availability = fp32_file;
        break;
      case Precision::kINT8:
        if (cuda) {
          entry.availability = unavailable("INT8 dynamic quantization runs on CPU only");
        } else if (!regular_file(model.int8_path)) {
          entry.availability =
              unavailable("no quantized sibling " + model.int8_path + "; make it with tools/export.py");
        } else if (detail::quantized_engines().empty()) {
          entry.availability = unavailable("no quantized engine in this LibTorch build");
        } else {
          entry.availability = available();
        }
        break;
    }
    if (cuda && entry.availability.available && !detail::cuda_available()) {
      entry.availability = unavailable("CUDA is not available in this LibTorch build or on this machine");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

ModelEntry ModelCatalog::resolve(const std::string& model_arg) const {
  const std::string key = lower(model_arg);
  for (ModelEntry& entry : models()) {
    if (key == entry.key || key == lower(entry.label)) return entry;
  }
  std::error_code ec;
  const auto status = fs::status(model_arg, ec);
  if (!ec && fs::is_regular_file(status)) {
    ModelEntry entry;
    entry.key = "custom";
    entry.label = fs::path(model_arg).filename().string();
    if (ends_with(model_arg, ".int8.pt")) {
      // The user named the quantized file itself: keep it as the INT8 path and point FP32 at its sibling.
      entry.int8_path = model_arg;
      entry.fp32_path = model_arg.substr(0, model_arg.size() - std::string(".int8.pt").size()) + ".pt";
      entry.availability = available();
    } else {
      entry.fp32_path = model_arg;
      entry.int8_path = int8_sibling(model_arg);
      entry.availability = available();
    }
    return entry;
  }
  const std::string why = (!ec && fs::exists(status)) ? " is not a regular file" : " is not a file";
  throw UsageError("unknown model '" + model_arg +
                   "': choose original, pruned, or the path of a .pt file ('" + model_arg + "'" + why + ")");
}

std::string ModelCatalog::path_for(const ModelEntry& model, Precision precision) {
  return precision == Precision::kINT8 ? model.int8_path : model.fp32_path;
}

std::string ModelCatalog::int8_sibling(const std::string& fp32_path) {
  if (ends_with(fp32_path, ".int8.pt")) return fp32_path;
  if (ends_with(fp32_path, ".pt")) return fp32_path.substr(0, fp32_path.size() - 3) + ".int8.pt";
  return fp32_path + ".int8.pt";
}

}  // namespace edgecap
