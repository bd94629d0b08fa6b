#include "pointwise.h"

// Vectorized loops: the clamp in fast_tanh needs -fno-trapping-math (set for this file in CMakeLists.txt)
// to be if-converted. Each function is compiled three times and the best version for the CPU is chosen
// when the library loads; measured on the INT8 step (edgecap_microbench BM_Step): 16-wide AVX-512 instead
// of the baseline's 4-wide SSE for the 8192 tanh values of each attention step.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGECAP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EDGECAP_CLONES
#endif

namespace edgecap::detail::pointwise {

EDGECAP_CLONES void add_tanh(const float* __restrict in, const float* __restrict add, float* __restrict out,
                             int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = fast_tanh(in[i] + add[i]);
}

EDGECAP_CLONES void add_tanh_saturating(const float* __restrict in, const float* __restrict add,
                                        float* __restrict out, int64_t n, float below, float one) {
  constexpr float kBelowOne = 0.99999994f, kBelowThat = 0.99999988f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = in[i] + add[i];
    const float a = x < 0.0f ? -x : x;
    float t = fast_tanh(a);
    t = t > kBelowThat ? kBelowThat : t;
    t = a >= one ? 1.0f : (a >= below ? kBelowOne : t);
    out[i] = x < 0.0f ? -t : t;
  }
}

EDGECAP_CLONES void mul_sigmoid(const float* __restrict in, float* __restrict inout, int64_t n) {
  for (int64_t i = 0; i < n; ++i) inout[i] *= fast_sigmoid(in[i]);
}

EDGECAP_CLONES void lstm_pointwise(const float* __restrict gates, const float* __restrict c_old,
                                   float* __restrict c_new, float* __restrict h_new, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    const float cell =
        fast_sigmoid(gates[d + j]) * c_old[j] + fast_sigmoid(gates[j]) * fast_tanh(gates[2 * d + j]);
    c_new[j] = cell;
    h_new[j] = fast_sigmoid(gates[3 * d + j]) * fast_tanh(cell);
  }
}

EDGECAP_CLONES void add_matvec_t(const float* __restrict w_t, int64_t in, int64_t out,
                                 const float* __restrict x, float* __restrict y) {
  for (int64_t i = 0; i < in; ++i) {
    const float xi = x[i];
    const float* __restrict row = w_t + i * out;
    for (int64_t o = 0; o < out; ++o) y[o] += row[o] * xi;
  }
}

}  // namespace edgecap::detail::pointwise
