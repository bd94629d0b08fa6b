#pragma once
// Greedy and beam search over a model's `step`, independent of LibTorch so it can be tested with a fake
// step function. The search never sees the model state: it tells the step function which hypothesis of
// the previous call each new row continues (`parents`), and the step function reorders its state
// (index_select on dimension 0) before stepping.
#include <cstdint>
#include <functional>
#include <vector>

namespace edgecap {

struct StepOutput {
  int rows = 0;                  // number of hypotheses stepped
  int vocab = 0;
  std::vector<float> log_probs;  // rows * vocab, row-major
  int regions = 0;               // attention regions per row (0 when the model gives none)
  std::vector<float> alpha;      // rows * regions
};

// tokens[i] is the last token of row i; parents[i] is the row of the previous call that row i extends
// (on the first call: all zeros, rows may exceed 1 for beam search, meaning "copy the encoded state").
using StepFunction =
    std::function<StepOutput(const std::vector<int64_t>& tokens, const std::vector<int64_t>& parents)>;

struct DecodeOptions {
  int64_t start_token = 1;
  int64_t end_token = 2;
  int max_length = 20;   // tokens generated, not counting <start>; <end> counts
  int beam = 1;          // 1 = greedy
  float length_penalty = 0.0f;  // score = sum(logp) / len^length_penalty (0 = plain sum)
};

struct Hypothesis {
  std::vector<int64_t> tokens;            // without <start> and <end>
  std::vector<float> token_log_probs;     // one per token in `tokens` (plus <end>'s when finished)
  std::vector<std::vector<float>> alphas; // attention of the step that produced each token in `tokens`
  float score = 0.0f;                     // sum of log-probs (length-penalised for beam ranking)
  bool finished = false;                  // reached <end>; false = cut at max_length
  int steps = 0;                          // step() calls made
};

Hypothesis greedy_decode(const StepFunction& step, const DecodeOptions& options);
// Beam search; when no hypothesis reaches <end>, returns the best unfinished one.
Hypothesis beam_decode(const StepFunction& step, const DecodeOptions& options);
// beam <= 1 -> greedy, else beam.
Hypothesis decode(const StepFunction& step, const DecodeOptions& options);

}  // namespace edgecap
