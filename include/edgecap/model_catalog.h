#pragma once
// The menus' model and precision choices, each with its availability and, when unavailable, the reason.
#include <string>
#include <vector>

#include "edgecap/precision.h"

namespace edgecap {

struct Availability {
  bool available = false;
  std::string reason;  // empty when available; otherwise what is missing and how to get it
};

struct ModelEntry {
  std::string key;         // "original", "pruned", or "custom"
  std::string label;       // "Original Model", "Pruned Model (Struct 30% + Mag 10%)", or the file name
  std::string fp32_path;   // the FP32 TorchScript file
  std::string int8_path;   // the INT8 sibling (fp32 path with .pt -> .int8.pt)
  Availability availability;
};

struct PrecisionEntry {
  Precision precision;
  Availability availability;
};

class ModelCatalog {
 public:
  ModelCatalog(std::string models_dir, std::string pruned_dir, Device device);

  std::vector<ModelEntry> models() const;  // original, pruned (in that order)
  std::vector<PrecisionEntry> precisions(const ModelEntry& model) const;  // FP32, FP16, BF16, INT8
  // "original" | "pruned" | a path (-> key "custom"). Throws UsageError for an unknown name that is not a file.
  ModelEntry resolve(const std::string& model_arg) const;
  // The file to load for this precision (the INT8 sibling for kINT8, the FP32 file otherwise).
  static std::string path_for(const ModelEntry& model, Precision precision);
  static std::string int8_sibling(const std::string& fp32_path);

 private:
  ModelEntry make_entry(std::string key, std::string label, std::string fp32_path) const;
  std::string models_dir_;
  std::string pruned_dir_;
  Device device_;
};

}  // namespace edgecap
