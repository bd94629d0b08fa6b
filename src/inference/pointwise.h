#pragma once
// The float loops of the native decoder steps (native_step.cpp, native_step_int8.cpp): element-wise
// functions and the FP32 matrix-vector product. Internal to edgecap_inference.
#include <cstdint>

namespace edgecap::detail::pointwise {

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

// The element-wise loops (pointwise.cpp): compiled for AVX-512, AVX2 and the baseline, the best picked at
// load time (GCC function multi-versioning). Same arithmetic in every version (no FMA contraction), so the
// results do not depend on the CPU.
void add_tanh(const float* __restrict in, const float* __restrict add, float* __restrict out, int64_t n);

// tanh(in + add) whose values next to +-1 are LibTorch's: exactly +-1 for |x| >= one (where LibTorch's
// tanh returns 1), +-0.99999994 (the float below 1) for |x| in [below, one), and below that fast_tanh kept
// under 0.99999994. The INT8 step quantizes these values, and when they span [-1, 1] the quantization
// step is 2/127, which puts +-1 and +-0.99999994 on rounding ties: the saturated values must be
// LibTorch's, bit for bit, for the int8 sums to agree with the module's (native_step_int8.cpp).
void add_tanh_saturating(const float* __restrict in, const float* __restrict add, float* __restrict out,
                         int64_t n, float below, float one);

// inout *= sigmoid(in)
void mul_sigmoid(const float* __restrict in, float* __restrict inout, int64_t n);

// nn.LSTMCell's element-wise part for one row: gates [4D] in the order i, f, g, o.
void lstm_pointwise(const float* __restrict gates, const float* __restrict c_old, float* __restrict c_new,
                    float* __restrict h_new, int64_t d);

// y[o] += sum_i w_t[i * out + o] * x[i]: a matrix-vector product with the matrix stored transposed
// ([in, out]), summed in i order for every o (the same result in every compiled version). The FP32 step's
// products: at these sizes (up to 1344 x 256) OpenBLAS's AVX2 sgemv ran at about half the AVX-512 loop's
// speed (edgecap_microbench BM_Step, docs/BENCHMARKS.md).
void add_matvec_t(const float* __restrict w_t, int64_t in, int64_t out, const float* __restrict x,
                  float* __restrict y);

}  // namespace edgecap::detail::pointwise
