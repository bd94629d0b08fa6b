// Greedy vs beam search cost of the search itself, on a fake step function (no model), so the numbers are
// the C++ search overhead that every caption pays on top of the model's step.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "edgecap/decoder.h"

namespace {

constexpr int kVocab = 1000;
constexpr int64_t kEnd = 2;

// Log-probs of the next token depend only on the previous token: a fixed random Markov chain whose
// <end> probability is moderate, so hypotheses finish at different lengths like real captions.
// `ending` false: <end> is never likely, so every search runs max_length steps (equal work per beam).
std::vector<float> make_table(bool ending) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(kVocab) * kVocab);
  for (int row = 0; row < kVocab; ++row) {
    float sum = 0, top = 0;
    for (int col = 0; col < kVocab; ++col) {
      float p = u(rng) * u(rng) * u(rng);
      v[row * kVocab + col] = p;
      top = std::max(top, p);
    }
    // <end> is the most likely next token after about one token in eight: captions of ~8 tokens
    v[row * kVocab + kEnd] = ending ? top * (u(rng) < 0.125f ? 1.5f : 0.6f) : 1e-9f;
    for (int col = 0; col < kVocab; ++col) sum += v[row * kVocab + col];
    for (int col = 0; col < kVocab; ++col) v[row * kVocab + col] = std::log(v[row * kVocab + col] / sum);
  }
  return v;
}

const std::vector<float>& table(bool ending) {
  static const std::vector<float> with_end = make_table(true), without_end = make_table(false);
  return ending ? with_end : without_end;
}

edgecap::StepFunction fake_step(int* calls, bool ending) {
  return [calls, ending](const std::vector<int64_t>& tokens, const std::vector<int64_t>&) {
    ++*calls;
    edgecap::StepOutput out;
    out.rows = static_cast<int>(tokens.size());
    out.vocab = kVocab;
    out.log_probs.resize(static_cast<size_t>(out.rows) * kVocab);
    for (int r = 0; r < out.rows; ++r) {
      std::copy_n(table(ending).begin() + tokens[r] % kVocab * kVocab, kVocab,
                  out.log_probs.begin() + r * kVocab);
    }
    return out;
  };
}

// Args: beam width (1 = greedy); 1 = <end> reachable (variable lengths), 0 = always max_length steps.
void BM_DecodeFakeStep(benchmark::State& state) {
  edgecap::DecodeOptions options;
  options.beam = static_cast<int>(state.range(0));
  options.max_length = 20;
  options.end_token = kEnd;
  int calls = 0;
  const bool ending = state.range(1) != 0;
  auto step = fake_step(&calls, ending);
  table(ending);
  int64_t tokens = 0;
  for (auto _ : state) {
    edgecap::Hypothesis h = edgecap::decode(step, options);
    tokens += static_cast<int64_t>(h.tokens.size());
    benchmark::DoNotOptimize(h.score);
  }
  state.counters["steps/caption"] = benchmark::Counter(calls, benchmark::Counter::kAvgIterations);
  state.counters["tokens/caption"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_DecodeFakeStep)
    ->ArgNames({"beam", "ending"})
    ->ArgsProduct({{1, 3, 5}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
