// The INT8 native decoder step: the same computation as the dynamic-quantized module's step (every
// Linear and the LSTMCell are quantized::linear_dynamic calls there), with the products done by
// int8_linear.h. Each input is quantized once per call over all rows, as LibTorch does, so the int8
// sums are the module's; only the order of float operations differs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/script.h>

#include "int8_linear.h"
#include "native_step.h"
#include "pointwise.h"

namespace edgecap::detail {

namespace {

// A qint8 weight [out, in] (zero point 0; per-tensor or per-row scales) and a float bias as Int8Linear.
Int8Linear to_int8(const at::Tensor& weight, const at::Tensor& bias, std::string& reason, const char* name) {
  const at::Tensor w = weight.contiguous();
  std::vector<float> scales;
  const auto scheme = w.qscheme();
  if (scheme == at::kPerTensorAffine || scheme == at::kPerTensorSymmetric) {
    if (w.q_zero_point() != 0) {
      reason = std::string(name) + " has zero point " + std::to_string(w.q_zero_point()) + ", expected 0";
      return {};
    }
    scales.push_back(static_cast<float>(w.q_scale()));
  } else if (scheme == at::kPerChannelAffine || scheme == at::kPerChannelSymmetric) {
    if (w.q_per_channel_axis() != 0 || w.q_per_channel_zero_points().ne(0).any().item<bool>()) {
      reason = std::string(name) +
               " is quantized per channel on an axis other than the output rows, or "
               "with non-zero zero points";
      return {};
    }
    const at::Tensor s = w.q_per_channel_scales().to(at::kFloat).contiguous();
    scales.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
  } else {
    reason = std::string(name) + " has a quantization scheme the INT8 step does not know";
    return {};
  }
  const at::Tensor raw = w.int_repr().contiguous();
  const auto* data = raw.data_ptr<int8_t>();
  std::vector<int8_t> values(data, data + raw.numel());
  std::vector<float> b;
  if (bias.defined()) {
    const at::Tensor bc = bias.to(at::kFloat).contiguous();
    b.assign(bc.data_ptr<float>(), bc.data_ptr<float>() + bc.numel());
  }
  return Int8Linear(std::move(values), std::move(scales), std::move(b), w.size(0), w.size(1));
}

// Where LibTorch's (vectorized) tanh saturates: the smallest x > 0 with tanh(x) >= `value`. For 1.0f that
// is 8.66434 with the SLEEF kernels of LibTorch 1.13 (a correctly rounded tanh would need 9.01). Found by
// bisection over the floats (tanh is monotone there: checked over every float in [7.5, 9.6]).
float libtorch_tanh_reaches(float value) {
  auto reaches = [value](float x) {
    return at::tanh(at::full({64}, x, at::kFloat)).ge(value).all().item<bool>();
  };
  float lo = 4.0f, hi = 20.0f;
  if (reaches(lo) || !reaches(hi)) return std::atanh(value);  // not the usual shape: the exact bound
  while (true) {
    const float mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    (reaches(mid) ? hi : lo) = mid;
  }
  return hi;
}

struct Saturation {
  float below_one, one;  // |x| from which LibTorch's tanh is 0.99999994f, and 1.0f
};

const Saturation& libtorch_tanh_saturation() {
  static const Saturation s{libtorch_tanh_reaches(0.99999994f), libtorch_tanh_reaches(1.0f)};
  return s;
}

class Int8Step final : public NativeStep {
 public:
  Int8Step(const StepDims& dims, bool reduce_range, Int8Linear h_products, Int8Linear full_att,
           Int8Linear input_gates, Int8Linear fc, at::Tensor embedding)
      : dims_(dims),
        reduce_range_(reduce_range),
        saturation_(libtorch_tanh_saturation()),
        h_products_(std::move(h_products)),
        full_att_(std::move(full_att)),
        input_gates_(std::move(input_gates)),
        fc_(std::move(fc)),
        embedding_(std::move(embedding)) {}

  std::string kind() const override { return std::string("INT8 step, ") + int8_kernel_name() + " kernel"; }
  // The int32 sums are the module's for the same quantized inputs, but the element-wise functions
  // (pointwise.h against ATen's) differ in the last bits, and now and then such a bit moves one input
  // element across a rounding boundary: one quantization step (1/127 of the input's range) on one
  // element. On the load-time probe that moved log-probs by up to 0.16 (the pruned model shipped on
  // 2026-11-28, every kernel; 0.085 for an earlier one); the tolerance leaves room for an unluckier
  // probe. Wrong weights or a wrong layout move them by whole nats or change the tokens (also
  // checked); the arithmetic itself is checked exactly by int8_linear_test.
  float tolerance() const override { return 0.25f; }

  std::pair<at::Tensor, StepState> run(const std::vector<int64_t>& tokens, const StepState& state) override {
    const StepInputs in = read_state(state, tokens, dims_);
    const int64_t B = in.rows, R = in.regions;
    const int64_t A = dims_.attention, E = dims_.encoder, D = dims_.decoder, Em = dims_.embed;
    const int64_t N = A + E + 4 * D;
    const int64_t X = Em + E;

    // dec_att(h), f_beta(h) and W_hh h + b_hh: three quantized products of the same h, in one.
    hh_.resize(static_cast<std::size_t>(B * N));
    quantized_.resize(static_cast<std::size_t>(std::max({B * D, B * R * A, B * X})));
    InputQuant q = quantize_input(in.h.data_ptr<float>(), B * D, quantized_.data(), reduce_range_);
    h_products_.apply(quantized_.data(), q, B, hh_.data(), N);

    // Attention scores: full_att(tanh(proj + dec_att(h))), quantized over all B * R rows as the module's
    // Linear sees them.
    att_.resize(static_cast<std::size_t>(B * R * A));
    for (int64_t b = 0; b < B; ++b) {
      const float* proj_b = in.proj.data_ptr<float>() + b * R * A;
      for (int64_t r = 0; r < R; ++r)
        pointwise::add_tanh_saturating(proj_b + r * A, hh_.data() + b * N, att_.data() + (b * R + r) * A, A,
                                       saturation_.below_one, saturation_.one);
    }
    at::Tensor alpha = at::empty({B, R}, at::kFloat);
    q = quantize_input(att_.data(), B * R * A, quantized_.data(), reduce_range_);
    full_att_.apply(quantized_.data(), q, B * R, alpha.data_ptr<float>(), 1);

    // x = [embedding(token), context]; then the LSTM gates W_ih x + b_ih added to W_hh h + b_hh.
    x_.resize(static_cast<std::size_t>(B * X));
    context_.resize(static_cast<std::size_t>(B * E));
    attend(alpha.data_ptr<float>(), in.feats.data_ptr<float>(), hh_.data() + A, N, context_.data(), B, R, E);
    for (int64_t b = 0; b < B; ++b) {
      const float* emb = embedding_.data_ptr<float>() + tokens[static_cast<std::size_t>(b)] * Em;
      std::memcpy(x_.data() + b * X, emb, sizeof(float) * static_cast<std::size_t>(Em));
      std::memcpy(x_.data() + b * X + Em, context_.data() + b * E,
                  sizeof(float) * static_cast<std::size_t>(E));
    }
    q = quantize_input(x_.data(), B * X, quantized_.data(), reduce_range_);
    input_gates_.apply(quantized_.data(), q, B, hh_.data() + A + E, N, /*accumulate=*/true);

    at::Tensor c_next = at::empty({B, D}, at::kFloat);
    at::Tensor h_next = at::empty({B, D}, at::kFloat);
    for (int64_t b = 0; b < B; ++b) {
      pointwise::lstm_pointwise(hh_.data() + b * N + A + E, in.c.data_ptr<float>() + b * D,
                                c_next.data_ptr<float>() + b * D, h_next.data_ptr<float>() + b * D, D);
    }

    at::Tensor logits = at::empty({B, dims_.vocab}, at::kFloat);
    q = quantize_input(h_next.data_ptr<float>(), B * D, quantized_.data(), reduce_range_);
    fc_.apply(quantized_.data(), q, B, logits.data_ptr<float>(), dims_.vocab);

    return {at::log_softmax(logits, 1),
            next_state(in, std::move(h_next), std::move(c_next), std::move(alpha))};
  }

 private:
  StepDims dims_;
  bool reduce_range_;       // inputs to 0..127, as the modules ask; qnnpack ignores that and uses 0..255
  Saturation saturation_;   // where LibTorch's tanh reaches 0.99999994 and 1
  Int8Linear h_products_;   // [A + E + 4D, D]: dec_att, f_beta, W_hh with their biases
  Int8Linear full_att_;     // [1, A]
  Int8Linear input_gates_;  // [4D, Em + E]: W_ih with b_ih
  Int8Linear fc_;           // [V, D]
  at::Tensor embedding_;    // [V, Em] float
  std::vector<float> hh_, att_, x_, context_;  // scratch
  std::vector<uint8_t> quantized_;             // scratch: the quantized input of the current product
};

}  // namespace

std::unique_ptr<NativeStep> create_int8_step(const NamedTensors& p, const StepDims& dims,
                                             std::string& reason) {
  auto layer = [&](const char* weight, const char* bias) {
    return reason.empty() ? to_int8(p.at(weight), p.at(bias), reason, weight) : Int8Linear();
  };
  const Int8Linear dec_att = layer("dec_att.weight", "dec_att.bias");
  const Int8Linear f_beta = layer("f_beta.weight", "f_beta.bias");
  const Int8Linear w_hh = layer("lstm.weight_hh", "lstm.bias_hh");
  Int8Linear full_att = layer("full_att.weight", "full_att.bias");
  Int8Linear w_ih = layer("lstm.weight_ih", "lstm.bias_ih");
  Int8Linear fc = layer("fc.weight", "fc.bias");
  if (!reason.empty()) return nullptr;
  // The engine in force is the one the module's packed weights were loaded for (the Captioner selects it
  // before loading, and builds this step for onednn files only).
  const bool reduce_range = at::globalContext().qEngine() != at::QEngine::QNNPACK;
  return std::unique_ptr<NativeStep>(
      new Int8Step(dims, reduce_range, Int8Linear::stack({&dec_att, &f_beta, &w_hh}), std::move(full_att),
                   std::move(w_ih), std::move(fc), p.at("embedding.weight").detach().contiguous()));
}

// The decoder weights of a dynamic-quantized module as NativeStep::create takes them: int8 weights and
// float biases unpacked from the packed parameters (nn.quantized.dynamic.Linear keeps them in
// <name>._packed_params._packed_params, the LSTMCell in _packed_weight_ih / _packed_weight_hh, whose
// packed biases are the ones its kernel adds), the float embedding as it is. Empty + reason on failure.
namespace {

// (int8 weight, float bias) of the dynamic-quantized Linear `name` of `module`.
// (int8 weight, float bias or undefined) of a LinearPackedParamsBase: quantized::linear_unpack.
std::pair<at::Tensor, at::Tensor> unpack_packed(const c10::IValue& packed) {
  static const c10::OperatorHandle unpack =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_unpack", "");
  torch::jit::Stack stack{packed};
  unpack.callBoxed(&stack);
  if (stack.size() != 2 || !stack[0].isTensor()) throw std::runtime_error("linear_unpack returned no weight");
  return {stack[0].toTensor(), stack[1].isTensor() ? stack[1].toTensor() : at::Tensor()};
}

// The same for the dynamic-quantized Linear `name` of `module` (<name>._packed_params._packed_params).
std::pair<at::Tensor, at::Tensor> unpack_linear(const torch::jit::Module& module, const char* name) {
  return unpack_packed(module.attr(name).toModule().attr("_packed_params").toModule().attr("_packed_params"));
}

class Int8EncodeTail final : public NativeEncodeTail {
 public:
  Int8EncodeTail(torch::jit::Module encoder, Int8Linear enc_att, Int8Linear init_h, Int8Linear init_c,
                 bool reduce_range)
      : encoder_(std::move(encoder)),
        enc_att_(std::move(enc_att)),
        init_h_(std::move(init_h)),
        init_c_(std::move(init_c)),
        reduce_range_(reduce_range),
        saturation_(libtorch_tanh_saturation()) {}

  StepState run(const at::Tensor& image) override {
    const at::Tensor x = encoder_.forward({image}).toTensor().to(at::kFloat).contiguous();  // [B, E, gh, gw]
    TORCH_CHECK(x.dim() == 4 && x.size(1) == enc_att_.in(), "native encode: the encoder gave ", x.sizes(),
                ", expected [B, ", enc_att_.in(), ", h, w]");
    const int64_t B = x.size(0), E = x.size(1), R = x.size(2) * x.size(3);
    const int64_t A = enc_att_.out(), D = init_h_.out();
    // feats = x.flatten(2).transpose(1, 2): [B, R, E]
    at::Tensor feats = at::empty({B, R, E}, at::kFloat);
    const float* src = x.data_ptr<float>();
    float* dst = feats.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t e = 0; e < E; ++e)
        for (int64_t r = 0; r < R; ++r) dst[(b * R + r) * E + e] = src[(b * E + e) * R + r];
    // proj = enc_att(feats), one quantization over all B * R rows as the module's Linear sees them
    quantized_.resize(static_cast<std::size_t>(B * R * E));
    at::Tensor proj = at::empty({B, R, A}, at::kFloat);
    InputQuant q = quantize_input(dst, B * R * E, quantized_.data(), reduce_range_);
    enc_att_.apply(quantized_.data(), q, B * R, proj.data_ptr<float>(), A);
    // h, c = tanh(init_h(mean)), tanh(init_c(mean)); the mean over regions as ATen sums then divides
    at::Tensor mean = feats.mean(1);
    q = quantize_input(mean.data_ptr<float>(), B * E, quantized_.data(), reduce_range_);
    pre_.resize(static_cast<std::size_t>(B * D));
    zeros_.assign(static_cast<std::size_t>(B * D), 0.0f);
    at::Tensor h = at::empty({B, D}, at::kFloat), c = at::empty({B, D}, at::kFloat);
    init_h_.apply(quantized_.data(), q, B, pre_.data(), D);
    // h is quantized by the first step: its saturated values must be LibTorch's (pointwise.h)
    pointwise::add_tanh_saturating(pre_.data(), zeros_.data(), h.data_ptr<float>(), B * D,
                                   saturation_.below_one, saturation_.one);
    init_c_.apply(quantized_.data(), q, B, pre_.data(), D);
    pointwise::add_tanh_saturating(pre_.data(), zeros_.data(), c.data_ptr<float>(), B * D,
                                   saturation_.below_one, saturation_.one);
    StepState state;
    state.reserve(5);
    state.emplace_back("feats", std::move(feats));
    state.emplace_back("proj", std::move(proj));
    state.emplace_back("h", std::move(h));
    state.emplace_back("c", std::move(c));
    state.emplace_back("alpha", at::zeros({B, R}, at::kFloat));
    return state;
  }

 private:
  torch::jit::Module encoder_;
  Int8Linear enc_att_, init_h_, init_c_;
  bool reduce_range_;
  Saturation saturation_;
  std::vector<uint8_t> quantized_;
  std::vector<float> pre_, zeros_;
};

}  // namespace

std::unique_ptr<NativeEncodeTail> NativeEncodeTail::create(const torch::jit::Module& module,
                                                           std::string& reason) {
  reason.clear();
  try {
    torch::jit::Module encoder = module.attr("encoder").toModule();
    auto layer = [&](const char* name) {
      const auto [w, b] = unpack_linear(module, name);
      if (w.scalar_type() != at::kQInt8) throw std::runtime_error(std::string(name) + " is not int8");
      return reason.empty() ? to_int8(w, b, reason, name) : Int8Linear();
    };
    Int8Linear enc_att = layer("enc_att"), init_h = layer("init_h"), init_c = layer("init_c");
    if (!reason.empty()) return nullptr;
    if (init_h.in() != enc_att.in() || init_c.in() != enc_att.in() || init_c.out() != init_h.out()) {
      reason = "enc_att, init_h and init_c do not fit together";
      return nullptr;
    }
    const bool reduce_range = at::globalContext().qEngine() != at::QEngine::QNNPACK;
    return std::unique_ptr<NativeEncodeTail>(new Int8EncodeTail(
        std::move(encoder), std::move(enc_att), std::move(init_h), std::move(init_c), reduce_range));
  } catch (const std::exception& e) {
    const std::string what = e.what();
    reason = "cannot read its int8 encoder weights (" + what.substr(0, what.find('\n')) + ")";
    return nullptr;
  }
}

NamedTensors unpack_int8_decoder(const torch::jit::Module& module, std::string& reason) {
  NamedTensors params;
  auto put = [&params](const std::string& weight, const std::string& bias,
                       const std::pair<at::Tensor, at::Tensor>& unpacked) {
    params[weight] = unpacked.first;
    if (unpacked.second.defined()) params[bias] = unpacked.second;
  };
  try {
    for (const std::string name : {"dec_att", "full_att", "f_beta", "fc"})
      put(name + ".weight", name + ".bias", unpack_linear(module, name.c_str()));
    // The LSTMCell's packed weights carry the biases its kernel adds.
    const torch::jit::Module lstm = module.attr("lstm").toModule();
    for (const std::string part : {"ih", "hh"})
      put("lstm.weight_" + part, "lstm.bias_" + part, unpack_packed(lstm.attr("_packed_weight_" + part)));
    params["embedding.weight"] = module.attr("embedding").toModule().attr("weight").toTensor();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    reason = "cannot read its int8 decoder weights (" + what.substr(0, what.find('\n')) + ")";
    params.clear();
  }
  return params;
}

}  // namespace edgecap::detail
