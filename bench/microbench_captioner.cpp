// One caption through the Captioner (the tiny test model always; the trained models when they exist), with
// the cost of one decoder step as a counter: decode time / step() calls, measured inside the Captioner.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "edgecap/captioner.h"

namespace {

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("EDGECAP_SOURCE_DIR");
  std::filesystem::path base = root ? root : EDGECAP_SOURCE_DIR;
  if (std::filesystem::exists(relative)) return relative;  // run from the repository root
  return (base / relative).string();
}

void caption_bench(benchmark::State& state, const std::string& path, edgecap::Precision precision, int beam) {
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("missing model file " + path).c_str());
    return;
  }
  edgecap::LoadOptions options;
  options.path = path;
  options.precision = precision;
  edgecap::Captioner captioner(options);
  cv::Mat frame(480, 640, CV_8UC3);
  cv::randu(frame, cv::Scalar::all(0), cv::Scalar::all(255));
  for (int i = 0; i < 3; ++i) captioner.caption(frame, beam);  // warm-up: first calls allocate and optimise
  double decode_ms = 0, encode_ms = 0, steps = 0;
  for (auto _ : state) {
    edgecap::Caption c = captioner.caption(frame, beam);
    decode_ms += c.times.decode_ms;
    encode_ms += c.times.encode_ms;
    steps += c.steps;
  }
  state.counters["encode_ms"] = benchmark::Counter(encode_ms, benchmark::Counter::kAvgIterations);
  state.counters["step_ms"] = steps > 0 ? decode_ms / steps : 0.0;
  state.counters["steps"] = benchmark::Counter(steps, benchmark::Counter::kAvgIterations);
}

struct Registration {
  Registration() {
    // Intra-op threads: $EDGECAP_BENCH_THREADS, default 1. Left to LibTorch's default, QNNPACK's pool and
    // OpenMP spin on every core and a loaded 2-core box turns 1 ms captions into 100 ms ones.
    const char* threads = std::getenv("EDGECAP_BENCH_THREADS");
    edgecap::configure_threads(threads ? std::atoi(threads) : 1);
    struct Model {
      const char* name;
      const char* path;
      edgecap::Precision precision;
    };
    const Model models[] = {
        {"tiny/fp32", "tests/data/tiny_model.pt", edgecap::Precision::kFP32},
        {"tiny/int8", "tests/data/tiny_model.int8.pt", edgecap::Precision::kINT8},
        {"original/fp32", "models/lightweight_captioning_model.pt", edgecap::Precision::kFP32},
        {"original/int8", "models/lightweight_captioning_model.int8.pt", edgecap::Precision::kINT8},
        {"pruned/fp32", "pruning_results/Pruning_epoch_1_checkpoint.pt", edgecap::Precision::kFP32},
        {"pruned/int8", "pruning_results/Pruning_epoch_1_checkpoint.int8.pt", edgecap::Precision::kINT8},
    };
    for (const Model& m : models) {
      std::string path = source_path(m.path);
      bool tiny = std::string(m.name).rfind("tiny", 0) == 0;
      if (!tiny && !std::filesystem::exists(path)) continue;  // the trained models are optional
      for (int beam : {1, 3}) {
        benchmark::RegisterBenchmark(
            ("BM_Caption640x480/" + std::string(m.name) + "/beam" + std::to_string(beam)).c_str(),
            [path, m, beam](benchmark::State& s) { caption_bench(s, path, m.precision, beam); })
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
};
const Registration kRegistration;

}  // namespace
