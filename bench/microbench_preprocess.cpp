// Preprocessing of one camera-sized frame: the fixed per-caption cost before the model runs.
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>

#include "edgecap/preprocess.h"

namespace {

edgecap::InputSpec spec(int side) {
  edgecap::InputSpec s;
  s.height = side;
  s.width = side;
  s.mean = {0.485f, 0.456f, 0.406f};
  s.std = {0.229f, 0.224f, 0.225f};
  return s;
}

// Arg: the model's input side (32 = tiny test model, 128 = the trained model).
void BM_Preprocess640x480(benchmark::State& state) {
  cv::Mat frame(480, 640, CV_8UC3);
  cv::randu(frame, cv::Scalar::all(0), cv::Scalar::all(255));
  const edgecap::InputSpec s = spec(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    edgecap::ImageTensor t = edgecap::preprocess(frame, s);
    benchmark::DoNotOptimize(t.data.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Preprocess640x480)->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond);

}  // namespace
