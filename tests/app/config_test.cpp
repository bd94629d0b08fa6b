#include "edgecap/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "edgecap/error.h"

namespace edgecap {
namespace {

using ::testing::HasSubstr;

Config parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"edgecap"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_args(int(argv.size()), argv.data());
}

std::string usage_error(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

const std::string kTinyModel = std::string(EDGECAP_SOURCE_DIR) + "/tests/data/tiny_model.pt";

TEST(ConfigTest, NoArgumentsGiveTheStructDefaults) {
  const Config c = parse({});
  const Config d;
  EXPECT_EQ(c.command, Command::kRun);
  EXPECT_EQ(c.model, d.model);
  EXPECT_FALSE(c.precision.has_value());
  EXPECT_EQ(c.device, Device::kCPU);
  EXPECT_EQ(c.source, d.source);
  EXPECT_EQ(c.beam, d.beam);
  EXPECT_EQ(c.threads, d.threads);
  EXPECT_EQ(c.speech, d.speech);
  EXPECT_EQ(c.speech_rate_wpm, d.speech_rate_wpm);
  EXPECT_EQ(c.window, WindowMode::kAuto);
  EXPECT_EQ(c.models_dir, "models");
  EXPECT_EQ(c.pruned_dir, "pruning_results");
  EXPECT_EQ(c.bench_warmup, d.bench_warmup);
  EXPECT_EQ(c.bench_iterations, d.bench_iterations);
  EXPECT_FALSE(c.show_help);
}

TEST(ConfigTest, EveryFlagWithSeparateValues) {
  const Config c = parse({"--model",     "pruned",
                          "--precision", "INT8",
                          "--device",    "cpu",
                          "--source",    "demo",
                          "--beam",      "3",
                          "--threads",   "2",
                          "--no-speech", "--wav",
                          "out.wav",     "--rate",
                          "200",         "--voice",
                          "en-us",       "--no-window",
                          "--auto",      "--auto-interval",
                          "1.5",         "--scene-threshold",
                          "20",          "--no-loop",
                          "--json",      "--models-dir",
                          "m",           "--pruned-dir",
                          "p",           "--out",
                          "reports",     "--warmup",
                          "5",           "--iterations",
                          "7",           "--images",
                          "imgs",        "-v"});
  EXPECT_EQ(c.model, "pruned");
  EXPECT_EQ(c.precision, Precision::kINT8);
  EXPECT_EQ(c.device, Device::kCPU);
  EXPECT_EQ(c.source, "demo");
  EXPECT_EQ(c.beam, 3);
  EXPECT_EQ(c.threads, 2);
  EXPECT_FALSE(c.speech);
  EXPECT_EQ(c.wav_path, "out.wav");
  EXPECT_EQ(c.speech_rate_wpm, 200);
  EXPECT_EQ(c.voice, "en-us");
  EXPECT_EQ(c.window, WindowMode::kOff);
  EXPECT_TRUE(c.auto_caption);
  EXPECT_DOUBLE_EQ(c.auto_interval_s, 1.5);
  EXPECT_DOUBLE_EQ(c.scene_change_threshold, 20.0);
  EXPECT_FALSE(c.loop);
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.models_dir, "m");
  EXPECT_EQ(c.pruned_dir, "p");
  EXPECT_EQ(c.bench_out, "reports");
  EXPECT_EQ(c.bench_warmup, 5);
  EXPECT_EQ(c.bench_iterations, 7);
  EXPECT_EQ(c.bench_images, "imgs");
  EXPECT_TRUE(c.verbose);
}

TEST(ConfigTest, EqualsFormMatchesSeparateForm) {
  const Config c = parse({"--model=original", "--precision=bf16", "--device=cuda", "--beam=4",
                          "--source=clip.mp4", "--rate=90", "--auto-interval=10", "--models-dir=a/b"});
  EXPECT_EQ(c.model, "original");
  EXPECT_EQ(c.precision, Precision::kBF16);
  EXPECT_EQ(c.device, Device::kCUDA);
  EXPECT_EQ(c.beam, 4);
  EXPECT_EQ(c.source, "clip.mp4");
  EXPECT_EQ(c.speech_rate_wpm, 90);
  EXPECT_DOUBLE_EQ(c.auto_interval_s, 10.0);
  EXPECT_EQ(c.models_dir, "a/b");
}

TEST(ConfigTest, WindowSwitchesAndHelpVersion) {
  EXPECT_EQ(parse({"--window"}).window, WindowMode::kOn);
  EXPECT_EQ(parse({"--window", "--no-window"}).window, WindowMode::kOff);  // last one wins
  EXPECT_TRUE(parse({"--help"}).show_help);
  EXPECT_TRUE(parse({"-h"}).show_help);
  EXPECT_TRUE(parse({"--version"}).show_version);
}

TEST(ConfigTest, ModelAcceptsAnExistingFile) {
  std::vector<const char*> argv{"edgecap", "--model", kTinyModel.c_str()};
  EXPECT_EQ(parse_args(3, argv.data()).model, kTinyModel);
}

TEST(ConfigTest, SubcommandsAndInputs) {
  EXPECT_EQ(parse({"run", "--no-speech"}).command, Command::kRun);
  const Config c = parse({"caption", "--json", "a.png", "b.png", "--beam", "2", "--", "--odd.png"});
  EXPECT_EQ(c.command, Command::kCaption);
  EXPECT_THAT(c.inputs, ::testing::ElementsAre("a.png", "b.png", "--odd.png"));
  EXPECT_EQ(c.beam, 2);
  EXPECT_EQ(parse({"bench", "--iterations", "3"}).command, Command::kBench);
}

TEST(ConfigTest, BadValuesNameTheFlagAndTheAcceptedValues) {
  EXPECT_THAT(usage_error({"--precision", "fp64"}),
              HasSubstr("--precision: 'fp64' is not valid; expected fp32, fp16, bf16 or int8"));
  EXPECT_THAT(usage_error({"--device", "tpu"}), HasSubstr("expected cpu or cuda"));
  EXPECT_THAT(usage_error({"--beam", "0"}), HasSubstr("--beam"));
  EXPECT_THAT(usage_error({"--beam", "0"}), HasSubstr("1..32"));
  EXPECT_THAT(usage_error({"--beam", "3x"}), HasSubstr("'3x'"));
  EXPECT_THAT(usage_error({"--threads", "-1"}), HasSubstr("--threads"));
  EXPECT_THAT(usage_error({"--rate", "10"}), HasSubstr("80..450"));
  EXPECT_THAT(usage_error({"--auto-interval", "0"}), HasSubstr("--auto-interval"));
  EXPECT_THAT(usage_error({"--auto-interval", "nan"}), HasSubstr("--auto-interval"));
  EXPECT_THAT(usage_error({"--iterations", "0"}), HasSubstr("--iterations"));
  EXPECT_THAT(usage_error({"--warmup", "-2"}), HasSubstr("--warmup"));
  EXPECT_THAT(usage_error({"--model", "/no/such/model.pt"}), HasSubstr("neither 'original', 'pruned'"));
  EXPECT_THAT(usage_error({"--source="}), HasSubstr("--source: needs"));
}

TEST(ConfigTest, StructuralMistakes) {
  EXPECT_THAT(usage_error({"--beam"}), HasSubstr("--beam: missing value"));
  EXPECT_THAT(usage_error({"--json=yes"}), HasSubstr("takes no value"));
  EXPECT_THAT(usage_error({"--colour"}), HasSubstr("unknown option '--colour'"));
  EXPECT_THAT(usage_error({"--colour=red"}), HasSubstr("unknown option '--colour'"));
  EXPECT_THAT(usage_error({"image.png"}), HasSubstr("unexpected argument 'image.png'"));
  EXPECT_THAT(usage_error({"caption", "--json"}), HasSubstr("at least one image"));
}

TEST(ConfigTest, UsageShowsEveryFlagAndTheStructDefaults) {
  const std::string text = usage();
  for (const char* flag : {"--model",          "--precision",  "--device",     "--source",        "--beam",
                           "--threads",        "--no-speech",  "--wav",        "--rate",          "--voice",
                           "--window",         "--no-window",  "--auto",       "--auto-interval", "--no-loop",
                           "--json",           "--models-dir", "--pruned-dir", "--out",           "--warmup",
                           "--iterations",     "--images",     "-v",           "--help",          "--version",
                           "--scene-threshold"}) {
    EXPECT_THAT(text, HasSubstr(flag)) << flag;
  }
  const Config d;
  EXPECT_THAT(text, HasSubstr("(default: " + std::to_string(d.speech_rate_wpm) + ")"));
  EXPECT_THAT(text, HasSubstr("(default: " + d.models_dir + ")"));
  EXPECT_THAT(text, HasSubstr("(default: " + d.pruned_dir + ")"));
  EXPECT_THAT(text, HasSubstr("(default: " + d.source + ")"));
  EXPECT_THAT(text, HasSubstr("(default: " + std::to_string(d.bench_iterations) + ")"));
  EXPECT_THAT(text, HasSubstr("(default: " + d.voice + ")"));
  EXPECT_THAT(text, HasSubstr("auto-captions (default: 3)"));  // 3.0 printed the short way
}

}  // namespace
}  // namespace edgecap
