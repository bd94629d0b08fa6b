// One decoder step of the trained models, three ways: the native FP32 step, the native INT8 step (the
// *.int8.pt file's weights) and, for reference, each file's own TorchScript step. The state comes from the
// file's encode of a fixed image; the step is fed the same token and state every iteration, so this is
// the step's cost alone (no search, no preprocessing). Skips models that are not built.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <torch/script.h>

#include "edgecap/captioner.h"
#include "native_step.h"

namespace {

namespace ed = edgecap::detail;

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("EDGECAP_SOURCE_DIR");
  if (std::filesystem::exists(relative)) return relative;
  return (std::filesystem::path(root ? root : EDGECAP_SOURCE_DIR) / relative).string();
}

struct Loaded {
  torch::jit::Module module;
  ed::StepState state;
  c10::impl::GenericDict dict{c10::StringType::get(), c10::TensorType::get()};
};

Loaded load(const std::string& path, bool int8) {
  if (int8) at::globalContext().setQEngine(at::QEngine::ONEDNN);
  Loaded l{
      torch::jit::load(path), {}, c10::impl::GenericDict(c10::StringType::get(), c10::TensorType::get())};
  l.module.eval();
  c10::InferenceMode guard;
  const at::Tensor image = torch::linspace(-2.0, 2.0, 3 * 128 * 128).reshape({1, 3, 128, 128});
  l.dict = l.module.get_method("encode")({image}).toGenericDict();
  for (const auto& e : l.dict) l.state.emplace_back(e.key().toStringRef(), e.value().toTensor());
  return l;
}

void native_step(benchmark::State& s, const std::string& path, bool int8) {
  Loaded l = load(path, int8);
  std::string reason;
  ed::NamedTensors params;
  if (int8) {
    params = ed::unpack_int8_decoder(l.module, reason);
  } else {
    for (const auto& p : l.module.named_parameters(true)) params.emplace(p.name, p.value);
  }
  const auto vocab = static_cast<int64_t>(edgecap::read_model_metadata(path).vocab.size());
  auto step = params.empty() ? nullptr : ed::NativeStep::create(params, vocab, reason);
  if (!step) {
    s.SkipWithError(reason.c_str());
    return;
  }
  c10::InferenceMode guard;
  for (auto _ : s) benchmark::DoNotOptimize(step->run({1}, l.state));
  s.SetLabel(step->kind());
}

void script_step(benchmark::State& s, const std::string& path, bool int8) {
  Loaded l = load(path, int8);
  c10::InferenceMode guard;
  const at::Tensor token = torch::tensor({int64_t{1}});
  for (auto _ : s) benchmark::DoNotOptimize(l.module.get_method("step")({token, l.dict}));
}

struct Registration {
  Registration() {
    const char* threads = std::getenv("EDGECAP_BENCH_THREADS");
    edgecap::configure_threads(threads ? std::atoi(threads) : 1);
    const struct {
      const char* name;
      const char* path;
      bool int8;
    } models[] = {
        {"original/fp32", "models/lightweight_captioning_model.pt", false},
        {"original/int8", "models/lightweight_captioning_model.int8.pt", true},
        {"pruned/fp32", "pruning_results/Pruning_epoch_1_checkpoint.pt", false},
        {"pruned/int8", "pruning_results/Pruning_epoch_1_checkpoint.int8.pt", true},
    };
    for (const auto& m : models) {
      const std::string path = source_path(m.path);
      if (!std::filesystem::exists(path)) continue;
      const bool int8 = m.int8;
      benchmark::RegisterBenchmark(("BM_Step/native/" + std::string(m.name)).c_str(),
                                   [path, int8](benchmark::State& s) { native_step(s, path, int8); })
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("BM_Step/torchscript/" + std::string(m.name)).c_str(),
                                   [path, int8](benchmark::State& s) { script_step(s, path, int8); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
} registration;

}  // namespace
