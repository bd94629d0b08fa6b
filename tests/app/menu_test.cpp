#include "edgecap/menu.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <sstream>

#include "edgecap/error.h"

namespace edgecap {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<ModelEntry> two_models(bool pruned_available) {
  ModelEntry original{"original", "Original Model", "models/o.pt", "models/o.int8.pt", {true, ""}};
  ModelEntry pruned{"pruned",
                    "Pruned Model (Struct 30% + Mag 10%)",
                    "p/p.pt",
                    "p/p.int8.pt",
                    {pruned_available, pruned_available ? "" : "file not found: p/p.pt"}};
  return {original, pruned};
}

std::vector<PrecisionEntry> precisions() {
  return {{Precision::kFP32, {true, ""}},
          {Precision::kFP16, {false, "needs CUDA (LibTorch 1.13 has no CPU half kernels)"}},
          {Precision::kBF16, {true, ""}},
          {Precision::kINT8, {false, "no quantized sibling o.int8.pt"}}};
}

// Feeds the given lines, then EOF; counts how many were asked for.
struct ScriptedInput {
  std::deque<std::string> lines;
  int asked = 0;
  LineReader reader() {
    return [this]() -> std::optional<std::string> {
      ++asked;
      if (lines.empty()) return std::nullopt;
      std::string l = lines.front();
      lines.pop_front();
      return l;
    };
  }
};

TEST(MenuTest, ModelMenuMarksAvailabilityWithReasons) {
  const std::string text = render_model_menu(two_models(false));
  EXPECT_THAT(text, HasSubstr("=== Select the model to use ===\n"));
  EXPECT_THAT(text, HasSubstr("1. Original Model ✅ available\n"));
  EXPECT_THAT(text, HasSubstr("2. Pruned Model (Struct 30% + Mag 10%) ❌ file not found: p/p.pt\n"));
  EXPECT_THAT(render_model_menu(two_models(true)),
              HasSubstr("2. Pruned Model (Struct 30% + Mag 10%) ✅ available"));
}

TEST(MenuTest, PrecisionMenuMarksAvailabilityWithReasons) {
  const std::string text = render_precision_menu(two_models(true)[0], precisions());
  EXPECT_THAT(text, HasSubstr("Original Model"));
  EXPECT_THAT(text, HasSubstr("1. FP32 (original) ✅\n"));
  EXPECT_THAT(text, HasSubstr("2. FP16 (Half Precision) ❌ needs CUDA"));
  EXPECT_THAT(text, HasSubstr("3. BF16 (bfloat16) ✅\n"));
  EXPECT_THAT(text, HasSubstr("4. INT8 (Quantized) ❌ no quantized sibling"));
}

TEST(MenuTest, ParseChoice) {
  EXPECT_EQ(parse_choice("1", 2).status, ChoiceStatus::kOk);
  EXPECT_EQ(parse_choice("1", 2).index, 0);
  EXPECT_EQ(parse_choice("  2 \r", 2).index, 1);
  EXPECT_EQ(parse_choice("", 2).status, ChoiceStatus::kEmpty);
  EXPECT_EQ(parse_choice("abc", 2).status, ChoiceStatus::kNotANumber);
  EXPECT_EQ(parse_choice("1.5", 2).status, ChoiceStatus::kNotANumber);
  EXPECT_EQ(parse_choice("-1", 2).status, ChoiceStatus::kNotANumber);
  EXPECT_EQ(parse_choice("99999999999", 2).status, ChoiceStatus::kNotANumber);
  EXPECT_EQ(parse_choice("0", 2).status, ChoiceStatus::kOutOfRange);
  EXPECT_EQ(parse_choice("3", 2).status, ChoiceStatus::kOutOfRange);
  EXPECT_EQ(parse_choice("q", 2).status, ChoiceStatus::kQuit);
  EXPECT_THAT(parse_choice("3", 2).hint, HasSubstr("1 to 2"));
  EXPECT_THAT(parse_choice("x", 4).hint, HasSubstr("'x' is not a number"));
  const MenuChoice long_answer = parse_choice(std::string(100000, 'x'), 2);
  EXPECT_EQ(long_answer.status, ChoiceStatus::kNotANumber);
  EXPECT_LT(long_answer.hint.size(), 200u);
}

TEST(MenuTest, GarbageOutOfRangeAndUnavailableChoicesRePrompt) {
  ScriptedInput input{{"banana", "7", "2", "1"}};
  std::ostringstream out;
  const auto chosen = choose_model(two_models(false), input.reader(), out);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(chosen->key, "original");
  EXPECT_EQ(input.asked, 4);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("'banana' is not a number"));
  EXPECT_THAT(text, HasSubstr("7 is out of range"));
  EXPECT_THAT(text,
              HasSubstr("Pruned Model (Struct 30% + Mag 10%) is not available: file not found: p/p.pt"));
  // One prompt per answer: the first with the menu, then one after each rejected answer.
  std::size_t prompts = 0;
  for (std::size_t at = text.find("Choose a model (1-2): "); at != std::string::npos;
       at = text.find("Choose a model (1-2): ", at + 1)) {
    ++prompts;
  }
  EXPECT_EQ(prompts, 4u);
}

TEST(MenuTest, EndOfInputAndQuitGiveNoChoice) {
  ScriptedInput eof{{}};
  std::ostringstream out;
  EXPECT_FALSE(choose_model(two_models(true), eof.reader(), out).has_value());
  ScriptedInput garbage_then_eof{{"zzz", ""}};
  EXPECT_FALSE(
      choose_precision(two_models(true)[0], precisions(), garbage_then_eof.reader(), out).has_value());
  EXPECT_EQ(garbage_then_eof.asked, 3);
  ScriptedInput quit{{"q"}};
  EXPECT_FALSE(choose_model(two_models(true), quit.reader(), out).has_value());
}

TEST(MenuTest, PrecisionChoiceSkipsUnavailableOnes) {
  ScriptedInput input{{"2", "4", "3"}};
  std::ostringstream out;
  const auto chosen = choose_precision(two_models(true)[0], precisions(), input.reader(), out);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(*chosen, Precision::kBF16);
  EXPECT_THAT(out.str(), HasSubstr("FP16 (Half Precision) is not available: needs CUDA"));
  EXPECT_THAT(out.str(), HasSubstr("INT8 (Quantized) is not available"));
}

TEST(MenuTest, NothingAvailableIsAModelErrorWithTheReasons) {
  auto models = two_models(false);
  models[0].availability = {false, "file not found: models/o.pt"};
  ScriptedInput input{{"1"}};
  std::ostringstream out;
  try {
    choose_model(models, input.reader(), out);
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_THAT(e.what(), HasSubstr("file not found: models/o.pt"));
    EXPECT_THAT(e.what(), HasSubstr("file not found: p/p.pt"));
  }
  EXPECT_EQ(input.asked, 0);
}

TEST(MenuTest, LoadSummaryShowsDetectedSizes) {
  ModelMetadata meta;
  meta.arch = {"cnn-attention-lstm", 192, 128, 96, 256, 8, 8};
  meta.input.height = 128;
  meta.input.width = 128;
  meta.vocab = {"<pad>", "<start>", "<end>", "<unk>", "dog"};
  meta.max_caption_length = 20;
  meta.parameters = 1234567;
  meta.nonzero_parameters = 1000000;
  meta.variant = "original";
  meta.precision = "fp32";
  LoadInfo info;
  info.path = "models/o.pt";
  info.file_bytes = 5 * 1024 * 1024;
  info.sha256 = "0123456789abcdef0123";
  info.load_ms = 42.34;
  RuntimeInfo runtime;
  runtime.intra_op_threads = 2;
  runtime.torch_version = "1.13.1";
  const std::string text = render_load_summary(two_models(true)[0], Precision::kFP32, meta, info, runtime);
  EXPECT_THAT(text, HasSubstr("Automatic size detection: Original Model + FP32"));
  EXPECT_THAT(text, HasSubstr("encoder_dim 192"));
  EXPECT_THAT(text, HasSubstr("attention_dim 96"));
  EXPECT_THAT(text, HasSubstr("decoder_dim 256"));
  EXPECT_THAT(text, HasSubstr("1,234,567 (non-zero 1,000,000)"));
  EXPECT_THAT(text, HasSubstr("sha256 0123456789ab"));
  EXPECT_THAT(text, Not(HasSubstr("0123456789abc")));
  EXPECT_THAT(text, HasSubstr("42.3 ms"));
  EXPECT_THAT(text, HasSubstr("intra-op threads 2"));
  EXPECT_THAT(text, HasSubstr("quantized engine none"));
  EXPECT_THAT(text, Not(HasSubstr("decoder step")));
  info.decoder = "native ATen (verified, max |\u0394| 3.0e-07)";
  EXPECT_THAT(render_load_summary(two_models(true)[0], Precision::kFP32, meta, info, runtime),
              HasSubstr("decoder step  native ATen (verified"));
}

}  // namespace
}  // namespace edgecap
