#pragma once
// `edgecap bench`: sweep model x precision over an image set and write the measured comparison table.
#include <ostream>

#include "edgecap/config.h"

namespace edgecap {

// Runs the sweep described by `config` (bench_* fields), prints the terminal table to `out`, writes the
// reports when config.bench_out is set. Returns the process exit code; throws BenchError on failure.
int run_bench(const Config& config, std::ostream& out);

}  // namespace edgecap
