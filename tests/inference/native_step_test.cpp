// The native decoder step (src/inference/native_step.h) against the module's TorchScript step on the tiny
// test model (trained_native_step_test.cpp does the trained models).
#include "native_step.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include "edgecap/captioner.h"

namespace edgecap {
namespace {

using ::testing::HasSubstr;

std::string repo(const std::string& relative) { return std::string(EDGECAP_SOURCE_DIR) + "/" + relative; }

LoadOptions options(const std::string& path, bool native, Precision precision = Precision::kFP32) {
  LoadOptions o;
  o.path = path;
  o.precision = precision;
  o.native_step = native;
  return o;
}

cv::Mat frame(int seed) {
  cv::Mat image(48, 64, CV_8UC3);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x)
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((4 * x + 7 * seed) % 256),
                                            static_cast<uchar>((5 * y * (seed + 1)) % 256),
                                            static_cast<uchar>((x * y + 31 * seed) % 256));
  return image;
}

void expect_same(const Caption& native, const Caption& script, const std::string& what, double tolerance) {
  EXPECT_EQ(native.tokens, script.tokens) << what;
  EXPECT_EQ(native.text, script.text) << what;
  ASSERT_EQ(native.token_log_probs.size(), script.token_log_probs.size()) << what;
  for (std::size_t i = 0; i < native.token_log_probs.size(); ++i)
    EXPECT_NEAR(native.token_log_probs[i], script.token_log_probs[i], tolerance) << what << " token " << i;
  ASSERT_EQ(native.attention.size(), script.attention.size()) << what;
  for (std::size_t i = 0; i < native.attention.size(); ++i) {
    ASSERT_EQ(native.attention[i].size(), script.attention[i].size()) << what;
    for (std::size_t r = 0; r < native.attention[i].size(); ++r)
      EXPECT_NEAR(native.attention[i][r], script.attention[i][r], tolerance) << what << " word " << i;
  }
}

struct Variant {
  const char* file;
  Precision precision;
  const char* decoder;  // what the load summary says
  double tolerance;     // how close its log-probs and attention stay to the TorchScript step here
};

class TinyModel : public ::testing::TestWithParam<Variant> {};

TEST_P(TinyModel, NativeStepCaptionsAsTheTorchScriptStep) {
  const Variant v = GetParam();
  const std::string path = repo(v.file);
  Captioner native(options(path, true, v.precision));
  Captioner script(options(path, false, v.precision));
  ASSERT_TRUE(native.load_info().native_step) << native.load_info().decoder;
  EXPECT_THAT(native.load_info().decoder, HasSubstr(v.decoder));
  if (v.precision == Precision::kINT8) {
    EXPECT_THAT(native.load_info().decoder, HasSubstr("native encode tail (verified"));
  }
  EXPECT_FALSE(script.load_info().native_step);
  EXPECT_THAT(script.load_info().decoder, HasSubstr("TorchScript"));
  for (int seed = 0; seed < 6; ++seed) {
    for (int beam : {1, 3}) {
      const std::string what = "frame " + std::to_string(seed) + " beam " + std::to_string(beam);
      expect_same(native.caption(frame(seed), beam), script.caption(frame(seed), beam), what, v.tolerance);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, TinyModel,
                         ::testing::Values(Variant{"tests/data/tiny_model.pt", Precision::kFP32,
                                                   "native FP32 step (verified", 1e-4},
                                           Variant{"tests/data/tiny_model.int8.pt", Precision::kINT8,
                                                   "native INT8 step, ", 1e-3}),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           return std::string(to_string(info.param.precision));
                         });

TEST(NativeStep, OnlyFp32AndInt8) {
  Captioner bf16(options(repo("tests/data/tiny_model.pt"), true, Precision::kBF16));
  EXPECT_FALSE(bf16.load_info().native_step);
  EXPECT_THAT(bf16.load_info().decoder, HasSubstr("FP32 and INT8 only"));
}

TEST(NativeStep, EnvironmentTurnsItOff) {
  ASSERT_EQ(::setenv("EDGECAP_NATIVE_STEP", "0", 1), 0);
  Captioner off(options(repo("tests/data/tiny_model.pt"), true));
  ::unsetenv("EDGECAP_NATIVE_STEP");
  EXPECT_FALSE(off.load_info().native_step);
  EXPECT_THAT(off.load_info().decoder, HasSubstr("EDGECAP_NATIVE_STEP=0"));
}

detail::NamedTensors tiny_parameters() {
  torch::jit::Module module = torch::jit::load(repo("tests/data/tiny_model.pt"));
  detail::NamedTensors params;
  for (const auto& p : module.named_parameters(true)) params.emplace(p.name, p.value);
  return params;
}

TEST(NativeStep, RefusesParametersThatDoNotFit) {
  const int64_t vocab = read_model_metadata(repo("tests/data/tiny_model.pt")).vocab.size();
  std::string reason;
  detail::NamedTensors params = tiny_parameters();
  EXPECT_NE(detail::NativeStep::create(params, vocab, reason), nullptr) << reason;
  EXPECT_TRUE(reason.empty());

  detail::NamedTensors missing = params;
  missing.erase("f_beta.bias");
  EXPECT_EQ(detail::NativeStep::create(missing, vocab, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("no parameter f_beta.bias"));

  detail::NamedTensors reshaped = params;
  reshaped["lstm.weight_hh"] = at::zeros({4, 4});
  EXPECT_EQ(detail::NativeStep::create(reshaped, vocab, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("lstm.weight_hh is [4, 4]"));

  detail::NamedTensors doubles = params;
  doubles["fc.bias"] = doubles["fc.bias"].to(at::kDouble);
  EXPECT_EQ(detail::NativeStep::create(doubles, vocab, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("fc.bias is not a float32 tensor"));

  detail::NamedTensors mixed = params;
  mixed["fc.weight"] = at::quantize_per_tensor(mixed["fc.weight"], 0.01, 0, at::kQInt8);
  EXPECT_EQ(detail::NativeStep::create(mixed, vocab, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("all float32 or all int8"));

  detail::NamedTensors offset = params;  // int8 weights with a zero point the INT8 step cannot take
  for (const char* name : {"dec_att.weight", "full_att.weight", "f_beta.weight", "lstm.weight_ih",
                           "lstm.weight_hh", "fc.weight"})
    offset[name] = at::quantize_per_tensor(offset[name], 0.01, 3, at::kQInt8);
  EXPECT_EQ(detail::NativeStep::create(offset, vocab, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("zero point 3"));

  EXPECT_EQ(detail::NativeStep::create(params, vocab + 1, reason), nullptr);
  EXPECT_THAT(reason, HasSubstr("embedding.weight"));
}

TEST(NativeStep, RefusesAStateThatDoesNotFit) {
  const int64_t vocab = read_model_metadata(repo("tests/data/tiny_model.pt")).vocab.size();
  std::string reason;
  auto step = detail::NativeStep::create(tiny_parameters(), vocab, reason);
  ASSERT_NE(step, nullptr) << reason;
  c10::InferenceMode guard;
  detail::StepState state{{"feats", at::zeros({1, 64, 8})},
                          {"proj", at::zeros({1, 64, 8})},
                          {"h", at::zeros({1, 16})},
                          {"c", at::zeros({1, 16})}};
  EXPECT_NO_THROW(step->run({1}, state));
  EXPECT_THROW(step->run({1, 1}, state), c10::Error);   // 2 tokens, 1 state row
  EXPECT_THROW(step->run({vocab}, state), c10::Error);  // outside the vocabulary
  state.pop_back();
  EXPECT_THROW(step->run({1}, state), c10::Error);  // no c
}

}  // namespace
}  // namespace edgecap
