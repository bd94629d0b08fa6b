#include "edgecap/metadata.h"

#include <functional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "edgecap/error.h"

namespace edgecap {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json valid_json() {
  return json::parse(R"({
    "format_version": 1, "model_name": "m", "variant": "test", "variant_detail": "d", "precision": "fp32",
    "vocab": ["<pad>", "<start>", "<end>", "<unk>", "a", "dog"],
    "special_tokens": {"pad": 0, "start": 1, "end": 2, "unk": 3},
    "input": {"height": 24, "width": 32, "channel_order": "BGR", "scale": 255.0,
              "mean": [0.5, 0.25, 0.125], "std": [0.2, 0.4, 0.8]},
    "max_caption_length": 7,
    "architecture": {"name": "cnn-attention-lstm", "encoder_dim": 8, "embed_dim": 9, "attention_dim": 10,
                     "decoder_dim": 11, "grid_h": 3, "grid_w": 4},
    "parameters": 100, "nonzero_parameters": 90, "macs": 1000,
    "training": {"data": "x", "epochs": 2}
  })");
}

std::string error_of(const std::string& text) {
  try {
    parse_metadata(text);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_after(const std::function<void(json&)>& mutate) {
  json j = valid_json();
  mutate(j);
  return error_of(j.dump());
}

TEST(Metadata, ParsesEveryField) {
  const ModelMetadata m = parse_metadata(valid_json().dump());
  EXPECT_EQ(m.format_version, 1);
  EXPECT_EQ(m.model_name, "m");
  EXPECT_EQ(m.variant, "test");
  EXPECT_EQ(m.precision, "fp32");
  ASSERT_EQ(m.vocab.size(), 6u);
  EXPECT_EQ(m.vocab[5], "dog");
  EXPECT_EQ(m.special.start, 1);
  EXPECT_EQ(m.special.end, 2);
  EXPECT_EQ(m.input.height, 24);
  EXPECT_EQ(m.input.width, 32);
  EXPECT_EQ(m.input.channel_order, "BGR");
  EXPECT_FLOAT_EQ(m.input.mean[1], 0.25f);
  EXPECT_FLOAT_EQ(m.input.std[2], 0.8f);
  EXPECT_EQ(m.max_caption_length, 7);
  EXPECT_EQ(m.arch.grid_h, 3);
  EXPECT_EQ(m.arch.grid_w, 4);
  EXPECT_EQ(m.arch.decoder_dim, 11);
  EXPECT_EQ(m.parameters, 100);
  EXPECT_EQ(m.nonzero_parameters, 90);
  EXPECT_EQ(m.macs, 1000);
  EXPECT_THAT(m.training_json, HasSubstr("\"epochs\":2"));
}

TEST(Metadata, OptionalFieldsDefault) {
  json j = valid_json();
  j.erase("architecture");
  j.erase("parameters");
  j.erase("training");
  j["input"].erase("channel_order");
  j["input"].erase("scale");
  const ModelMetadata m = parse_metadata(j.dump());
  EXPECT_EQ(m.input.channel_order, "RGB");
  EXPECT_FLOAT_EQ(m.input.scale, 255.0f);
  EXPECT_EQ(m.arch.grid_h, 0);
  EXPECT_EQ(m.parameters, 0);
}

TEST(Metadata, RefusesEmptyAndInvalidJson) {
  EXPECT_THAT(error_of(""), HasSubstr("edgecap.json is empty or missing"));
  EXPECT_THAT(error_of("{\"format_version\": 1,,}"), HasSubstr("not valid JSON"));
  EXPECT_THAT(error_of("[1, 2]"), HasSubstr("must be a JSON object"));
}

TEST(Metadata, FormatVersionMustBeOne) {
  EXPECT_THAT(error_after([](json& j) { j["format_version"] = 2; }), HasSubstr("'format_version' must be 1"));
  EXPECT_THAT(error_after([](json& j) { j.erase("format_version"); }),
              HasSubstr("'format_version' is missing"));
  EXPECT_THAT(error_after([](json& j) { j["format_version"] = "1"; }),
              HasSubstr("'format_version' must be an integer"));
}

TEST(Metadata, VocabMustBeNonEmptyStrings) {
  EXPECT_THAT(error_after([](json& j) { j["vocab"] = json::array(); }),
              HasSubstr("'vocab' must be a non-empty"));
  EXPECT_THAT(error_after([](json& j) { j.erase("vocab"); }), HasSubstr("'vocab' is missing"));
  EXPECT_THAT(error_after([](json& j) { j["vocab"][4] = 7; }), HasSubstr("'vocab[4]' must be a string"));
}

TEST(Metadata, SpecialTokensMustBeInsideVocab) {
  EXPECT_THAT(error_after([](json& j) { j["special_tokens"]["end"] = 6; }),
              HasSubstr("'special_tokens.end' must be a token id inside the vocab (0..5), got 6"));
  EXPECT_THAT(error_after([](json& j) { j["special_tokens"]["pad"] = -1; }),
              HasSubstr("'special_tokens.pad' must be a token id inside the vocab"));
  EXPECT_THAT(error_after([](json& j) { j["special_tokens"].erase("start"); }),
              HasSubstr("'special_tokens.start' is missing"));
  EXPECT_THAT(error_after([](json& j) { j["special_tokens"]["end"] = 1; }),
              HasSubstr("<start> and <end> different ids"));
}

TEST(Metadata, InputSizesMustBePositive) {
  EXPECT_THAT(error_after([](json& j) { j["input"]["height"] = 0; }),
              HasSubstr("'input.height' must be an integer"));
  EXPECT_THAT(error_after([](json& j) { j["input"]["width"] = -3; }),
              HasSubstr("'input.width' must be an integer"));
  EXPECT_THAT(error_after([](json& j) { j["input"]["width"] = 12.5; }), HasSubstr("'input.width'"));
  EXPECT_THAT(error_after([](json& j) { j.erase("input"); }), HasSubstr("'input' is missing"));
}

TEST(Metadata, MeanAndStdMustHoldThreeNumbers) {
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["std"] = {0.2, 0.0, 0.2};
              }),
              HasSubstr("edgecap.json: 'input.std' must hold 3 numbers > 0"));
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["std"] = {0.2, -0.1, 0.2};
              }),
              HasSubstr("'input.std' must hold 3 numbers > 0"));
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["std"] = {0.2, 0.2};
              }),
              HasSubstr("'input.std' must hold 3 numbers > 0"));
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["mean"] = {0.2, 0.2, 0.2, 0.2};
              }),
              HasSubstr("'input.mean' must hold 3 numbers"));
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["mean"] = {0.2, "x", 0.2};
              }),
              HasSubstr("'input.mean' must hold 3 numbers"));
}

TEST(Metadata, ChannelOrderAndScaleChecked) {
  EXPECT_THAT(error_after([](json& j) { j["input"]["channel_order"] = "RGBA"; }),
              HasSubstr("'input.channel_order' must be \"RGB\" or \"BGR\""));
  EXPECT_THAT(error_after([](json& j) { j["input"]["scale"] = 0; }),
              HasSubstr("'input.scale' must be a finite number > 0"));
}

// Values are checked as the floats the preprocessing uses, not as the doubles JSON holds.
TEST(Metadata, NumbersOutsideFloatRangeAreRefused) {
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["std"] = {0.2, 1e-50, 0.2};
              }),
              HasSubstr("'input.std' must hold 3 numbers > 0"));
  EXPECT_THAT(error_after([](json& j) { j["input"]["scale"] = 1e39; }), HasSubstr("'input.scale'"));
  EXPECT_THAT(error_after([](json& j) {
                j["input"]["mean"] = {0.2, -1e39, 0.2};
              }),
              HasSubstr("'input.mean'"));
  // Beyond double: the JSON library reports an overflow, which must still arrive as a ModelError.
  EXPECT_THAT(error_of(R"({"format_version": 1, "x": 1e400})"), HasSubstr("edgecap.json"));
}

TEST(Metadata, MaxCaptionLengthInRange) {
  EXPECT_THAT(error_after([](json& j) { j["max_caption_length"] = 0; }),
              HasSubstr("'max_caption_length' must be in 1..200, got 0"));
  EXPECT_THAT(error_after([](json& j) { j["max_caption_length"] = 201; }),
              HasSubstr("'max_caption_length' must be in 1..200"));
  EXPECT_NO_THROW(parse_metadata([] {
    json j = valid_json();
    j["max_caption_length"] = 200;
    return j.dump();
  }()));
}

TEST(Metadata, PrecisionMustBeKnown) {
  EXPECT_THAT(error_after([](json& j) { j["precision"] = "fp8"; }), HasSubstr("'precision' must be"));
  EXPECT_THAT(error_after([](json& j) { j["parameters"] = -5; }),
              HasSubstr("'parameters' must be an integer >= 0"));
}

TEST(Metadata, TokensToWordsStopsAtEndAndKeepsUnknownVisible) {
  const ModelMetadata m = parse_metadata(valid_json().dump());
  EXPECT_EQ(tokens_to_words({1, 4, 5, 2, 5}, m), (std::vector<std::string>{"a", "dog"}));
  EXPECT_EQ(tokens_to_words({0, 4, 3, 99, -1}, m),
            (std::vector<std::string>{"a", "<unk>", "<unk>", "<unk>"}));
  EXPECT_TRUE(tokens_to_words({2, 4}, m).empty());
}

TEST(Metadata, JoinWords) {
  EXPECT_EQ(join_words({"a", "dog", "on", "grass"}), "a dog on grass");
  EXPECT_EQ(join_words({}), "");
  EXPECT_EQ(join_words({"one"}), "one");
}

}  // namespace
}  // namespace edgecap
