#include "selection.h"

#include <fmt/format.h>

#include "edgecap/error.h"

namespace edgecap {
namespace {

Availability availability_of(const ModelCatalog& catalog, const ModelEntry& model, Precision precision) {
  for (const PrecisionEntry& p : catalog.precisions(model)) {
    if (p.precision == precision) return p.availability;
  }
  return {false, "unknown precision"};
}

}  // namespace

std::optional<Selection> choose_selection(const Config& config, const ModelCatalog& catalog, bool ask,
                                          const LineReader& read_line, std::ostream& out) {
  Selection s;
  if (!config.model.empty()) {
    s.model = catalog.resolve(config.model);
    if (!s.model.availability.available) {
      throw ModelError(fmt::format("{} is not available: {}", s.model.label, s.model.availability.reason));
    }
  } else if (ask) {
    auto model = choose_model(catalog.models(), read_line, out);
    if (!model) return std::nullopt;
    s.model = *model;
  } else {
    s.model = catalog.resolve("original");
    if (!s.model.availability.available) {
      throw ModelError(fmt::format("{} is not available: {}; pass --model PATH", s.model.label,
                                   s.model.availability.reason));
    }
  }
  if (config.precision) {
    const Availability a = availability_of(catalog, s.model, *config.precision);
    if (!a.available) {
      throw ModelError(fmt::format("--precision {} is not available for {}: {}", to_string(*config.precision),
                                   s.model.label, a.reason));
    }
    s.precision = *config.precision;
  } else if (ask) {
    auto precision = choose_precision(s.model, catalog.precisions(s.model), read_line, out);
    if (!precision) return std::nullopt;
    s.precision = *precision;
  }
  return s;
}

std::optional<Selection> ask_selection(const ModelCatalog& catalog, const LineReader& read_line,
                                       std::ostream& out) {
  return choose_selection(Config{}, catalog, true, read_line, out);
}

std::shared_ptr<Captioner> load_selection(const Selection& selection, Device device) {
  LoadOptions options;
  options.path = ModelCatalog::path_for(selection.model, selection.precision);
  options.precision = selection.precision;
  options.device = device;
  return std::make_shared<Captioner>(options);
}

}  // namespace edgecap
