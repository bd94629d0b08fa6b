#pragma once
// What each key does in the live loop. One table, shared by the terminal, the preview window and `?`.
#include <string>

namespace edgecap {

enum class Action {
  kNone,
  kCaption,     // S
  kReplay,      // R
  kReport,      // P
  kMenu,        // M
  kQuit,        // Q (and Esc)
  kToggleAuto,  // A
  kRateUp,      // +
  kRateDown,    // -
  kHeatmap,     // H
  kHelp,        // ?
};

// Keys are case-insensitive. `key` is a byte from the terminal or a cv::waitKey() code (-1 = nothing;
// high bits that HighGUI adds for modifiers are ignored).
Action action_for_key(int key);
std::string key_help();  // the lines printed for `?` and at start-up

}  // namespace edgecap
