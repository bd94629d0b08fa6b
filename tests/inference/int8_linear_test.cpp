// The INT8 products of the native INT8 step (src/inference/int8_linear.h) against LibTorch's own dynamic
// quantization: the input quantization parameters, the quantized input, and whole products through
// quantized::linear_dynamic with reduce_range (what nn.quantized.dynamic.Linear and LSTMCell call).
#include "int8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace edgecap::detail {
namespace {

TEST(Int8Linear, ChoosesTheQuantizationParametersLibTorchChooses) {
  const std::vector<std::pair<float, float>> ranges = {{-1.0f, 1.0f},  {0.0f, 3.7f}, {-5.2f, -0.1f},
                                                       {-0.3f, 12.0f}, {0.0f, 0.0f}, {-1e-7f, 2e-7f},
                                                       {1.5f, 1.5f}};
  for (bool reduce : {true, false}) {
    for (const auto& [lo, hi] : ranges) {
      const at::Tensor x = torch::tensor({lo, hi});
      const auto [scale, zero_point] = at::_choose_qparams_per_tensor(x, reduce);
      const InputQuant mine = choose_input_quant(lo, hi, reduce);
      const std::string what = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
      EXPECT_DOUBLE_EQ(mine.scale, scale) << what;
      EXPECT_EQ(mine.zero_point, zero_point) << what;
    }
  }
}

TEST(Int8Linear, QuantizesTheInputAsLibTorchDoes) {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({500}) * 2.5 + 0.4;
  std::vector<uint8_t> q(500);
  const InputQuant p = quantize_input(x.data_ptr<float>(), 500, q.data(), /*reduce_range=*/true);
  const auto [scale, zero_point] = at::_choose_qparams_per_tensor(x, true);
  EXPECT_DOUBLE_EQ(p.scale, scale);
  const at::Tensor ref = at::quantize_per_tensor(x, scale, zero_point, at::kQUInt8).int_repr();
  int differ = 0;
  for (int i = 0; i < 500; ++i) differ += q[i] != ref[i].item<uint8_t>();
  EXPECT_EQ(differ, 0);
}

// quantized::linear_dynamic(x, linear_prepack(w, b), reduce_range=True) under the current engine.
at::Tensor libtorch_linear_dynamic(const at::Tensor& x, const at::Tensor& qw, const at::Tensor& bias) {
  auto& dispatcher = c10::Dispatcher::singleton();
  torch::jit::Stack stack{qw, bias};
  dispatcher.findSchemaOrThrow("quantized::linear_prepack", "").callBoxed(&stack);
  const c10::IValue packed = stack[0];
  stack = {x, packed, true};
  dispatcher.findSchemaOrThrow("quantized::linear_dynamic", "").callBoxed(&stack);
  return stack[0].toTensor();
}

Int8Linear from_quantized(const at::Tensor& qw, const at::Tensor& bias) {
  const at::Tensor raw = qw.int_repr().contiguous();
  std::vector<float> scales;
  if (qw.qscheme() == at::kPerTensorAffine) {
    scales.push_back(static_cast<float>(qw.q_scale()));
  } else {
    const at::Tensor s = qw.q_per_channel_scales().to(at::kFloat);
    scales.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  }
  const at::Tensor b = bias.contiguous();
  return Int8Linear(std::vector<int8_t>(raw.data_ptr<int8_t>(), raw.data_ptr<int8_t>() + raw.numel()), scales,
                    std::vector<float>(b.data_ptr<float>(), b.data_ptr<float>() + b.numel()), qw.size(0),
                    qw.size(1));
}

TEST(Int8Linear, MatchesLibTorchsDynamicLinear) {
  const auto engines = at::globalContext().supportedQEngines();
  for (const at::QEngine engine : {at::QEngine::ONEDNN, at::QEngine::QNNPACK}) {
    if (std::find(engines.begin(), engines.end(), engine) == engines.end()) continue;
    at::globalContext().setQEngine(engine);
    const std::string what = std::string(c10::toString(engine));
    const bool reduce = engine != at::QEngine::QNNPACK;  // qnnpack ignores reduce_range (it warns so)
    torch::manual_seed(7);
    // in = 201, out = 37: not multiples of the kernels' block sizes (16 rows, 4 / 16 / 64 inputs), so
    // their tails run too, as for the pruned model's layers
    const at::Tensor w = torch::randn({37, 201}) * 0.2;
    const at::Tensor bias = torch::randn({37});
    const at::Tensor x = torch::randn({3, 201}) * 1.5 + 0.3;
    const at::Tensor qw = at::quantize_per_tensor(w, 0.004, 0, at::kQInt8);
    const at::Tensor ref = libtorch_linear_dynamic(x, qw, bias);
    const Int8Linear layer = from_quantized(qw, bias);
    std::vector<uint8_t> q(603);
    const InputQuant p = quantize_input(x.data_ptr<float>(), 603, q.data(), reduce);
    std::vector<float> y(3 * 37);
    layer.apply(q.data(), p, 3, y.data(), 37);
    for (int r = 0; r < 3; ++r)
      for (int o = 0; o < 37; ++o)
        EXPECT_NEAR(y[r * 37 + o], ref[r][o].item<float>(), 1e-5 * (1.0 + std::abs(ref[r][o].item<float>())))
            << what << " row " << r << " out " << o;

    // accumulate adds to what is there
    std::vector<float> acc(3 * 37, 1.0f);
    layer.apply(q.data(), p, 3, acc.data(), 37, /*accumulate=*/true);
    EXPECT_NEAR(acc[5], y[5] + 1.0f, 1e-5);
  }
}

// Exact ties: a saturated tanh gives +-1.0, and with the range [-1, 1] that lands on x / scale = +-63.5.
// onednn rounds x / scale + zero_point half to even in float; the products must agree on such inputs too.
TEST(Int8Linear, RoundsTiesAsOnednn) {
  const auto engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), at::QEngine::ONEDNN) == engines.end())
    GTEST_SKIP() << "this LibTorch has no onednn engine";
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  torch::manual_seed(5);
  at::Tensor x = torch::tanh(torch::randn({1, 256}) * 6);  // many exact +-1.0
  x[0][0] = -1.0f;
  x[0][1] = 1.0f;
  const at::Tensor w = torch::randn({64, 256}) * 0.1, bias = torch::randn({64});
  const at::Tensor qw = at::quantize_per_tensor(w, 0.002, 0, at::kQInt8);
  for (const double factor : {1.0, 0.999}) {
    const at::Tensor xf = (x * factor).contiguous();
    const at::Tensor ref = libtorch_linear_dynamic(xf, qw, bias);
    std::vector<uint8_t> q(256);
    const InputQuant p = quantize_input(xf.data_ptr<float>(), 256, q.data());
    std::vector<float> y(64);
    from_quantized(qw, bias).apply(q.data(), p, 1, y.data(), 64);
    for (int o = 0; o < 64; ++o)
      EXPECT_NEAR(y[o], ref[0][o].item<float>(), 1e-5 * (1.0 + std::abs(ref[0][o].item<float>())))
          << "factor " << factor << " out " << o;
  }
}

TEST(Int8Linear, PerRowScalesAndStacking) {
  torch::manual_seed(11);
  const at::Tensor a = torch::randn({5, 64}), b = torch::randn({4, 64});
  const at::Tensor qa = at::quantize_per_channel(a, torch::rand({5}).to(at::kDouble) * 0.02 + 0.005,
                                                 torch::zeros({5}, at::kLong), 0, at::kQInt8);
  const at::Tensor qb = at::quantize_per_tensor(b, 0.01, 0, at::kQInt8);
  const Int8Linear la = from_quantized(qa, torch::randn({5})), lb = from_quantized(qb, torch::randn({4}));
  const Int8Linear both = Int8Linear::stack({&la, &lb});
  EXPECT_EQ(both.out(), 9);
  const at::Tensor x = torch::randn({64});
  std::vector<uint8_t> q(64);
  const InputQuant p = quantize_input(x.data_ptr<float>(), 64, q.data());
  std::vector<float> ya(5), yb(4), y(9);
  la.apply(q.data(), p, 1, ya.data(), 5);
  lb.apply(q.data(), p, 1, yb.data(), 4);
  both.apply(q.data(), p, 1, y.data(), 9);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(y[i], ya[i]);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[5 + i], yb[i]);
  // against dequantized float arithmetic: the int8 sum is exact, only the float scaling rounds
  const at::Tensor xq = (torch::from_blob(q.data(), {64}, at::kByte).to(at::kFloat) - p.zero_point) * p.scale;
  const at::Tensor ref = at::matmul(qa.dequantize(), xq);
  const Int8Linear no_bias = from_quantized(qa, torch::zeros({5}));
  std::vector<float> y0(5);
  no_bias.apply(q.data(), p, 1, y0.data(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(y0[i], ref[i].item<float>(), 1e-4) << i;
}

TEST(Int8Linear, RefusesWeightsThatDoNotFit) {
  EXPECT_THROW(Int8Linear(std::vector<int8_t>(10), {1.0f}, {}, 3, 4), std::invalid_argument);
  EXPECT_THROW(Int8Linear(std::vector<int8_t>(12), {1.0f, 2.0f}, {}, 3, 4), std::invalid_argument);
  EXPECT_THROW(Int8Linear(std::vector<int8_t>(12), {1.0f}, {1.0f}, 3, 4), std::invalid_argument);
  EXPECT_NO_THROW(Int8Linear(std::vector<int8_t>(12), {1.0f}, {}, 3, 4));
}

TEST(Int8Linear, NamesItsKernel) {
  const std::string name = int8_kernel_name();
  EXPECT_TRUE(name == "avx512-vnni" || name == "avx2" || name == "scalar") << name;
  const char* forced = std::getenv("EDGECAP_INT8_KERNEL");
  if (forced && std::string(forced) == "scalar") {
    EXPECT_EQ(name, "scalar");
  }
  if (forced && std::string(forced) == "avx2") {
    EXPECT_NE(name, "avx512-vnni");
  }
}

}  // namespace
}  // namespace edgecap::detail
