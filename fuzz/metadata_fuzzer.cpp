// libFuzzer target: parse_metadata() on arbitrary text (fuzz/fuzz_checks.h says what must hold).
// The model's code is trusted (TorchScript is code), but the metadata parser is the first thing that reads
// a file's bytes, so it must refuse every malformed input with a ModelError and accept nothing that breaks
// the contract's rules.
#include <cstdio>
#include <cstdlib>

#include "fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string problem =
      edgecap::fuzz::metadata_violation(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz_metadata: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
