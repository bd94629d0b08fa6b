#pragma once
// Model + precision chosen by flags or menus, and loading it with the user-facing messages.
#include <memory>
#include <optional>
#include <ostream>

#include "edgecap/captioner.h"
#include "edgecap/config.h"
#include "edgecap/menu.h"
#include "edgecap/model_catalog.h"

namespace edgecap {

struct Selection {
  ModelEntry model;
  Precision precision = Precision::kFP32;
};

// Flags win; whatever they leave open is asked with the menus (`ask` = false: use defaults instead,
// original + FP32). nullopt when the user ends the menu (EOF, q). Throws ModelError/UsageError for a
// choice the flags made that cannot run.
std::optional<Selection> choose_selection(const Config& config, const ModelCatalog& catalog, bool ask,
                                          const LineReader& read_line, std::ostream& out);
// Menus only (the `M` key): flags are ignored.
std::optional<Selection> ask_selection(const ModelCatalog& catalog, const LineReader& read_line,
                                       std::ostream& out);

std::shared_ptr<Captioner> load_selection(const Selection& selection, Device device);

}  // namespace edgecap
