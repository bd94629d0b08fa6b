#pragma once
// Dynamic INT8 linear layers for the native INT8 decoder step (native_step.h), computed the way LibTorch's
// quantized::linear_dynamic computes them for nn.quantized.dynamic.Linear and LSTMCell: the input is
// quantized per call with one scale/zero point for the whole input (ChooseQuantizationParams over
// [min(x, 0), max(x, 0)] with reduce_range, i.e. to 0..127: those modules ask for it),
// the weights are int8 with zero point 0 and a scale per output row (per-tensor files repeat one scale),
// the products are summed exactly in int32 and then scaled back to float, plus a float bias.
// Internal to edgecap_inference.
#include <cstdint>
#include <string>
#include <vector>

namespace edgecap::detail {

// The quantization of one input: x ~ scale * (q - zero_point), q in 0..255. The scale stays a double, as
// LibTorch keeps it (rounding it to float moves ties).
struct InputQuant {
  double scale = 1.0;
  int32_t zero_point = 0;
};

// LibTorch's quant_utils::ChooseQuantizationParams for qmin 0 and qmax 255, or 127 with reduce_range.
InputQuant choose_input_quant(float min, float max, bool reduce_range = true);

// Quantizes x[0..n) into q (same length) with the parameters chosen from x's own range (values round into
// 0..255 even with reduce_range: a tie at the top of 0..127 rounds up to 128, as in LibTorch).
InputQuant quantize_input(const float* x, int64_t n, uint8_t* q, bool reduce_range = true);

// Which dot-product kernel runs: "avx512-vnni", "avx2" or "scalar": the best the CPU has, picked once;
// $EDGECAP_INT8_KERNEL can ask for a lesser one (tests run every kernel that way).
const char* int8_kernel_name();

class Int8Linear {
 public:
  Int8Linear() = default;
  // weight: [out, in] row-major int8; scales: one per output row (or a single one for all rows);
  // bias: `out` floats or empty.
  Int8Linear(std::vector<int8_t> weight, std::vector<float> scales, std::vector<float> bias, int64_t out,
             int64_t in);

  int64_t out() const { return out_; }
  int64_t in() const { return in_; }
  std::size_t bytes() const { return weight_.size(); }

  // y[r * ldy + o] (+)= W q[r] for each of `rows` inputs of length in(), all quantized with `quant`
  // (LibTorch quantizes a whole batch with one scale). accumulate: add to y instead of overwriting it.
  // Not thread-safe (scratch is reused).
  void apply(const uint8_t* q, InputQuant quant, int64_t rows, float* y, int64_t ldy,
             bool accumulate = false) const;

  // Stacks the rows of several layers that read the same input into one (the decoder's three products
  // of h): their weights, per-row scales and biases one after another.
  static Int8Linear stack(const std::vector<const Int8Linear*>& parts);

 private:
  std::vector<int8_t> weight_;
  std::vector<float> scales_;          // per output row
  std::vector<float> bias_;            // per output row (zeros when the layer has none)
  std::vector<int32_t> row_sums_;      // sum of each weight row: removes the input zero point
  std::vector<int8_t> packed_;         // the weights in VPDPBUSD's layout (int8_linear.cpp), when that runs
  mutable std::vector<int32_t> sums_;  // scratch for the packed path: one int32 sum per (padded) row
  int64_t out_ = 0, in_ = 0;
};

}  // namespace edgecap::detail
