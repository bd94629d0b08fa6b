#include "edgecap/menu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "edgecap/error.h"
#include "edgecap/system_info.h"

namespace edgecap {
namespace {

constexpr std::size_t kQuoteChars = 24;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string mark(const Availability& a, bool word) {
  if (a.available) return word ? "✅ available" : "✅";
  return "❌ " + (a.reason.empty() ? std::string("not available") : a.reason);
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(std::size_t(i), ",");
  return n < 0 ? "-" + digits : digits;
}

// The menus loop over the same steps; only the entries and their wording differ.
std::optional<int> ask(const std::string& menu, const std::string& prompt, int count,
                       const std::function<const Availability&(int)>& availability,
                       const std::function<std::string(int)>& name, const LineReader& read_line,
                       std::ostream& out) {
  out << menu << prompt << std::flush;
  for (;;) {
    const auto line = read_line();
    if (!line) {
      out << "\n";
      return std::nullopt;
    }
    const MenuChoice choice = parse_choice(*line, count);
    if (choice.status == ChoiceStatus::kQuit) return std::nullopt;
    if (choice.status != ChoiceStatus::kOk) {
      out << choice.hint << "\n" << prompt << std::flush;
      continue;
    }
    const Availability& a = availability(choice.index);
    if (!a.available) {
      out << fmt::format("{} is not available: {}\nPick one marked ✅.\n", name(choice.index), a.reason)
          << prompt << std::flush;
      continue;
    }
    return choice.index;
  }
}

}  // namespace

std::string render_model_menu(const std::vector<ModelEntry>& models) {
  std::string s = "=== Select the model to use ===\n";
  for (std::size_t i = 0; i < models.size(); ++i) {
    s += fmt::format("{}. {} {}\n", i + 1, models[i].label, mark(models[i].availability, true));
  }
  return s + "\n";
}

std::string render_precision_menu(const ModelEntry& model, const std::vector<PrecisionEntry>& precisions) {
  std::string s = fmt::format("=== Select a precision (quantization option) for {} ===\n", model.label);
  for (std::size_t i = 0; i < precisions.size(); ++i) {
    s += fmt::format("{}. {} {}\n", i + 1, display_name(precisions[i].precision),
                     mark(precisions[i].availability, false));
  }
  return s + "\n";
}

MenuChoice parse_choice(const std::string& line, int count) {
  const std::string t = trim(line);
  const std::string range = fmt::format("type a number from 1 to {} and press Enter (q quits)", count);
  if (t.empty()) return {ChoiceStatus::kEmpty, -1, "Nothing typed: " + range + "."};
  if (t == "q" || t == "Q" || t == "quit") return {ChoiceStatus::kQuit, -1, ""};
  if (t.size() > 6 || !std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isdigit(c); })) {
    // Quote only a prefix: a pasted megabyte must not come back as a megabyte of hint.
    const std::string shown = t.size() > kQuoteChars ? t.substr(0, kQuoteChars) + "..." : t;
    return {ChoiceStatus::kNotANumber, -1, fmt::format("'{}' is not a number: {}.", shown, range)};
  }
  const int n = std::stoi(t);
  if (n < 1 || n > count)
    return {ChoiceStatus::kOutOfRange, -1, fmt::format("{} is out of range: {}.", n, range)};
  return {ChoiceStatus::kOk, n - 1, ""};
}

std::optional<ModelEntry> choose_model(const std::vector<ModelEntry>& models, const LineReader& read_line,
                                       std::ostream& out) {
  if (std::none_of(models.begin(), models.end(),
                   [](const ModelEntry& m) { return m.availability.available; })) {
    std::string why;
    for (const auto& m : models) why += fmt::format("\n  {}: {}", m.label, m.availability.reason);
    throw ModelError("no model is available:" + why +
                     "\nTrain/export one (see README) or pass --model PATH.");
  }
  const auto index = ask(
      render_model_menu(models), fmt::format("Choose a model (1-{}): ", models.size()), int(models.size()),
      [&](int i) -> const Availability& { return models[std::size_t(i)].availability; },
      [&](int i) { return models[std::size_t(i)].label; }, read_line, out);
  if (!index) return std::nullopt;
  return models[std::size_t(*index)];
}

std::optional<Precision> choose_precision(const ModelEntry& model,
                                          const std::vector<PrecisionEntry>& precisions,
                                          const LineReader& read_line, std::ostream& out) {
  if (std::none_of(precisions.begin(), precisions.end(),
                   [](const PrecisionEntry& p) { return p.availability.available; })) {
    throw ModelError(
        fmt::format("no precision of {} can run on this build; see `edgecap --version`", model.label));
  }
  const auto index = ask(
      render_precision_menu(model, precisions),
      fmt::format("Choose a quantization option (1-{}): ", precisions.size()), int(precisions.size()),
      [&](int i) -> const Availability& { return precisions[std::size_t(i)].availability; },
      [&](int i) { return std::string(display_name(precisions[std::size_t(i)].precision)); }, read_line, out);
  if (!index) return std::nullopt;
  return precisions[std::size_t(*index)].precision;
}

std::string render_load_summary(const ModelEntry& model, Precision precision, const ModelMetadata& meta,
                                const LoadInfo& info, const RuntimeInfo& runtime) {
  const auto& a = meta.arch;
  std::string s = fmt::format("=== Automatic size detection: {} ===\n", variant_label(model, precision));
  s += fmt::format(
      "architecture  {} | encoder_dim {} | embed_dim {} | attention_dim {} | decoder_dim {} | grid {}x{}\n",
      a.name.empty() ? "?" : a.name, a.encoder_dim, a.embed_dim, a.attention_dim, a.decoder_dim, a.grid_h,
      a.grid_w);
  s += fmt::format("input         {}x{} {} | vocab {} words | max caption {} tokens\n", meta.input.width,
                   meta.input.height, meta.input.channel_order, meta.vocab.size(), meta.max_caption_length);
  s += fmt::format("parameters    {} (non-zero {}) | MACs {}\n", with_commas(meta.parameters),
                   with_commas(meta.nonzero_parameters), with_commas(meta.macs));
  s += fmt::format("variant       {}{} | weights stored as {}\n", meta.variant,
                   meta.variant_detail.empty() ? "" : " (" + meta.variant_detail + ")", meta.precision);
  s += fmt::format("file          {} | {} | sha256 {}\n", info.path, human_bytes(info.file_bytes),
                   info.sha256.substr(0, 12));
  s += fmt::format("loaded in     {:.1f} ms | intra-op threads {} | quantized engine {} | torch {}\n",
                   info.load_ms, runtime.intra_op_threads,
                   info.quantized_engine.empty() ? "none (not INT8)" : info.quantized_engine,
                   runtime.torch_version);
  if (!info.decoder.empty()) s += fmt::format("decoder step  {}\n", info.decoder);
  return s;
}

std::string variant_label(const ModelEntry& model, Precision precision) {
  std::string name(to_string(precision));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::toupper(c)); });
  return fmt::format("{} + {}", model.label, name);
}

}  // namespace edgecap
