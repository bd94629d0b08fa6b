#pragma once
// The decoder step of the shipped architecture ("cnn-attention-lstm", tools/edgecap_model.py) run with
// ATen calls instead of the TorchScript interpreter: at these sizes the interpreter's per-operator cost
// is most of a step (docs/BENCHMARKS.md "Where the time goes"). Internal to edgecap_inference; the
// Captioner builds it for FP32 CPU modules only and uses it only after it matched the module's own step.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace edgecap::detail {

// The decoder state as the Captioner keeps it: the module's Dict[str, Tensor], in the module's order.
using StepState = std::vector<std::pair<std::string, at::Tensor>>;
using NamedTensors = std::map<std::string, at::Tensor>;

// A tensor's sizes as "[1, 195]", for error messages (also used by the Captioner's contract checks).
std::string shape_of(const at::Tensor& t);

class NativeStep {
 public:
  // Builds the step from the module's named parameters (embedding.weight, dec_att.*, full_att.*,
  // f_beta.*, lstm.{weight_ih,weight_hh,bias_ih,bias_hh}, fc.*). Returns nullptr and says why in `reason`
  // when one is missing, is not a float32 CPU tensor, or the shapes do not fit together and `vocab`.
  static std::unique_ptr<NativeStep> create(const NamedTensors& params, int64_t vocab, std::string& reason);

  // Same contract as the module's step: tokens [B] -> log-probs [B, V] (float32, contiguous) and the new
  // state {feats, proj, h, c, alpha}. `state` needs feats [B,R,E], proj [B,R,A], h [B,D], c [B,D];
  // throws c10::Error when it does not fit. Not thread-safe (scratch buffers are reused across calls).
  std::pair<at::Tensor, StepState> run(const std::vector<int64_t>& tokens, const StepState& state);

 private:
  NativeStep() = default;

  int64_t vocab_ = 0, embed_ = 0, attention_ = 0, encoder_ = 0, decoder_ = 0;
  // The matrix products go to BLAS through ATen; the element-wise parts are plain loops (one ATen call
  // costs about a microsecond here, and ATen's tanh ~2 ns a value). Weights of the two big products are
  // stored transposed ([in, out]): measured faster than [out, in] for gemv (greedy) and gemm (beam).
  // dec_att, f_beta and the LSTM's hidden-to-hidden weights all read h: one matrix [D, A + E + 4D], the
  // LSTM biases included in its bias.
  at::Tensor h_weight_t_, h_bias_;
  at::Tensor full_att_;     // [A]; its bias is dropped: softmax does not change when a constant is added
  at::Tensor token_gates_;  // [V, 4D] = embedding @ weight_ih[:, :Em]^T: the embedding's part, per token
  at::Tensor context_w_t_;  // [E, 4D] = weight_ih[:, Em:]^T
  at::Tensor fc_w_, fc_b_;  // [V, D], [V]
  at::Tensor hh_;           // scratch [B, A + E + 4D]: h's products, then the LSTM gates
  at::Tensor att_;          // scratch [B * R, A]: tanh(proj + dec_att(h))
};

}  // namespace edgecap::detail
