#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "edgecap/keys.h"
#include "edgecap/preview.h"

namespace edgecap {
namespace {

using ::testing::HasSubstr;

TEST(KeysTest, LettersAreCaseInsensitive) {
  const std::pair<char, Action> table[] = {
      {'s', Action::kCaption}, {'r', Action::kReplay},     {'p', Action::kReport}, {'m', Action::kMenu},
      {'q', Action::kQuit},    {'a', Action::kToggleAuto}, {'h', Action::kHeatmap}};
  for (const auto& [key, action] : table) {
    EXPECT_EQ(action_for_key(key), action) << key;
    EXPECT_EQ(action_for_key(key - 'a' + 'A'), action) << key;
  }
  EXPECT_EQ(action_for_key('+'), Action::kRateUp);
  EXPECT_EQ(action_for_key('-'), Action::kRateDown);
  EXPECT_EQ(action_for_key('?'), Action::kHelp);
  EXPECT_EQ(action_for_key(27), Action::kQuit);
}

TEST(KeysTest, NothingAndUnknownKeysDoNothing) {
  EXPECT_EQ(action_for_key(-1), Action::kNone);
  EXPECT_EQ(action_for_key('x'), Action::kNone);
  EXPECT_EQ(action_for_key(' '), Action::kNone);
  EXPECT_EQ(action_for_key('1'), Action::kNone);
}

TEST(KeysTest, HighGuiModifierBitsAreIgnored) { EXPECT_EQ(action_for_key(0x100000 | 'S'), Action::kCaption); }

TEST(KeysTest, HelpNamesEveryKey) {
  const std::string help = key_help();
  for (const char* k : {"S ", "R ", "P ", "M ", "A ", "+ / -", "H ", "? ", "Q "})
    EXPECT_THAT(help, HasSubstr(k)) << k;
}

TEST(OverlayTest, LinesCarryModelFpsLatencyMemoryGpuAndCaption) {
  OverlayInfo info;
  info.variant = "Pruned Model + INT8";
  info.display_fps = 29.97;
  info.last_latency_ms = 12.34;
  info.rss_mb = 245.4;
  info.gpu = "GPU: n/a (CPU build)";
  info.caption = "a red ball on grass";
  const auto lines = overlay_lines(info);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "Model: Pruned Model + INT8");
  EXPECT_EQ(lines[1], "FPS: 30.0 (preview)  Latency: 12.3 ms");
  EXPECT_EQ(lines[2], "CPU: 245 MB  GPU: n/a (CPU build)");
  EXPECT_EQ(lines[3], "Caption: a red ball on grass");
}

TEST(OverlayTest, LongCaptionsWrapAtWords) {
  OverlayInfo info;
  info.caption = "a small red ball next to a large blue box on the green grass near a tree";
  const auto lines = overlay_lines(info);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], "Caption: a small red ball next to a large blue");
  EXPECT_EQ(lines[4], "  box on the green grass near a tree");
  for (const auto& l : lines) EXPECT_LE(l.size(), 46u) << l;
}

TEST(OverlayTest, BeforeTheFirstCaptionAndWhileBusy) {
  OverlayInfo info;
  info.variant = "Original Model + FP32";
  info.auto_caption = true;
  auto lines = overlay_lines(info);
  EXPECT_THAT(lines[0], HasSubstr("[auto]"));
  EXPECT_EQ(lines[1], "FPS: 0.0 (preview)  Latency: -");
  EXPECT_EQ(lines[3], "Caption: press S to caption");
  info.busy = true;
  EXPECT_EQ(overlay_lines(info)[3], "Caption: (captioning...)");
}

TEST(OverlayTest, DrawingChangesTheTopBandOnly) {
  cv::Mat image(480, 640, CV_8UC3, cv::Scalar(40, 160, 90));
  const cv::Mat raw = image.clone();
  draw_overlay(image, {"Model: x", "FPS: 1"});
  cv::Mat diff;
  cv::absdiff(image, raw, diff);
  EXPECT_GT(cv::sum(diff(cv::Rect(0, 0, 640, 40)))[0], 0.0);
  EXPECT_EQ(cv::sum(diff(cv::Rect(0, 400, 640, 80)))[0], 0.0);
  cv::Mat top_grey;
  cv::extractChannel(image(cv::Rect(0, 0, 640, 40)), top_grey, 1);
  double lo, hi;
  cv::minMaxLoc(top_grey, &lo, &hi);
  EXPECT_GT(hi, 200.0);  // white text on the darkened band
}

Caption caption_with_attention() {
  Caption c;
  c.words = {"red", "ball"};
  c.grid_h = 2;
  c.grid_w = 2;
  c.attention = {{1.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.5f}};
  return c;
}

TEST(HeatmapTest, MeanAndPerWordMapsAreNormalised) {
  const Caption c = caption_with_attention();
  const cv::Mat mean = attention_map(c);
  ASSERT_EQ(mean.size(), cv::Size(2, 2));
  EXPECT_FLOAT_EQ(mean.at<float>(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(mean.at<float>(1, 1), 0.5f);
  EXPECT_FLOAT_EQ(mean.at<float>(0, 1), 0.0f);
  const cv::Mat second = attention_map(c, 1);
  EXPECT_FLOAT_EQ(second.at<float>(1, 1), 1.0f);
  EXPECT_FLOAT_EQ(second.at<float>(0, 0), 0.0f);
  EXPECT_TRUE(attention_map(Caption{}).empty());
}

TEST(HeatmapTest, AsciiAndImageRendering) {
  const cv::Mat map = attention_map(caption_with_attention());
  EXPECT_EQ(ascii_heatmap(map), "@@  \n  ==\n");
  cv::Mat image(64, 64, CV_8UC3, cv::Scalar(128, 128, 128));
  const cv::Mat raw = image.clone();
  draw_heatmap(image, map, "attention");
  EXPECT_GT(cv::norm(image, raw, cv::NORM_L1), 0.0);
}

TEST(SceneChangeTest, FiresOnANewSceneNotOnNoise) {
  SceneChangeDetector detector(12.0);
  cv::Mat scene(120, 160, CV_8UC3, cv::Scalar(100, 100, 100));
  EXPECT_TRUE(detector.changed(scene));  // no reference yet: caption the first frame
  detector.set_reference(scene);
  EXPECT_DOUBLE_EQ(detector.difference(scene), 0.0);
  cv::Mat noisy = scene.clone();
  cv::randn(noisy, cv::Scalar::all(0), cv::Scalar::all(4));
  noisy += scene;
  EXPECT_FALSE(detector.changed(noisy));
  const cv::Mat brighter(120, 160, CV_8UC3, cv::Scalar(140, 140, 140));
  EXPECT_NEAR(detector.difference(brighter), 40.0, 1.0);
  EXPECT_TRUE(detector.changed(brighter));
  cv::Mat half = scene.clone();
  half(cv::Rect(0, 0, 80, 120)).setTo(cv::Scalar(255, 255, 255));  // half the view replaced
  EXPECT_TRUE(detector.changed(half));
  detector.reset();
  EXPECT_TRUE(detector.changed(scene));
}

}  // namespace
}  // namespace edgecap
