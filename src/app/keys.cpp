#include "edgecap/keys.h"

#include <cctype>

namespace edgecap {

Action action_for_key(int key) {
  if (key < 0) return Action::kNone;
  const int c = std::tolower(key & 0xFF);
  switch (c) {
    case 's':
      return Action::kCaption;
    case 'r':
      return Action::kReplay;
    case 'p':
      return Action::kReport;
    case 'm':
      return Action::kMenu;
    case 'q':
    case 27:
      return Action::kQuit;  // Esc
    case 'a':
      return Action::kToggleAuto;
    case '+':
    case '=':
      return Action::kRateUp;  // '=' is '+' without Shift
    case '-':
    case '_':
      return Action::kRateDown;
    case 'h':
      return Action::kHeatmap;
    case '?':
      return Action::kHelp;
    default:
      return Action::kNone;
  }
}

std::string key_help() {
  return "Keys: S caption the current frame + speak | R replay the last caption | P performance report\n"
         "      M change model/precision | A auto-caption on/off | + / - speech rate | H attention heatmap\n"
         "      ? this help | Q quit\n";
}

}  // namespace edgecap
