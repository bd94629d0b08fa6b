#include "edgecap/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace edgecap {
namespace {

TEST(Summarize, EmptyGivesZeroCount) {
  const Summary s = summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.mean, 0.0);
  EXPECT_EQ(s.cv, 0.0);
}

TEST(Summarize, SingleSampleHasNoSpread) {
  const Summary s = summarize({7.5});
  EXPECT_EQ(s.count, 1u);
  EXPECT_DOUBLE_EQ(s.mean, 7.5);
  EXPECT_DOUBLE_EQ(s.median, 7.5);
  EXPECT_DOUBLE_EQ(s.min, 7.5);
  EXPECT_DOUBLE_EQ(s.max, 7.5);
  EXPECT_DOUBLE_EQ(s.p99, 7.5);
  EXPECT_DOUBLE_EQ(s.stddev, 0.0);
  EXPECT_DOUBLE_EQ(s.cv, 0.0);
  EXPECT_FALSE(spread_too_wide(s));
}

TEST(Summarize, OddCountByHand) {
  // Unsorted on purpose. Sorted: 1 2 3 4 10; mean 4; squares 9+4+1+0+36 = 50; var 50/4 = 12.5.
  const Summary s = summarize({10, 2, 4, 1, 3});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(s.median, 3.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(12.5));
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(12.5) / 4.0);
  // p90: rank 0.9 * 4 = 3.6 -> 4 + 0.6 * (10 - 4) = 7.6
  EXPECT_NEAR(s.p90, 7.6, 1e-12);
  // p95: rank 3.8 -> 4 + 0.8 * 6 = 8.8; p99: rank 3.96 -> 4 + 0.96 * 6 = 9.76
  EXPECT_NEAR(s.p95, 8.8, 1e-12);
  EXPECT_NEAR(s.p99, 9.76, 1e-12);
}

TEST(Summarize, EvenCountMedianIsMidpoint) {
  // Sorted 2 4 6 8: median = 5; mean 5; squares 9+1+1+9 = 20; var 20/3.
  const Summary s = summarize({8, 2, 6, 4});
  EXPECT_DOUBLE_EQ(s.median, 5.0);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(20.0 / 3.0));
  // p90: rank 2.7 -> 6 + 0.7 * 2 = 7.4
  EXPECT_NEAR(s.p90, 7.4, 1e-12);
}

TEST(Summarize, PercentilesOfOneToHundred) {
  std::vector<double> values;
  for (int i = 1; i <= 100; ++i) values.push_back(i);
  const Summary s = summarize(values);
  // rank p * 99: p90 -> 89.1 -> 90.1; p95 -> 94.05 -> 95.05; p99 -> 98.01 -> 99.01
  EXPECT_NEAR(s.p90, 90.1, 1e-9);
  EXPECT_NEAR(s.p95, 95.05, 1e-9);
  EXPECT_NEAR(s.p99, 99.01, 1e-9);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
}

TEST(Summarize, CoefficientOfVariationFlagsWideSpread) {
  const Summary steady = summarize({10, 10.5, 9.5, 10});
  EXPECT_FALSE(spread_too_wide(steady));
  const Summary noisy = summarize({1, 10, 1, 10});
  EXPECT_TRUE(spread_too_wide(noisy));
  const Summary zero_mean = summarize({0, 0, 0});
  EXPECT_EQ(zero_mean.cv, 0.0);
}

TEST(StageStats, RollingWindowDropsOldSamples) {
  StageStats stats(3);
  for (double v : {100.0, 1.0, 2.0, 3.0}) stats.add(v);
  const Summary window = stats.window();
  EXPECT_EQ(window.count, 3u);
  EXPECT_DOUBLE_EQ(window.max, 3.0);  // 100 fell out of the window
  EXPECT_DOUBLE_EQ(window.mean, 2.0);
  const Summary session = stats.session();
  EXPECT_EQ(session.count, 4u);
  EXPECT_DOUBLE_EQ(session.max, 100.0);
  EXPECT_EQ(stats.total(), 4u);
}

TEST(PerformanceMonitor, RecordsNamedStagesAndCountsInferences) {
  PerformanceMonitor monitor(2);
  EXPECT_EQ(monitor.stage("model"), nullptr);
  monitor.record("model", 10);
  monitor.record("model", 20);
  monitor.record("model", 30);
  monitor.record("speech", 5);
  EXPECT_EQ(monitor.inferences(), 3u);
  ASSERT_NE(monitor.stage("model"), nullptr);
  EXPECT_DOUBLE_EQ(monitor.stage("model")->window().mean, 25.0);
  EXPECT_DOUBLE_EQ(monitor.stage("model")->session().mean, 20.0);
  EXPECT_EQ(monitor.stages(), (std::vector<std::string>{"model", "speech"}));
  monitor.reset();
  EXPECT_EQ(monitor.inferences(), 0u);
  EXPECT_TRUE(monitor.stages().empty());
}

TEST(PerformanceMonitor, DisplayFpsOverTheWindow) {
  using namespace std::chrono;
  PerformanceMonitor monitor(4);
  EXPECT_EQ(monitor.display_fps(), 0.0);
  const auto start = steady_clock::now();
  // A slow start that falls out of the window, then 4 intervals of 50 ms = 20 fps.
  monitor.frame_displayed(start);
  for (int i = 0; i <= 4; ++i) monitor.frame_displayed(start + seconds(1) + milliseconds(50 * i));
  EXPECT_NEAR(monitor.display_fps(), 20.0, 1e-6);
}

}  // namespace
}  // namespace edgecap
