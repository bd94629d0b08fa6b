#include "native_step.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <sstream>

#include "pointwise.h"

namespace edgecap::detail {

namespace {

bool has_sizes(const at::Tensor& t, std::initializer_list<int64_t> sizes) {
  return t.sizes().equals(at::IntArrayRef(sizes));
}

const at::Tensor* find(const StepState& state, const char* key) {
  for (const auto& entry : state)
    if (entry.first == key) return &entry.second;
  return nullptr;
}

}  // namespace

std::string shape_of(const at::Tensor& t) {
  std::ostringstream out;
  out << '[';
  for (int64_t i = 0; i < t.dim(); ++i) out << (i ? ", " : "") << t.size(i);
  out << ']';
  return out.str();
}

namespace {

// The FP32 step: float weights; matrix products and element-wise loops in pointwise.h.
class Fp32Step final : public NativeStep {
 public:
  Fp32Step(const NamedTensors& p, const StepDims& dims);
  std::pair<at::Tensor, StepState> run(const std::vector<int64_t>& tokens, const StepState& state) override;
  std::string kind() const override { return "FP32 step"; }
  float tolerance() const override { return 1e-4f; }

 private:
  StepDims dims_;
  // The matrices are stored transposed ([in, out]) for pointwise::add_matvec_t, one product per row (beam
  // rows included). dec_att, f_beta and the LSTM's hidden-to-hidden weights all read h: one matrix
  // [D, A + E + 4D], the LSTM biases included in its bias.
  at::Tensor h_weight_t_, h_bias_;
  at::Tensor full_att_;       // [A]; its bias is dropped: softmax does not change when a constant is added
  at::Tensor token_gates_;    // [V, 4D] = embedding @ weight_ih[:, :Em]^T: the embedding's part, per token
  at::Tensor context_w_t_;    // [E, 4D] = weight_ih[:, Em:]^T
  at::Tensor fc_w_t_, fc_b_;  // [D, V] (transposed), [V]
  at::Tensor hh_;             // scratch [B, A + E + 4D]: h's products, then the LSTM gates
  at::Tensor att_;            // scratch [B * R, A]: tanh(proj + dec_att(h))
};

const char* const kWeightNames[] = {"dec_att.weight", "full_att.weight", "f_beta.weight",
                                    "lstm.weight_ih", "lstm.weight_hh",  "fc.weight"};
const char* const kFloatNames[] = {"embedding.weight", "dec_att.bias", "full_att.bias", "f_beta.bias",
                                   "lstm.bias_ih",     "lstm.bias_hh", "fc.bias"};

// Every parameter present, on the CPU, shaped to fit the others and `vocab`; fills dims.
bool check_shapes(const NamedTensors& params, int64_t vocab, StepDims& dims, std::string& reason) {
  auto get = [&](const char* name) -> at::Tensor {
    if (!reason.empty()) return {};
    const auto it = params.find(name);
    if (it == params.end() || !it->second.defined()) {
      reason = std::string("the module has no parameter ") + name;
      return {};
    }
    if (!it->second.device().is_cpu()) {
      reason = std::string(name) + " is not a CPU tensor";
      return {};
    }
    return it->second;
  };
  const at::Tensor embedding = get("embedding.weight");
  const at::Tensor dec_w = get("dec_att.weight"), dec_b = get("dec_att.bias");
  const at::Tensor full_w = get("full_att.weight"), full_b = get("full_att.bias");
  const at::Tensor beta_w = get("f_beta.weight"), beta_b = get("f_beta.bias");
  const at::Tensor w_ih = get("lstm.weight_ih"), w_hh = get("lstm.weight_hh");
  const at::Tensor b_ih = get("lstm.bias_ih"), b_hh = get("lstm.bias_hh");
  const at::Tensor fc_w = get("fc.weight"), fc_b = get("fc.bias");
  if (!reason.empty()) return false;

  auto mismatch = [&](const char* name, const at::Tensor& t, const std::string& expected) {
    reason = std::string(name) + " is " + shape_of(t) + ", expected " + expected;
    return false;
  };
  if (embedding.dim() != 2 || embedding.size(0) != vocab)
    return mismatch("embedding.weight", embedding, "[V = " + std::to_string(vocab) + ", embed_dim]");
  if (dec_w.dim() != 2) return mismatch("dec_att.weight", dec_w, "[attention_dim, decoder_dim]");
  if (beta_w.dim() != 2) return mismatch("f_beta.weight", beta_w, "[encoder_dim, decoder_dim]");
  const int64_t V = vocab, Em = embedding.size(1), A = dec_w.size(0), D = dec_w.size(1), E = beta_w.size(0);
  const std::string sizes = " (V " + std::to_string(V) + ", embed " + std::to_string(Em) + ", attention " +
                            std::to_string(A) + ", encoder " + std::to_string(E) + ", decoder " +
                            std::to_string(D) + ")";
  struct Expect {
    const char* name;
    const at::Tensor& tensor;
    std::initializer_list<int64_t> sizes;
  };
  const Expect expected[] = {
      {"dec_att.bias", dec_b, {A}},
      {"full_att.weight", full_w, {1, A}},
      {"full_att.bias", full_b, {1}},
      {"f_beta.weight", beta_w, {E, D}},
      {"f_beta.bias", beta_b, {E}},
      {"lstm.weight_ih", w_ih, {4 * D, Em + E}},
      {"lstm.weight_hh", w_hh, {4 * D, D}},
      {"lstm.bias_ih", b_ih, {4 * D}},
      {"lstm.bias_hh", b_hh, {4 * D}},
      {"fc.weight", fc_w, {V, D}},
      {"fc.bias", fc_b, {V}},
  };
  for (const Expect& e : expected) {
    if (!has_sizes(e.tensor, e.sizes)) {
      std::ostringstream want;
      want << '[';
      bool first = true;
      for (int64_t s : e.sizes) {
        want << (first ? "" : ", ") << s;
        first = false;
      }
      want << ']' << sizes;
      return mismatch(e.name, e.tensor, want.str());
    }
  }
  dims = {V, Em, A, E, D};
  return true;
}

Fp32Step::Fp32Step(const NamedTensors& p, const StepDims& dims) : dims_(dims) {
  auto get = [&](const char* name) { return p.at(name).detach().contiguous(); };
  const int64_t A = dims.attention, Em = dims.embed, E = dims.encoder;
  const at::Tensor w_ih = get("lstm.weight_ih");
  h_weight_t_ =
      at::cat({get("dec_att.weight"), get("f_beta.weight"), get("lstm.weight_hh")}, 0).t().contiguous();
  h_bias_ = at::cat({get("dec_att.bias"), get("f_beta.bias"), get("lstm.bias_ih") + get("lstm.bias_hh")}, 0)
                .contiguous();
  full_att_ = get("full_att.weight").reshape({A}).contiguous();
  token_gates_ = at::mm(get("embedding.weight"), w_ih.narrow(1, 0, Em).t()).contiguous();
  context_w_t_ = w_ih.narrow(1, Em, E).t().contiguous();
  fc_w_t_ = get("fc.weight").t().contiguous();
  fc_b_ = get("fc.bias");
  hh_ = at::empty({0}, at::kFloat);
  att_ = at::empty({0}, at::kFloat);
}

}  // namespace

std::unique_ptr<NativeStep> NativeStep::create(const NamedTensors& params, int64_t vocab,
                                               std::string& reason) {
  reason.clear();
  StepDims dims;
  if (!check_shapes(params, vocab, dims, reason)) return nullptr;
  const bool int8 = params.at("dec_att.weight").scalar_type() == at::kQInt8;
  for (const char* name : kWeightNames) {
    const at::ScalarType type = params.at(name).scalar_type();
    if (type != (int8 ? at::kQInt8 : at::kFloat)) {
      reason = std::string(name) + " is " + std::string(c10::toString(type)) + " but dec_att.weight is " +
               (int8 ? "QInt8" : "Float") + ": the weights must be all float32 or all int8";
      return nullptr;
    }
  }
  for (const char* name : kFloatNames) {
    if (params.at(name).scalar_type() != at::kFloat) {
      reason = std::string(name) + " is not a float32 tensor";
      return nullptr;
    }
  }
  if (int8) return create_int8_step(params, dims, reason);
  return std::unique_ptr<NativeStep>(new Fp32Step(params, dims));
}

StepInputs read_state(const StepState& state, const std::vector<int64_t>& tokens, const StepDims& dims) {
  const auto B = static_cast<int64_t>(tokens.size());
  const int64_t A = dims.attention, E = dims.encoder, D = dims.decoder;
  const at::Tensor* feats = find(state, "feats");
  const at::Tensor* proj = find(state, "proj");
  const at::Tensor* h_in = find(state, "h");
  const at::Tensor* c_in = find(state, "c");
  TORCH_CHECK(feats && proj && h_in && c_in, "native step: the state needs feats, proj, h and c");
  TORCH_CHECK(B > 0 && feats->dim() == 3 && feats->size(0) == B && feats->size(2) == E,
              "native step: feats is ", feats->sizes(), ", expected [", B, ", R, ", E, "]");
  const int64_t R = feats->size(1);
  TORCH_CHECK(has_sizes(*proj, {B, R, A}) && has_sizes(*h_in, {B, D}) && has_sizes(*c_in, {B, D}),
              "native step: proj ", proj->sizes(), ", h ", h_in->sizes(), ", c ", c_in->sizes(),
              " do not fit B ", B, ", R ", R, ", A ", A, ", D ", D);
  for (const at::Tensor* t : {feats, proj, h_in, c_in})
    TORCH_CHECK(t->scalar_type() == at::kFloat && t->device().is_cpu(),
                "native step: state is not float32 CPU");
  for (const int64_t token : tokens)
    TORCH_CHECK(token >= 0 && token < dims.vocab, "native step: token ", token, " is outside the vocabulary");
  return {feats->contiguous(), proj->contiguous(), h_in->contiguous(), c_in->contiguous(), B, R};
}

StepState next_state(const StepInputs& in, at::Tensor h, at::Tensor c, at::Tensor alpha) {
  StepState next;
  next.reserve(5);
  next.emplace_back("feats", in.feats);
  next.emplace_back("proj", in.proj);
  next.emplace_back("h", std::move(h));
  next.emplace_back("c", std::move(c));
  next.emplace_back("alpha", std::move(alpha));
  return next;
}

void attend(float* scores, const float* feats, const float* beta, int64_t beta_stride, float* context,
            int64_t rows, int64_t regions, int64_t encoder) {
  const int64_t R = regions, E = encoder;
  for (int64_t b = 0; b < rows; ++b) {
    float* alpha_b = scores + b * R;
    const float top = *std::max_element(alpha_b, alpha_b + R);
    float total = 0.0f;
    for (int64_t r = 0; r < R; ++r) total += (alpha_b[r] = std::exp(alpha_b[r] - top));
    for (int64_t r = 0; r < R; ++r) alpha_b[r] /= total;
    float* context_b = context + b * E;
    std::fill(context_b, context_b + E, 0.0f);
    const float* feats_b = feats + b * R * E;
    for (int64_t r = 0; r < R; ++r) {
      const float weight = alpha_b[r];
      const float* row = feats_b + r * E;
      for (int64_t e = 0; e < E; ++e) context_b[e] += weight * row[e];
    }
    pointwise::mul_sigmoid(beta + b * beta_stride, context_b, E);
  }
}

std::pair<at::Tensor, StepState> Fp32Step::run(const std::vector<int64_t>& tokens, const StepState& state) {
  const StepInputs in = read_state(state, tokens, dims_);
  const int64_t B = in.rows, R = in.regions;
  const int64_t A = dims_.attention, E = dims_.encoder, D = dims_.decoder;
  const int64_t N = A + E + 4 * D;

  // Everything that reads the previous h, in one matrix product: dec_att(h), f_beta(h), W_hh h + biases.
  hh_.resize_({B, N});
  for (int64_t b = 0; b < B; ++b) {
    float* row = hh_.data_ptr<float>() + b * N;
    std::copy(h_bias_.data_ptr<float>(), h_bias_.data_ptr<float>() + N, row);
    pointwise::add_matvec_t(h_weight_t_.data_ptr<float>(), D, N, in.h.data_ptr<float>() + b * D, row);
  }

  // Attention: alpha = softmax(full_att(tanh(proj + dec_att(h)))) over the R regions; full_att's bias
  // adds the same to every score, which softmax ignores.
  att_.resize_({B * R, A});
  float* hh = hh_.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    const float* proj_b = in.proj.data_ptr<float>() + b * R * A;
    float* att_b = att_.data_ptr<float>() + b * R * A;
    for (int64_t r = 0; r < R; ++r) pointwise::add_tanh(proj_b + r * A, hh + b * N, att_b + r * A, A);
  }
  at::Tensor alpha = at::mv(att_, full_att_).view({B, R});
  at::Tensor context = at::empty({B, E}, at::kFloat);
  // context = sigmoid(f_beta(h)) * sum_r alpha_r feats_r
  attend(alpha.data_ptr<float>(), in.feats.data_ptr<float>(), hh + A, N, context.data_ptr<float>(), B, R, E);
  for (int64_t b = 0; b < B; ++b) {
    // The embedding's part of W_ih x, looked up; gates (i, f, g, o) follow dec_att and f_beta in hh.
    float* gates = hh + b * N + A + E;
    const float* token_row = token_gates_.data_ptr<float>() + tokens[static_cast<std::size_t>(b)] * 4 * D;
    for (int64_t j = 0; j < 4 * D; ++j) gates[j] += token_row[j];
  }
  // The context's part of W_ih x.
  for (int64_t b = 0; b < B; ++b)
    pointwise::add_matvec_t(context_w_t_.data_ptr<float>(), E, 4 * D, context.data_ptr<float>() + b * E,
                            hh + b * N + A + E);

  at::Tensor c_next = at::empty({B, D}, at::kFloat);
  at::Tensor h_next = at::empty({B, D}, at::kFloat);
  for (int64_t b = 0; b < B; ++b) {
    pointwise::lstm_pointwise(hh + b * N + A + E, in.c.data_ptr<float>() + b * D,
                              c_next.data_ptr<float>() + b * D, h_next.data_ptr<float>() + b * D, D);
  }

  at::Tensor logits = at::empty({B, dims_.vocab}, at::kFloat);
  for (int64_t b = 0; b < B; ++b) {
    float* row = logits.data_ptr<float>() + b * dims_.vocab;
    std::copy(fc_b_.data_ptr<float>(), fc_b_.data_ptr<float>() + dims_.vocab, row);
    pointwise::add_matvec_t(fc_w_t_.data_ptr<float>(), D, dims_.vocab, h_next.data_ptr<float>() + b * D, row);
  }
  return {at::log_softmax(logits, 1), next_state(in, std::move(h_next), std::move(c_next), std::move(alpha))};
}

}  // namespace edgecap::detail
