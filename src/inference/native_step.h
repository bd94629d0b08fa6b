#pragma once
// The decoder step of the shipped architecture ("cnn-attention-lstm", tools/edgecap_model.py) run with
// plain C++ and ATen calls instead of the TorchScript interpreter: at these sizes the interpreter's
// per-operator cost is most of a step (docs/BENCHMARKS.md "Where the time goes"). Two implementations:
// FP32 (float weights, BLAS products) and INT8 (the int8 weights of a dynamic-quantized file, products in
// int8 as LibTorch's quantized::linear_dynamic does them, int8_linear.h). Internal to edgecap_inference;
// the Captioner builds one for CPU modules and uses it only after it matched the module's own step.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace torch::jit {
struct Module;
}

namespace edgecap::detail {

// The decoder state as the Captioner keeps it: the module's Dict[str, Tensor], in the module's order.
using StepState = std::vector<std::pair<std::string, at::Tensor>>;
using NamedTensors = std::map<std::string, at::Tensor>;

// A tensor's sizes as "[1, 195]", for error messages (also used by the Captioner's contract checks).
std::string shape_of(const at::Tensor& t);

// The decoder's sizes, read from its weights' shapes.
struct StepDims {
  int64_t vocab = 0, embed = 0, attention = 0, encoder = 0, decoder = 0;
};

class NativeStep {
 public:
  virtual ~NativeStep() = default;

  // Builds the step from the module's decoder weights: embedding.weight, dec_att.*, full_att.*, f_beta.*,
  // lstm.{weight_ih,weight_hh,bias_ih,bias_hh}, fc.*. All weights float32: the FP32 step. All weight
  // matrices int8 (qint8 tensors with zero point 0, per-tensor or per-row scales; what a dynamic-quantized
  // module's packed weights unpack to) and the rest float32: the INT8 step. Returns nullptr and says why
  // in `reason` when one is missing, of another type, or the shapes do not fit together and `vocab`.
  static std::unique_ptr<NativeStep> create(const NamedTensors& params, int64_t vocab, std::string& reason);

  // Same contract as the module's step: tokens [B] -> log-probs [B, V] (float32, contiguous) and the new
  // state {feats, proj, h, c, alpha}. `state` needs feats [B,R,E], proj [B,R,A], h [B,D], c [B,D];
  // throws c10::Error when it does not fit. Not thread-safe (scratch buffers are reused across calls).
  virtual std::pair<at::Tensor, StepState> run(const std::vector<int64_t>& tokens,
                                               const StepState& state) = 0;

  // "FP32 step" or "INT8 step, avx512-vnni kernel": what the load summary shows.
  virtual std::string kind() const = 0;
  // How far its log-probs may lie from the module's step and still count as the same function.
  virtual float tolerance() const = 0;

 protected:
  NativeStep() = default;
};

// ---- shared by the implementations ---------------------------------------------------------------------
// The state tensors of one call, checked against `dims` and made contiguous.
struct StepInputs {
  at::Tensor feats, proj, h, c;
  int64_t rows = 0, regions = 0;
};
StepInputs read_state(const StepState& state, const std::vector<int64_t>& tokens, const StepDims& dims);

// The state a step returns, in the module's order: feats and proj as they came, the new h, c and alpha.
StepState next_state(const StepInputs& in, at::Tensor h, at::Tensor c, at::Tensor alpha);

// Softmax over each of `rows` rows of `scores` [rows, R] in place, then context[b] = sigmoid(beta[b]) *
// sum_r alpha[b, r] feats[b, r] (beta rows `beta_stride` floats apart).
void attend(float* scores, const float* feats, const float* beta, int64_t beta_stride, float* context,
            int64_t rows, int64_t regions, int64_t encoder);

// The part of an INT8 module's encode after its convolutions, run natively: the module's `encoder`
// (quantize -> int8 Conv+ReLU blocks -> dequantize) still runs through TorchScript, then the features
// are laid out, and enc_att, init_h and init_c (dynamic INT8 Linear) computed with int8_linear.h instead
// of three onednn calls that cost ~36 us each at these sizes. Returns the module's state dict contents
// {feats, proj, h, c, alpha}. Same caveats and checks as the INT8 step (native_step_int8.cpp).
class NativeEncodeTail {
 public:
  virtual ~NativeEncodeTail() = default;
  // nullptr + reason when the module is not the INT8 cnn-attention-lstm this knows.
  static std::unique_ptr<NativeEncodeTail> create(const torch::jit::Module& module, std::string& reason);
  // image [B, 3, H, W] float -> state; throws c10::Error when the module's encoder output does not fit.
  virtual StepState run(const at::Tensor& image) = 0;

 protected:
  NativeEncodeTail() = default;
};

// The decoder weights of a loaded dynamic-quantized module, unpacked for NativeStep::create: int8 weights
// and float biases from the packed parameters, the float embedding. Empty, with the reason, on failure.
NamedTensors unpack_int8_decoder(const torch::jit::Module& module, std::string& reason);

std::unique_ptr<NativeStep> create_int8_step(const NamedTensors& params, const StepDims& dims,
                                             std::string& reason);

}  // namespace edgecap::detail
