#include "edgecap/metadata.h"

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "edgecap/error.h"

namespace edgecap {
namespace {

using Json = nlohmann::json;

// Every message starts with the file name and quotes the dotted field path, so a user who edits the JSON
// by hand (or writes an exporter for another architecture) knows exactly which value to fix.
[[noreturn]] void fail(const std::string& field, const std::string& rule) {
  throw ModelError("edgecap.json: '" + field + "' " + rule + " (see docs/MODEL_CONTRACT.md)");
}

const Json& require(const Json& object, const std::string& key, const std::string& field) {
  auto it = object.find(key);
  if (it == object.end()) fail(field, "is missing");
  return *it;
}

int64_t require_int(const Json& object, const std::string& key, const std::string& field) {
  const Json& v = require(object, key, field);
  if (!v.is_number_integer()) fail(field, "must be an integer");
  return v.get<int64_t>();
}

// Optional integers (counts for reports) may be absent; when present they must be integers >= 0.
int64_t optional_count(const Json& object, const std::string& key, const std::string& field) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) fail(field, "must be an integer >= 0");
  return it->get<int64_t>();
}

std::string optional_string(const Json& object, const std::string& key, const std::string& field,
                            const std::string& fallback = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(field, "must be a string");
  return it->get<std::string>();
}

std::array<float, 3> three_numbers(const Json& input, const std::string& key, bool positive) {
  const std::string field = "input." + key;
  const std::string rule = positive ? "must hold 3 numbers > 0" : "must hold 3 numbers";
  const Json& v = require(input, key, field);
  if (!v.is_array() || v.size() != 3) fail(field, rule);
  std::array<float, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!v[i].is_number()) fail(field, rule);
    // Checked as the float the preprocessing divides by: 1e-50 is > 0 as a double but 0 as a float.
    const float x = static_cast<float>(v[i].get<double>());
    if (!std::isfinite(x) || (positive && !(x > 0.0f))) fail(field, rule);
    out[i] = x;
  }
  return out;
}

int positive_size(const Json& input, const std::string& key) {
  const std::string field = "input." + key;
  const Json& v = require(input, key, field);
  // 4096 is far beyond any captioner input and keeps H*W*3 floats well inside memory.
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 4096) {
    fail(field, "must be an integer in 1..4096");
  }
  return static_cast<int>(v.get<int64_t>());
}

InputSpec parse_input(const Json& root) {
  const Json& input = require(root, "input", "input");
  if (!input.is_object()) fail("input", "must be an object");
  InputSpec spec;
  spec.height = positive_size(input, "height");
  spec.width = positive_size(input, "width");
  spec.channel_order = optional_string(input, "channel_order", "input.channel_order", "RGB");
  if (spec.channel_order != "RGB" && spec.channel_order != "BGR") {
    fail("input.channel_order", "must be \"RGB\" or \"BGR\"");
  }
  auto scale = input.find("scale");
  if (scale != input.end()) {
    const float value = scale->is_number() ? static_cast<float>(scale->get<double>()) : 0.0f;
    if (!std::isfinite(value) || !(value > 0.0f)) fail("input.scale", "must be a finite number > 0");
    spec.scale = value;
  }
  spec.mean = three_numbers(input, "mean", false);
  spec.std = three_numbers(input, "std", true);
  return spec;
}

SpecialTokens parse_special(const Json& root, std::size_t vocab_size) {
  const Json& special = require(root, "special_tokens", "special_tokens");
  if (!special.is_object()) fail("special_tokens", "must be an object");
  SpecialTokens tokens;
  const std::pair<const char*, int64_t*> fields[] = {
      {"pad", &tokens.pad}, {"start", &tokens.start}, {"end", &tokens.end}, {"unk", &tokens.unk}};
  for (const auto& [name, target] : fields) {
    const std::string field = std::string("special_tokens.") + name;
    const int64_t id = require_int(special, name, field);
    if (id < 0 || id >= static_cast<int64_t>(vocab_size)) {
      fail(field, "must be a token id inside the vocab (0.." + std::to_string(vocab_size - 1) + "), got " +
                      std::to_string(id));
    }
    *target = id;
  }
  if (tokens.start == tokens.end) fail("special_tokens", "must give <start> and <end> different ids");
  return tokens;
}

ArchitectureSpec parse_architecture(const Json& root) {
  ArchitectureSpec arch;
  auto it = root.find("architecture");
  if (it == root.end() || it->is_null()) return arch;  // only used for reports and the heatmap grid
  if (!it->is_object()) fail("architecture", "must be an object");
  const Json& a = *it;
  arch.name = optional_string(a, "name", "architecture.name");
  const std::pair<const char*, int*> dims[] = {{"encoder_dim", &arch.encoder_dim},
                                               {"embed_dim", &arch.embed_dim},
                                               {"attention_dim", &arch.attention_dim},
                                               {"decoder_dim", &arch.decoder_dim},
                                               {"grid_h", &arch.grid_h},
                                               {"grid_w", &arch.grid_w}};
  for (const auto& [name, target] : dims) {
    const int64_t v = optional_count(a, name, std::string("architecture.") + name);
    if (v > 1'000'000) fail(std::string("architecture.") + name, "is implausibly large");
    *target = static_cast<int>(v);
  }
  return arch;
}

}  // namespace

namespace {

ModelMetadata parse_checked(std::string_view json_text) {
  if (json_text.empty()) {
    throw ModelError(
        "edgecap.json is empty or missing: the model file carries no metadata; re-export it with "
        "tools/export.py (torch.jit.save(..., _extra_files={\"edgecap.json\": ...}))");
  }
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for numbers beyond double (1e400): both mean the text is unusable.
    throw ModelError(std::string("edgecap.json is not valid JSON (") + e.what() +
                     "); re-export the model with tools/export.py");
  }
  if (!root.is_object()) fail("(root)", "must be a JSON object");

  ModelMetadata meta;
  const int64_t version = require_int(root, "format_version", "format_version");
  if (version != 1) {
    fail("format_version",
         "must be 1, got " + std::to_string(version) + "; this edgecap reads format 1 only");
  }
  meta.format_version = 1;
  meta.model_name = optional_string(root, "model_name", "model_name");
  meta.variant = optional_string(root, "variant", "variant");
  meta.variant_detail = optional_string(root, "variant_detail", "variant_detail");
  meta.precision = optional_string(root, "precision", "precision", "fp32");
  if (meta.precision != "fp32" && meta.precision != "int8") fail("precision", "must be \"fp32\" or \"int8\"");
  meta.quantized_engine = optional_string(root, "quantized_engine", "quantized_engine");

  const Json& vocab = require(root, "vocab", "vocab");
  if (!vocab.is_array() || vocab.empty()) fail("vocab", "must be a non-empty array of strings");
  meta.vocab.reserve(vocab.size());
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    if (!vocab[i].is_string()) fail("vocab[" + std::to_string(i) + "]", "must be a string");
    meta.vocab.push_back(vocab[i].get<std::string>());
  }
  meta.special = parse_special(root, meta.vocab.size());
  meta.input = parse_input(root);

  const int64_t max_len = require_int(root, "max_caption_length", "max_caption_length");
  if (max_len < 1 || max_len > 200) {
    fail("max_caption_length", "must be in 1..200, got " + std::to_string(max_len));
  }
  meta.max_caption_length = static_cast<int>(max_len);
  meta.arch = parse_architecture(root);
  meta.parameters = optional_count(root, "parameters", "parameters");
  meta.nonzero_parameters = optional_count(root, "nonzero_parameters", "nonzero_parameters");
  meta.macs = optional_count(root, "macs", "macs");
  auto training = root.find("training");
  if (training != root.end())
    meta.training_json = training->dump(-1, ' ', false, Json::error_handler_t::replace);
  return meta;
}

}  // namespace

ModelMetadata parse_metadata(std::string_view json_text) {
  try {
    return parse_checked(json_text);
  } catch (const nlohmann::json::exception& e) {
    // Every field is type-checked before it is read, so this is a rule not yet written; it still names
    // the file instead of escaping as an internal error.
    throw ModelError(std::string("edgecap.json: unexpected value (") + e.what() +
                     "); see docs/MODEL_CONTRACT.md");
  }
}

std::vector<std::string> tokens_to_words(const std::vector<int64_t>& tokens, const ModelMetadata& meta) {
  // Same rule as tools/common.py decode_ids: stop at <end>, skip <pad>/<start>; <unk> stays visible so a
  // caption with unknown words does not silently read as a shorter, different sentence.
  std::vector<std::string> words;
  const auto vocab_size = static_cast<int64_t>(meta.vocab.size());
  for (int64_t id : tokens) {
    if (id == meta.special.end) break;
    if (id == meta.special.pad || id == meta.special.start) continue;
    if (id < 0 || id >= vocab_size) {
      words.emplace_back("<unk>");
    } else {
      words.push_back(meta.vocab[static_cast<std::size_t>(id)]);
    }
  }
  return words;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (w.empty()) continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

}  // namespace edgecap
