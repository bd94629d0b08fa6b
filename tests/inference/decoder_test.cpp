#include "edgecap/decoder.h"

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <utility>

#include <gtest/gtest.h>

#include "edgecap/error.h"

namespace edgecap {
namespace {

constexpr int64_t kStart = 1;
constexpr int64_t kEnd = 2;
constexpr int kVocab = 8;  // 0 pad, 1 start, 2 end, 3..7 words
using Prefix = std::vector<int64_t>;
using Distribution = std::function<std::vector<double>(const Prefix&)>;

// A fake model whose "state" is the token prefix of each row. It applies `parents` exactly as the LibTorch
// step function reorders its state, so a search that links a row to the wrong parent sees log-probs of
// the wrong prefix and its reported score stops matching an independent recomputation.
struct FakeModel {
  explicit FakeModel(Distribution distribution) : probs(std::move(distribution)) {}
  Distribution probs;
  std::vector<Prefix> rows;
  int calls = 0;
  std::vector<std::vector<int64_t>> parents_seen;

  StepOutput operator()(const std::vector<int64_t>& tokens, const std::vector<int64_t>& parents) {
    parents_seen.push_back(parents);
    std::vector<Prefix> next;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (calls == 0) {
        EXPECT_EQ(tokens[i], kStart);
        next.push_back({});
      } else {
        Prefix p = rows.at(static_cast<std::size_t>(parents[i]));
        p.push_back(tokens[i]);
        next.push_back(p);
      }
    }
    rows = next;
    ++calls;
    StepOutput out;
    out.rows = static_cast<int>(rows.size());
    out.vocab = kVocab;
    out.regions = 2;
    for (const Prefix& p : rows) {
      const std::vector<double> dist = probs(p);
      for (double v : dist) out.log_probs.push_back(static_cast<float>(std::log(v)));
      out.alpha.push_back(static_cast<float>(p.size()));
      out.alpha.push_back(static_cast<float>(code(p)));
    }
    return out;
  }

  static double code(const Prefix& p) {
    double c = 0, w = 1;
    for (int64_t t : p) {
      c += static_cast<double>(t) * w;
      w *= 8;
    }
    return c;
  }
};

StepFunction as_step(FakeModel& model) {
  return [&model](const std::vector<int64_t>& t, const std::vector<int64_t>& p) { return model(t, p); };
}

// A distribution from a {token: probability} map; unspecified tokens get probability 0.
std::vector<double> dist(std::map<int64_t, double> probabilities) {
  std::vector<double> d(kVocab, 0.0);
  for (const auto& [token, p] : probabilities) d[static_cast<std::size_t>(token)] = p;
  return d;
}

// The log-probability the model assigns to a hypothesis, recomputed without the search.
double path_log_prob(const Distribution& probs, const Hypothesis& h) {
  double sum = 0;
  Prefix prefix;
  for (int64_t t : h.tokens) {
    sum += std::log(probs(prefix)[static_cast<std::size_t>(t)]);
    prefix.push_back(t);
  }
  if (h.finished) sum += std::log(probs(prefix)[kEnd]);
  return sum;
}

DecodeOptions options(int beam, int max_length = 20, float length_penalty = 0.0f) {
  DecodeOptions o;
  o.start_token = kStart;
  o.end_token = kEnd;
  o.beam = beam;
  o.max_length = max_length;
  o.length_penalty = length_penalty;
  return o;
}

// Pseudo-random but fixed per prefix; <end> grows likelier with length so captions end.
Distribution random_model(uint32_t seed) {
  return [seed](const Prefix& prefix) {
    uint32_t h = seed;
    for (int64_t t : prefix) h = h * 31u + static_cast<uint32_t>(t) + 7u;
    std::mt19937 rng(h);
    std::uniform_real_distribution<double> u(0.05, 1.0);
    std::vector<double> d(kVocab, 0.0);
    double total = 0;
    for (int i = 2; i < kVocab; ++i) total += d[i] = u(rng) * (i == kEnd ? 0.3 * (1.0 + prefix.size()) : 1.0);
    for (double& v : d) v /= total;
    return d;
  };
}

TEST(Greedy, FollowsTheArgmaxAndStopsAtEnd) {
  FakeModel m{[](const Prefix& p) {
    if (p.empty()) return dist({{3, 0.5}, {4, 0.3}, {kEnd, 0.2}});
    if (p.size() == 1) return dist({{5, 0.6}, {kEnd, 0.4}});
    return dist({{kEnd, 0.7}, {6, 0.3}});
  }};
  const Hypothesis h = greedy_decode(as_step(m), options(1));
  EXPECT_EQ(h.tokens, (Prefix{3, 5}));
  EXPECT_TRUE(h.finished);
  EXPECT_EQ(h.steps, 3);
  ASSERT_EQ(h.token_log_probs.size(), 3u);  // two words plus <end>
  EXPECT_NEAR(h.token_log_probs[2], std::log(0.7), 1e-6);
  EXPECT_NEAR(h.score, std::log(0.5) + std::log(0.6) + std::log(0.7), 1e-5);
}

TEST(Search, EndAtFirstStepGivesEmptyCaption) {
  const Distribution probs = [](const Prefix&) { return dist({{kEnd, 0.8}, {3, 0.2}}); };
  for (int beam : {1, 3}) {
    FakeModel m{probs};
    const Hypothesis h = decode(as_step(m), options(beam));
    EXPECT_TRUE(h.tokens.empty()) << "beam " << beam;
    EXPECT_TRUE(h.finished);
    EXPECT_EQ(h.steps, 1);
    EXPECT_TRUE(h.alphas.empty());
    EXPECT_NEAR(h.score, std::log(0.8), 1e-6);
  }
}

TEST(Search, MaxLengthIsRespectedAndBestUnfinishedReturned) {
  // <end> is impossible: every search must stop at max_length and still return a caption.
  const Distribution probs = [](const Prefix& p) {
    return p.size() % 2 ? dist({{4, 0.6}, {5, 0.4}}) : dist({{3, 0.7}, {6, 0.3}});
  };
  for (int beam : {1, 2, 4}) {
    FakeModel m{probs};
    const Hypothesis h = decode(as_step(m), options(beam, 5));
    EXPECT_FALSE(h.finished) << "beam " << beam;
    EXPECT_EQ(h.tokens, (Prefix{3, 4, 3, 4, 3})) << "beam " << beam;
    EXPECT_EQ(h.steps, 5);
    EXPECT_EQ(m.calls, 5);
    EXPECT_NEAR(h.score, path_log_prob(probs, h), 1e-4);
  }
}

TEST(Search, BeamOneEqualsGreedy) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    const Distribution probs = random_model(seed);
    FakeModel a{probs}, b{probs};
    const Hypothesis g = greedy_decode(as_step(a), options(1, 12));
    const Hypothesis k1 = beam_decode(as_step(b), options(1, 12));
    EXPECT_EQ(g.tokens, k1.tokens) << "seed " << seed;
    EXPECT_EQ(g.finished, k1.finished) << "seed " << seed;
    EXPECT_EQ(g.steps, k1.steps) << "seed " << seed;
    EXPECT_NEAR(g.score, k1.score, 1e-5) << "seed " << seed;
    EXPECT_EQ(g.alphas, k1.alphas) << "seed " << seed;
  }
}

TEST(Beam, FindsABetterSequenceThanGreedy) {
  // Greedy takes A (0.6), then faces a flat distribution: 0.6 * 0.34 * 1.0 = 0.204.
  // B (0.4) then <end> (0.9) = 0.36 is better and only a beam keeps B alive.
  const Distribution probs = [](const Prefix& p) {
    if (p.empty()) return dist({{3, 0.6}, {4, 0.4}});
    if (p == Prefix{3}) return dist({{5, 0.34}, {6, 0.33}, {7, 0.33}});
    if (p == Prefix{4}) return dist({{kEnd, 0.9}, {5, 0.1}});
    return dist({{kEnd, 1.0}});
  };
  FakeModel g{probs}, b{probs};
  const Hypothesis greedy = greedy_decode(as_step(g), options(1));
  const Hypothesis beam = beam_decode(as_step(b), options(2));
  EXPECT_EQ(greedy.tokens, (Prefix{3, 5}));
  EXPECT_EQ(beam.tokens, (Prefix{4}));
  EXPECT_TRUE(beam.finished);
  EXPECT_GT(beam.score, greedy.score);
  EXPECT_NEAR(beam.score, std::log(0.36), 1e-5);
}

TEST(Beam, ParentRowComesFromIntegerDivision) {
  // The winner at step 2 continues row 1 (prefix {4}); a search that derives the row any other way than
  // flat_index / vocab reorders the state wrongly and reports a score the path does not have.
  const Distribution probs = [](const Prefix& p) {
    if (p.empty()) return dist({{3, 0.55}, {4, 0.45}});
    if (p == Prefix{3}) return dist({{5, 0.2}, {6, 0.2}, {7, 0.2}, {kEnd, 0.4}});
    if (p == Prefix{4}) return dist({{7, 0.99}, {kEnd, 0.01}});
    return dist({{kEnd, 1.0}});
  };
  FakeModel m{probs};
  const Hypothesis h = beam_decode(as_step(m), options(2));
  EXPECT_EQ(h.tokens, (Prefix{4, 7}));
  EXPECT_TRUE(h.finished);
  EXPECT_NEAR(h.score, path_log_prob(probs, h), 1e-5);
  ASSERT_GE(m.parents_seen.size(), 3u);
  EXPECT_EQ(m.parents_seen[0], (std::vector<int64_t>{0}));     // one row from the encoded state
  EXPECT_EQ(m.parents_seen[1], (std::vector<int64_t>{0, 0}));  // both beams start from it
  EXPECT_EQ(m.parents_seen[2].front(), 1);                     // the best row extends beam 1
}

TEST(Beam, AlphasFollowTheChosenPath) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    FakeModel m{random_model(seed)};
    const Hypothesis h = beam_decode(as_step(m), options(3, 10));
    ASSERT_EQ(h.alphas.size(), h.tokens.size()) << "seed " << seed;
    Prefix prefix;
    for (std::size_t i = 0; i < h.tokens.size(); ++i) {
      // The fake encodes the prefix a row was stepped with into its attention.
      EXPECT_EQ(h.alphas[i], (std::vector<float>{static_cast<float>(prefix.size()),
                                                 static_cast<float>(FakeModel::code(prefix))}))
          << "seed " << seed << " token " << i;
      prefix.push_back(h.tokens[i]);
    }
    EXPECT_NEAR(h.score, path_log_prob(random_model(seed), h), 1e-4) << "seed " << seed;
  }
}

TEST(Beam, FinishedHypothesesAreKeptAside) {
  // With a length penalty the search keeps going after {3} finishes early; the longer beams end up worse
  // and the early, finished one must still win.
  const Distribution probs = [](const Prefix& p) {
    if (p.empty()) return dist({{3, 0.5}, {4, 0.5}});
    if (p == Prefix{3}) return dist({{kEnd, 0.9}, {5, 0.1}});
    if (p.size() < 4) return dist({{5, 0.4}, {6, 0.4}, {kEnd, 0.2}});
    return dist({{kEnd, 0.1}, {7, 0.9}});
  };
  FakeModel m{probs};
  const Hypothesis h = beam_decode(as_step(m), options(2, 20, 1.0f));
  EXPECT_EQ(h.tokens, (Prefix{3}));
  EXPECT_TRUE(h.finished);
  EXPECT_GT(m.calls, 2);  // it did search past the first finished hypothesis
  EXPECT_NEAR(h.score, (std::log(0.5) + std::log(0.9)) / 2.0, 1e-5);
}

TEST(Search, TiesBreakTowardsTheLowestTokenId) {
  const Distribution probs = [](const Prefix&) { return dist({{3, 0.25}, {4, 0.25}, {5, 0.25}, {6, 0.25}}); };
  for (int beam : {1, 3}) {
    FakeModel a{probs}, b{probs};
    const Hypothesis first = decode(as_step(a), options(beam, 4));
    const Hypothesis second = decode(as_step(b), options(beam, 4));
    EXPECT_EQ(first.tokens, (Prefix{3, 3, 3, 3})) << "beam " << beam;
    EXPECT_EQ(first.tokens, second.tokens);
  }
}

TEST(Search, RejectsBadOptionsAndMalformedSteps) {
  FakeModel m{[](const Prefix&) { return dist({{kEnd, 1.0}}); }};
  EXPECT_THROW(decode(as_step(m), options(1, 0)), std::invalid_argument);
  EXPECT_THROW(decode(as_step(m), options(3, 0)), std::invalid_argument);
  const StepFunction too_few = [](const std::vector<int64_t>&, const std::vector<int64_t>&) {
    StepOutput out;
    out.rows = 1;
    out.vocab = 4;
    out.log_probs = {0.0f, -1.0f};  // 2 values for a 1 x 4 layout
    return out;
  };
  EXPECT_THROW(greedy_decode(too_few, options(1)), ModelError);
  EXPECT_THROW(beam_decode(too_few, options(2)), ModelError);
}

}  // namespace
}  // namespace edgecap
