#include "edgecap/auto_caption.h"

#include <gtest/gtest.h>

namespace edgecap {
namespace {

using Clock = AutoCaptionPolicy::Clock;
using std::chrono::milliseconds;

const cv::Mat kScene(48, 64, CV_8UC3, cv::Scalar(90, 90, 90));
const cv::Mat kOtherScene(48, 64, CV_8UC3, cv::Scalar(200, 30, 30));

TEST(AutoCaptionTest, OffNeverFires) {
  AutoCaptionPolicy policy(1.0, 12.0);
  EXPECT_FALSE(policy.due(kScene, Clock::now()));
  EXPECT_FALSE(policy.due(kOtherScene, Clock::now() + std::chrono::hours(1)));
}

TEST(AutoCaptionTest, FiresAtOnceThenEveryIntervalOnAStillScene) {
  AutoCaptionPolicy policy(2.0, 12.0, true);
  const auto t0 = Clock::now();
  EXPECT_TRUE(policy.due(kScene, t0));
  policy.captioned(kScene, t0);
  EXPECT_FALSE(policy.due(kScene, t0 + milliseconds(1999)));
  EXPECT_TRUE(policy.due(kScene, t0 + milliseconds(2000)));
}

TEST(AutoCaptionTest, ASceneChangeFiresBeforeTheInterval) {
  AutoCaptionPolicy policy(60.0, 12.0, true);
  const auto t0 = Clock::now();
  policy.captioned(kScene, t0);
  EXPECT_FALSE(policy.due(kScene, t0 + milliseconds(100)));
  EXPECT_TRUE(policy.due(kOtherScene, t0 + milliseconds(100)));
  policy.captioned(kOtherScene, t0 + milliseconds(200));
  EXPECT_FALSE(policy.due(kOtherScene, t0 + milliseconds(300)));  // the new scene is the reference now
}

TEST(AutoCaptionTest, TogglingOnCaptionsTheNextFrame) {
  AutoCaptionPolicy policy(60.0, 12.0, true);
  const auto t0 = Clock::now();
  policy.captioned(kScene, t0);
  policy.set_enabled(false);
  EXPECT_FALSE(policy.due(kScene, t0));
  policy.set_enabled(true);
  EXPECT_TRUE(policy.due(kScene, t0 + milliseconds(1)));
}

TEST(AutoCaptionTest, SpeaksManualAlwaysAutomaticOnlyOnNewText) {
  EXPECT_TRUE(AutoCaptionPolicy::should_speak("a dog", false, "a dog"));
  EXPECT_FALSE(AutoCaptionPolicy::should_speak("a dog", true, "a dog"));
  EXPECT_TRUE(AutoCaptionPolicy::should_speak("a cat", true, "a dog"));
  EXPECT_FALSE(AutoCaptionPolicy::should_speak("", false, "a dog"));
}

}  // namespace
}  // namespace edgecap
