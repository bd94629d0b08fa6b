#include "edgecap/decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "edgecap/error.h"

namespace edgecap {
namespace {

void check_max_length(const DecodeOptions& options) {
  if (options.max_length < 1) throw std::invalid_argument("decode: max_length must be >= 1");
}

// A step function that returns the wrong layout would make the search read garbage; the model contract is
// checked at load time, but a fake or a future model could still break it here.
void check_output(const StepOutput& out, std::size_t rows) {
  if (out.rows != static_cast<int>(rows) || out.vocab < 1 ||
      out.log_probs.size() != rows * static_cast<std::size_t>(out.vocab)) {
    throw ModelError("step returned " + std::to_string(out.rows) + " rows x " + std::to_string(out.vocab) +
                     " log-probs (" + std::to_string(out.log_probs.size()) + " values) for " +
                     std::to_string(rows) + " hypotheses");
  }
  if (out.regions < 0 || out.alpha.size() != rows * static_cast<std::size_t>(out.regions)) {
    throw ModelError("step returned " + std::to_string(out.alpha.size()) + " attention values for " +
                     std::to_string(rows) + " rows x " + std::to_string(out.regions) + " regions");
  }
}

std::vector<float> alpha_row(const StepOutput& out, std::size_t row) {
  if (out.regions == 0) return {};
  const auto begin = out.alpha.begin() + static_cast<std::ptrdiff_t>(row * out.regions);
  return std::vector<float>(begin, begin + out.regions);
}

float penalised(float sum, std::size_t length, float length_penalty) {
  if (length_penalty == 0.0f || length == 0) return sum;
  return sum / std::pow(static_cast<float>(length), length_penalty);
}

// Raw sum of the log-probs a hypothesis has collected, which is what the search extends; `score` holds
// the penalised value used for ranking finished hypotheses.
struct Beam {
  Hypothesis hyp;
  float sum = 0.0f;
};

}  // namespace

Hypothesis greedy_decode(const StepFunction& step, const DecodeOptions& options) {
  check_max_length(options);
  Hypothesis hyp;
  float sum = 0.0f;
  std::vector<int64_t> tokens{options.start_token};
  const std::vector<int64_t> parents{0};
  for (int t = 0; t < options.max_length; ++t) {
    const StepOutput out = step(tokens, parents);
    ++hyp.steps;
    check_output(out, 1);
    // max_element returns the first maximum: ties go to the lowest token id, deterministically.
    const auto best = std::max_element(out.log_probs.begin(), out.log_probs.end());
    const auto token = static_cast<int64_t>(best - out.log_probs.begin());
    sum += *best;
    hyp.token_log_probs.push_back(*best);
    if (token == options.end_token) {
      hyp.finished = true;
      break;
    }
    hyp.tokens.push_back(token);
    if (out.regions > 0) hyp.alphas.push_back(alpha_row(out, 0));
    tokens[0] = token;
  }
  hyp.score = penalised(sum, hyp.token_log_probs.size(), options.length_penalty);
  return hyp;
}

Hypothesis beam_decode(const StepFunction& step, const DecodeOptions& options) {
  check_max_length(options);
  const std::size_t k = static_cast<std::size_t>(std::max(options.beam, 1));
  // The first call steps one row: all beams would start from the same <start> state, and k identical rows
  // would only fill the top-k with duplicates.
  std::vector<Beam> alive(1);
  std::vector<int64_t> tokens{options.start_token};
  std::vector<int64_t> parents{0};
  std::vector<Hypothesis> finished;
  int steps = 0;
  std::vector<std::size_t> order;

  for (int t = 0; t < options.max_length && !alive.empty(); ++t) {
    const StepOutput out = step(tokens, parents);
    ++steps;
    check_output(out, alive.size());
    const std::size_t vocab = static_cast<std::size_t>(out.vocab);
    const std::size_t total = alive.size() * vocab;

    // Each row holds one <end> candidate, so the best 2k candidates always contain k that continue (when
    // the vocabulary has more than one word).
    const std::size_t take = std::min(total, 2 * k);
    auto candidate_score = [&](std::size_t flat) { return alive[flat / vocab].sum + out.log_probs[flat]; };
    order.resize(total);
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Ties break on the flat index (lower row, then lower token id), so the result never depends on the
    // sort implementation.
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                      [&](std::size_t a, std::size_t b) {
                        const float sa = candidate_score(a), sb = candidate_score(b);
                        return sa > sb || (sa == sb && a < b);
                      });

    std::vector<Beam> next;
    std::vector<int64_t> next_tokens, next_parents;
    for (std::size_t i = 0; i < take && next.size() < k; ++i) {
      const std::size_t flat = order[i];
      const float score = candidate_score(flat);
      if (!std::isfinite(score)) continue;   // a -inf log-prob is a word the model forbids
      const std::size_t row = flat / vocab;  // integer division: which hypothesis this candidate extends
      const auto token = static_cast<int64_t>(flat % vocab);
      const Beam& parent = alive[row];
      Beam child{parent.hyp, score};
      child.hyp.token_log_probs.push_back(out.log_probs[flat]);
      if (token == options.end_token) {
        child.hyp.finished = true;
        child.hyp.score = penalised(score, child.hyp.token_log_probs.size(), options.length_penalty);
        finished.push_back(std::move(child.hyp));
        continue;
      }
      child.hyp.tokens.push_back(token);
      if (out.regions > 0) child.hyp.alphas.push_back(alpha_row(out, row));
      child.hyp.score = penalised(score, child.hyp.token_log_probs.size(), options.length_penalty);
      next.push_back(std::move(child));
      next_tokens.push_back(token);
      next_parents.push_back(static_cast<int64_t>(row));
    }
    alive = std::move(next);
    tokens = std::move(next_tokens);
    parents = std::move(next_parents);

    if (!finished.empty() && !alive.empty()) {
      const auto best_finished =
          std::max_element(finished.begin(), finished.end(),
                           [](const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; });
      if (options.length_penalty == 0.0f) {
        // Log-probs are <= 0, so an unfinished sum can only fall: once the best finished score is at least
        // the best alive one, no continuation can beat it. Exact, and it makes beam 1 stop where greedy does.
        float best_alive = -std::numeric_limits<float>::infinity();
        for (const auto& b : alive) best_alive = std::max(best_alive, b.sum);
        if (best_finished->score >= best_alive) break;
      } else if (finished.size() >= k) {
        // With a length penalty longer captions can still overtake; stop after k finished, like
        // tools/common.py beam_decode.
        break;
      }
    }
  }

  Hypothesis result;
  if (!finished.empty()) {
    // First maximum wins ties: the hypothesis that finished first (shorter, or found earlier).
    result = *std::max_element(finished.begin(), finished.end(),
                               [](const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; });
  } else if (!alive.empty()) {
    // No beam reached <end> within max_length: the best cut-off hypothesis is still a caption.
    result = std::max_element(alive.begin(), alive.end(), [](const Beam& a, const Beam& b) {
               return a.hyp.score < b.hyp.score;
             })->hyp;
  }
  result.steps = steps;
  return result;
}

Hypothesis decode(const StepFunction& step, const DecodeOptions& options) {
  return options.beam <= 1 ? greedy_decode(step, options) : beam_decode(step, options);
}

}  // namespace edgecap
