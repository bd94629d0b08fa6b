#include "native_step.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <sstream>

namespace edgecap::detail {

namespace {

bool has_sizes(const at::Tensor& t, std::initializer_list<int64_t> sizes) {
  return t.sizes().equals(at::IntArrayRef(sizes));
}

// tanh as a rational function (Eigen's float approximation, a few ulp on [-7.9, 7.9], +-1 beyond): written
// so that the compiler vectorizes the loops below, where ATen's tanh costs ~2 ns a value (measured, 1
// thread: 19 us for the 8192 values of one attention step).
inline float fast_tanh(float x) {
  constexpr float kClamp = 7.90531110763549805f;
  x = x < -kClamp ? -kClamp : (x > kClamp ? kClamp : x);
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

inline float fast_sigmoid(float x) { return 0.5f + 0.5f * fast_tanh(0.5f * x); }

// The element-wise loops, written so the compiler vectorizes them (the clamp in fast_tanh needs
// -fno-trapping-math, set for this file in CMakeLists.txt).
void add_tanh(const float* __restrict in, const float* __restrict add, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = fast_tanh(in[i] + add[i]);
}

void mul_sigmoid(const float* __restrict in, float* __restrict inout, int64_t n) {
  for (int64_t i = 0; i < n; ++i) inout[i] *= fast_sigmoid(in[i]);
}

// nn.LSTMCell's element-wise part for one row: gates [4D] in the order i, f, g, o.
void lstm_pointwise(const float* __restrict gates, const float* __restrict c_old, float* __restrict c_new,
                    float* __restrict h_new, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    const float cell =
        fast_sigmoid(gates[d + j]) * c_old[j] + fast_sigmoid(gates[j]) * fast_tanh(gates[2 * d + j]);
    c_new[j] = cell;
    h_new[j] = fast_sigmoid(gates[3 * d + j]) * fast_tanh(cell);
  }
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

std::unique_ptr<NativeStep> NativeStep::create(const NamedTensors& params, int64_t vocab,
                                               std::string& reason) {
  reason.clear();
  auto get = [&](const char* name) -> at::Tensor {
    if (!reason.empty()) return {};
    const auto it = params.find(name);
    if (it == params.end() || !it->second.defined()) {
      reason = std::string("the module has no parameter ") + name;
      return {};
    }
    if (it->second.scalar_type() != at::kFloat || !it->second.device().is_cpu()) {
      reason = std::string(name) + " is not a float32 CPU tensor";
      return {};
    }
    return it->second.detach().contiguous();
  };
  const at::Tensor embedding = get("embedding.weight");
  const at::Tensor dec_w = get("dec_att.weight"), dec_b = get("dec_att.bias");
  const at::Tensor full_w = get("full_att.weight"), full_b = get("full_att.bias");
  const at::Tensor beta_w = get("f_beta.weight"), beta_b = get("f_beta.bias");
  const at::Tensor w_ih = get("lstm.weight_ih"), w_hh = get("lstm.weight_hh");
  const at::Tensor b_ih = get("lstm.bias_ih"), b_hh = get("lstm.bias_hh");
  const at::Tensor fc_w = get("fc.weight"), fc_b = get("fc.bias");
  if (!reason.empty()) return nullptr;

  auto mismatch = [&](const char* name, const at::Tensor& t, const std::string& expected) {
    reason = std::string(name) + " is " + shape_of(t) + ", expected " + expected;
    return nullptr;
  };
  if (embedding.dim() != 2 || embedding.size(0) != vocab)
    return mismatch("embedding.weight", embedding, "[V = " + std::to_string(vocab) + ", embed_dim]");
  if (dec_w.dim() != 2) return mismatch("dec_att.weight", dec_w, "[attention_dim, decoder_dim]");
  if (beta_w.dim() != 2) return mismatch("f_beta.weight", beta_w, "[encoder_dim, decoder_dim]");
  const int64_t V = vocab, Em = embedding.size(1), A = dec_w.size(0), D = dec_w.size(1), E = beta_w.size(0);
  const std::string dims = " (V " + std::to_string(V) + ", embed " + std::to_string(Em) + ", attention " +
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
      want << ']' << dims;
      return mismatch(e.name, e.tensor, want.str());
    }
  }

  std::unique_ptr<NativeStep> step(new NativeStep());
  step->vocab_ = V;
  step->embed_ = Em;
  step->attention_ = A;
  step->encoder_ = E;
  step->decoder_ = D;
  step->h_weight_t_ = at::cat({dec_w, beta_w, w_hh}, 0).t().contiguous();
  step->h_bias_ = at::cat({dec_b, beta_b, b_ih + b_hh}, 0).contiguous();
  step->full_att_ = full_w.reshape({A}).contiguous();
  step->token_gates_ = at::mm(embedding, w_ih.narrow(1, 0, Em).t()).contiguous();
  step->context_w_t_ = w_ih.narrow(1, Em, E).t().contiguous();
  step->fc_w_ = fc_w;
  step->fc_b_ = fc_b;
  step->hh_ = at::empty({0}, at::kFloat);
  step->att_ = at::empty({0}, at::kFloat);
  return step;
}

std::pair<at::Tensor, StepState> NativeStep::run(const std::vector<int64_t>& tokens, const StepState& state) {
  const auto B = static_cast<int64_t>(tokens.size());
  const int64_t A = attention_, E = encoder_, D = decoder_;
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
    TORCH_CHECK(token >= 0 && token < vocab_, "native step: token ", token, " is outside the vocabulary");
  const at::Tensor feats_c = feats->contiguous();
  const at::Tensor proj_c = proj->contiguous();
  const at::Tensor h = h_in->contiguous();
  const at::Tensor c = c_in->contiguous();
  const int64_t N = A + E + 4 * D;

  // Everything that reads the previous h, in one matrix product: dec_att(h), f_beta(h), W_hh h + biases.
  // One gemv per row: OpenBLAS's gemm took 110 us for 3 rows of this shape, 3 gemv ~70 (1 thread).
  hh_.resize_({B, N});
  for (int64_t b = 0; b < B; ++b) {
    at::Tensor row = hh_.select(0, b);
    at::addmv_out(row, h_bias_, h_weight_t_.t(), h.select(0, b));
  }

  // Attention: alpha = softmax(full_att(tanh(proj + dec_att(h)))) over the R regions; full_att's bias
  // adds the same to every score, which softmax ignores.
  att_.resize_({B * R, A});
  float* hh = hh_.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    const float* proj_b = proj_c.data_ptr<float>() + b * R * A;
    float* att_b = att_.data_ptr<float>() + b * R * A;
    for (int64_t r = 0; r < R; ++r) add_tanh(proj_b + r * A, hh + b * N, att_b + r * A, A);
  }
  at::Tensor alpha = at::mv(att_, full_att_).view({B, R});
  at::Tensor context = at::empty({B, E}, at::kFloat);
  for (int64_t b = 0; b < B; ++b) {
    const float* beta = hh + b * N + A;  // f_beta(h)
    float* gates = hh + b * N + A + E;   // W_hh h + b_ih + b_hh, gates i, f, g, o
    float* alpha_b = alpha.data_ptr<float>() + b * R;
    const float top = *std::max_element(alpha_b, alpha_b + R);
    float total = 0.0f;
    for (int64_t r = 0; r < R; ++r) total += (alpha_b[r] = std::exp(alpha_b[r] - top));
    for (int64_t r = 0; r < R; ++r) alpha_b[r] /= total;
    // context = sigmoid(f_beta(h)) * sum_r alpha_r feats_r
    float* context_b = context.data_ptr<float>() + b * E;
    std::fill(context_b, context_b + E, 0.0f);
    const float* feats_b = feats_c.data_ptr<float>() + b * R * E;
    for (int64_t r = 0; r < R; ++r) {
      const float weight = alpha_b[r];
      const float* row = feats_b + r * E;
      for (int64_t e = 0; e < E; ++e) context_b[e] += weight * row[e];
    }
    mul_sigmoid(beta, context_b, E);
    // The embedding's part of W_ih x, looked up.
    const float* token_row = token_gates_.data_ptr<float>() + tokens[static_cast<std::size_t>(b)] * 4 * D;
    for (int64_t j = 0; j < 4 * D; ++j) gates[j] += token_row[j];
  }
  // The context's part of W_ih x.
  at::Tensor gates = hh_.narrow(1, A + E, 4 * D);
  if (B == 1)
    gates.view({4 * D}).addmv_(context_w_t_.t(), context.view({E}));
  else
    gates.addmm_(context, context_w_t_);

  at::Tensor c_next = at::empty({B, D}, at::kFloat);
  at::Tensor h_next = at::empty({B, D}, at::kFloat);
  for (int64_t b = 0; b < B; ++b) {
    lstm_pointwise(hh + b * N + A + E, c.data_ptr<float>() + b * D, c_next.data_ptr<float>() + b * D,
                   h_next.data_ptr<float>() + b * D, D);
  }

  at::Tensor logits = B == 1 ? at::addmv(fc_b_, fc_w_, h_next.view({D})).view({1, vocab_})
                             : at::addmm(fc_b_, h_next, fc_w_.t());
  StepState next;
  next.reserve(5);
  next.emplace_back("feats", *feats);
  next.emplace_back("proj", *proj);
  next.emplace_back("h", std::move(h_next));
  next.emplace_back("c", std::move(c_next));
  next.emplace_back("alpha", alpha);
  return {at::log_softmax(logits, 1), std::move(next)};
}

}  // namespace edgecap::detail
