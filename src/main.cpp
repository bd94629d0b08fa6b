// edgecap: parse the command line, run the chosen command, turn failures into exit codes (error.h).
#include <exception>
#include <iostream>

#include "edgecap/app.h"
#include "edgecap/bench.h"
#include "edgecap/config.h"
#include "edgecap/error.h"
#include "edgecap/terminal.h"

int main(int argc, char** argv) {
  using namespace edgecap;
  try {
    const Config config = parse_args(argc, argv);
    if (config.show_help) {
      std::cout << usage();
      return 0;
    }
    if (config.show_version) {
      std::cout << version_text();
      return 0;
    }
    switch (config.command) {
      case Command::kRun:
        return run_app(config);
      case Command::kCaption:
        return run_caption_command(config, std::cout, std::cerr);
      case Command::kBench:
        return run_bench(config, std::cout);
    }
  } catch (const Error& e) {
    restore_terminal();
    std::cout.flush();
    std::cerr << "edgecap: " << e.what() << '\n';
    return int(e.code());
  } catch (const std::exception& e) {
    restore_terminal();
    std::cout.flush();
    std::cerr << "edgecap: internal error: " << e.what() << "\n(please report this with the command line)\n";
    return int(ExitCode::kInternal);
  }
  return int(ExitCode::kInternal);
}
