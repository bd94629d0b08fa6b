#pragma once
// The `edgecap.json` metadata stored inside every model file (docs/MODEL_CONTRACT.md).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgecap {

struct InputSpec {
  int height = 0;
  int width = 0;
  std::string channel_order = "RGB";  // "RGB" or "BGR"
  float scale = 255.0f;
  std::array<float, 3> mean{};
  std::array<float, 3> std{};
};

struct ArchitectureSpec {
  std::string name;
  int encoder_dim = 0;
  int embed_dim = 0;
  int attention_dim = 0;
  int decoder_dim = 0;
  int grid_h = 0;
  int grid_w = 0;
};

struct SpecialTokens {
  int64_t pad = 0;
  int64_t start = 1;
  int64_t end = 2;
  int64_t unk = 3;
};

struct ModelMetadata {
  int format_version = 0;
  std::string model_name;
  std::string variant;         // "original" | "pruned" | "test" | ...
  std::string variant_detail;
  std::string precision;       // precision of the stored weights: "fp32" | "int8"
  std::string quantized_engine;
  std::vector<std::string> vocab;
  SpecialTokens special;
  InputSpec input;
  int max_caption_length = 0;
  ArchitectureSpec arch;
  int64_t parameters = 0;
  int64_t nonzero_parameters = 0;
  int64_t macs = 0;
  std::string training_json;   // the "training" object, verbatim, for reports
};

// Parses and validates the JSON text. Throws ModelError naming the field and the rule it breaks.
ModelMetadata parse_metadata(std::string_view json_text);

// Words of a token sequence: special tokens dropped, out-of-range ids become "<unk>".
std::vector<std::string> tokens_to_words(const std::vector<int64_t>& tokens, const ModelMetadata& meta);
std::string join_words(const std::vector<std::string>& words);

}  // namespace edgecap
