#pragma once
// The start-up menus in the seed's style (model, then precision, then the automatic size detection
// printout). Rendering and parsing are pure functions; the interactive parts take a line source so tests
// drive them with strings and the app with the terminal.
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "edgecap/captioner.h"
#include "edgecap/model_catalog.h"

namespace edgecap {

// Next line of input without its newline; nullopt on EOF (or a terminating signal).
using LineReader = std::function<std::optional<std::string>()>;

std::string render_model_menu(const std::vector<ModelEntry>& models);
std::string render_precision_menu(const ModelEntry& model, const std::vector<PrecisionEntry>& precisions);

enum class ChoiceStatus { kOk, kEmpty, kNotANumber, kOutOfRange, kQuit };
struct MenuChoice {
  ChoiceStatus status = ChoiceStatus::kEmpty;
  int index = -1;    // 0-based when kOk
  std::string hint;  // what to type instead, when not kOk
};
// Parses one answer to a menu of `count` entries numbered 1..count ("q" = quit).
MenuChoice parse_choice(const std::string& line, int count);

// Ask until a valid, available entry is chosen. nullopt when input ends or the user types q.
// Throws ModelError when no entry at all is available (the reasons are in the message).
std::optional<ModelEntry> choose_model(const std::vector<ModelEntry>& models, const LineReader& read_line,
                                       std::ostream& out);
std::optional<Precision> choose_precision(const ModelEntry& model,
                                          const std::vector<PrecisionEntry>& precisions,
                                          const LineReader& read_line, std::ostream& out);

// The seed's "automatic size detection": dimensions from the metadata, sizes, hash, load time, threads.
std::string render_load_summary(const ModelEntry& model, Precision precision, const ModelMetadata& meta,
                                const LoadInfo& info, const RuntimeInfo& runtime);

// "Original Model + FP32" style label used by the overlay, the status line and the report.
std::string variant_label(const ModelEntry& model, Precision precision);

}  // namespace edgecap
