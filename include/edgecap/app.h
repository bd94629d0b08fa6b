#pragma once
// The interactive application (`edgecap [run]`) and the one-shot commands main() dispatches to.
#include <ostream>
#include <string>

#include "edgecap/config.h"

namespace edgecap {

// Menus (unless flags chose), source, model, then the key loop. Returns the process exit code (0, or 130
// after SIGINT/SIGTERM/SIGHUP); set-up failures throw edgecap::Error.
int run_app(const Config& config);

// `edgecap caption IMAGE...`: one line per image (IMAGE<TAB>caption, or JSON with --json). Unreadable
// images are reported on `err` and the rest still run; returns 4 (kSource) if any failed, else 0.
int run_caption_command(const Config& config, std::ostream& out, std::ostream& err);

// edgecap, LibTorch and OpenCV versions and the build type, for --version.
std::string version_text();

}  // namespace edgecap
