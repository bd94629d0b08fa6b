#include "int8_linear.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDGECAP_X86 1
#endif

namespace edgecap::detail {

namespace {

// sum_k q[k] * w[k], exact in int32 (|sum| <= 255 * 128 * k, fine for k < 65,000).
using DotFn = int32_t (*)(const uint8_t* q, const int8_t* w, int64_t k);

int32_t dot_scalar(const uint8_t* q, const int8_t* w, int64_t k) {
  int32_t acc = 0;
  for (int64_t i = 0; i < k; ++i) acc += static_cast<int32_t>(q[i]) * static_cast<int32_t>(w[i]);
  return acc;
}

#ifdef EDGECAP_X86
// u8 x s8 -> i32 with one instruction per 64 products (VPDPBUSD). GCC 12's _mm512_reduce_add_epi32 reads
// an intentionally undefined register and warns about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t dot_avx512_vnni(const uint8_t* q,
                                                                               const int8_t* w, int64_t k) {
  __m512i acc = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 64 <= k; i += 64)
    acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(q + i), _mm512_loadu_si512(w + i));
  int32_t sum = _mm512_reduce_add_epi32(acc);
  for (; i < k; ++i) sum += static_cast<int32_t>(q[i]) * static_cast<int32_t>(w[i]);
  return sum;
}
#pragma GCC diagnostic pop

// Both operands widened to int16 and multiplied pairwise into int32 (VPMADDWD): exact, unlike
// VPMADDUBSW, whose int16 pair sums saturate for u8 x s8.
__attribute__((target("avx2"))) int32_t dot_avx2(const uint8_t* q, const int8_t* w, int64_t k) {
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
    const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  int32_t sum = _mm_cvtsi128_si32(s);
  for (; i < k; ++i) sum += static_cast<int32_t>(q[i]) * static_cast<int32_t>(w[i]);
  return sum;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline __m512i broadcast_four(const uint8_t* q) {
  int32_t four;
  std::memcpy(&four, q, 4);
  return _mm512_set1_epi32(four);
}

// The packed layout for VPDPBUSD: blocks of 16 output rows, and within a block, for each group of 4
// inputs, the 16 rows' 4 weights side by side ([block][ceil(in / 4)][16][4], zero-padded). One instruction
// then adds 4 products to each of 16 outputs, with the 4 input bytes broadcast: no horizontal sums at all.
// `in` need not be a multiple of 4 (pruned layers are not): the last group's missing input bytes are read
// as zeros, never past q[in - 1].
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void gemv_packed_vnni(const uint8_t* q,
                                                                             const int8_t* packed,
                                                                             int64_t blocks, int64_t in,
                                                                             int32_t* out) {
  const int64_t full = in / 4, groups = (in + 3) / 4;
  int32_t last = 0;
  std::memcpy(&last, q + 4 * full, static_cast<std::size_t>(in - 4 * full));
  const __m512i tail = _mm512_set1_epi32(last);
  for (int64_t b = 0; b < blocks; ++b) {
    const int8_t* w = packed + b * groups * 64;
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();
    int64_t g = 0;
    for (; g + 4 <= full; g += 4) {  // four chains: VPDPBUSD's latency is several cycles
      a0 = _mm512_dpbusd_epi32(a0, broadcast_four(q + 4 * g), _mm512_loadu_si512(w + 64 * g));
      a1 = _mm512_dpbusd_epi32(a1, broadcast_four(q + 4 * (g + 1)), _mm512_loadu_si512(w + 64 * (g + 1)));
      a2 = _mm512_dpbusd_epi32(a2, broadcast_four(q + 4 * (g + 2)), _mm512_loadu_si512(w + 64 * (g + 2)));
      a3 = _mm512_dpbusd_epi32(a3, broadcast_four(q + 4 * (g + 3)), _mm512_loadu_si512(w + 64 * (g + 3)));
    }
    for (; g < full; ++g)
      a0 = _mm512_dpbusd_epi32(a0, broadcast_four(q + 4 * g), _mm512_loadu_si512(w + 64 * g));
    if (groups > full) a1 = _mm512_dpbusd_epi32(a1, tail, _mm512_loadu_si512(w + 64 * full));
    const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
    _mm512_storeu_si512(out + 16 * b, sum);
  }
}

bool cpu_has_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2"))) void min_max_avx2(const float* x, int64_t n, float& lo, float& hi) {
  __m256 vlo = _mm256_set1_ps(x[0]), vhi = vlo;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, vlo);
  _mm256_store_ps(h, vhi);
  lo = l[0];
  hi = h[0];
  for (int j = 1; j < 8; ++j) {
    lo = std::min(lo, l[j]);
    hi = std::max(hi, h[j]);
  }
  for (; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
}

// The same arithmetic as the scalar loop in quantize_input: a multiply, an add (no FMA: its single
// rounding would move ties), round half to even, clamp.
__attribute__((target("avx2"))) int64_t quantize_avx2(const float* x, int64_t n, float inverse,
                                                      float zero_point, uint8_t* q) {
  const __m256 inv = _mm256_set1_ps(inverse), zp = _mm256_set1_ps(zero_point);
  const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), zp);
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    const __m256i as_int = _mm256_cvtps_epi32(v);
    const __m128i words =
        _mm_packus_epi32(_mm256_castsi256_si128(as_int), _mm256_extracti128_si256(as_int, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packus_epi16(words, words));
  }
  return i;  // the caller does the rest
}
#endif

struct Kernel {
  DotFn dot;
  const char* name;
  bool packed = false;         // VPDPBUSD on the packed layout for layers that allow it
  bool avx2_quantize = false;  // the AVX2 input quantization
};

// The best kernel this CPU has; $EDGECAP_INT8_KERNEL (scalar | avx2 | avx512-vnni) picks a lesser one, for
// tests of every path on one machine and for comparing them (a kernel the CPU lacks is not taken).
Kernel pick_kernel() {
  const char* forced = std::getenv("EDGECAP_INT8_KERNEL");
  const std::string want = forced ? forced : "";
  Kernel k{dot_scalar, "scalar"};
  if (want == "scalar") return k;
#ifdef EDGECAP_X86
  if (cpu_has_avx2()) k = {dot_avx2, "avx2", false, true};
  if (want == "avx2") return k;
  if (cpu_has_vnni()) k = {dot_avx512_vnni, "avx512-vnni", true, true};
#endif
  return k;
}

const Kernel& kernel() {
  static const Kernel k = pick_kernel();
  return k;
}

}  // namespace

const char* int8_kernel_name() { return kernel().name; }

InputQuant choose_input_quant(float min, float max, bool reduce_range) {
  const int32_t qmin = 0, qmax = reduce_range ? 127 : 255;
  constexpr float kSmallScale = 6.1e-5f;  // LibTorch's SMALL_SCALE_THRESHOLD (a float)
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  double scale = (static_cast<double>(max) - min) / (qmax - qmin);
  if (static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) scale = 0.1;
  if (scale < kSmallScale) {
    const auto original = static_cast<float>(scale);
    scale = kSmallScale;
    if (min == 0.0f) {
      max = kSmallScale * static_cast<float>(qmax - qmin);
    } else if (max == 0.0f) {
      min = -kSmallScale * static_cast<float>(qmax - qmin);
    } else {
      const float amplifier = kSmallScale / original;
      min *= amplifier;
      max *= amplifier;
    }
  }
  const double from_min = qmin - min / scale, from_max = qmax - max / scale;
  const double error_min = std::abs(qmin) - std::abs(min / scale);
  const double error_max = std::abs(qmax) - std::abs(max / scale);
  const double initial = error_min < error_max ? from_min : from_max;
  InputQuant out;
  out.scale = scale;
  out.zero_point = initial < qmin   ? qmin
                   : initial > qmax ? qmax
                                    : static_cast<int32_t>(std::nearbyint(initial));
  return out;
}

InputQuant quantize_input(const float* x, int64_t n, uint8_t* q, bool reduce_range) {
  const bool avx2 = kernel().avx2_quantize;
  float lo = 0.0f, hi = 0.0f;
  if (n > 0) {
#ifdef EDGECAP_X86
    if (avx2 && n >= 8) {
      min_max_avx2(x, n, lo, hi);
    } else
#endif
    {
      lo = hi = x[0];
      for (int64_t i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
      }
    }
  }
  const InputQuant quant = choose_input_quant(lo, hi, reduce_range);
  // x / scale + zero_point rounded half to even, in float, clamped to uint8 -- how onednn's dynamic Linear
  // quantizes its input (checked against it, tests/inference/int8_linear_test.cpp). The order matters for
  // ties: a saturated tanh gives exactly +-1.0, which can land on .5.
  const auto inverse = static_cast<float>(1.0 / quant.scale);
  const auto zero_point = static_cast<float>(quant.zero_point);
  int64_t i = 0;
#ifdef EDGECAP_X86
  if (avx2) i = quantize_avx2(x, n, inverse, zero_point, q);
#endif
  for (; i < n; ++i) {
    const float v = std::nearbyint(x[i] * inverse + zero_point);
    q[i] = static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v)));
  }
  return quant;
}

Int8Linear::Int8Linear(std::vector<int8_t> weight, std::vector<float> scales, std::vector<float> bias,
                       int64_t out, int64_t in)
    : weight_(std::move(weight)), scales_(std::move(scales)), bias_(std::move(bias)), out_(out), in_(in) {
  if (out <= 0 || in <= 0 || static_cast<int64_t>(weight_.size()) != out * in)
    throw std::invalid_argument("Int8Linear: weight is not [out, in]");
  if (scales_.size() == 1) scales_.assign(static_cast<std::size_t>(out), scales_[0]);
  if (static_cast<int64_t>(scales_.size()) != out)
    throw std::invalid_argument("Int8Linear: need one weight scale, or one per output row");
  if (bias_.empty()) bias_.assign(static_cast<std::size_t>(out), 0.0f);
  if (static_cast<int64_t>(bias_.size()) != out) throw std::invalid_argument("Int8Linear: bias is not [out]");
  row_sums_.resize(static_cast<std::size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    int32_t sum = 0;
    for (int64_t i = 0; i < in; ++i) sum += weight_[static_cast<std::size_t>(o * in + i)];
    row_sums_[static_cast<std::size_t>(o)] = sum;
  }
#ifdef EDGECAP_X86
  if (kernel().packed && out >= 16) {
    const int64_t blocks = (out + 15) / 16, groups = (in + 3) / 4;
    packed_.assign(static_cast<std::size_t>(blocks * groups * 64), 0);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i)
        packed_[static_cast<std::size_t>(((o / 16 * groups + i / 4) * 16 + o % 16) * 4 + i % 4)] =
            weight_[static_cast<std::size_t>(o * in + i)];
    sums_.resize(static_cast<std::size_t>(blocks * 16));
  }
#endif
}

void Int8Linear::apply(const uint8_t* q, InputQuant quant, int64_t rows, float* y, int64_t ldy,
                       bool accumulate) const {
  const DotFn dot = kernel().dot;
  const auto input_scale = static_cast<float>(quant.scale);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* qr = q + r * in_;
    float* yr = y + r * ldy;
#ifdef EDGECAP_X86
    if (!packed_.empty()) {
      gemv_packed_vnni(qr, packed_.data(), static_cast<int64_t>(sums_.size()) / 16, in_, sums_.data());
      for (int64_t o = 0; o < out_; ++o) {
        const auto idx = static_cast<std::size_t>(o);
        const int32_t acc = sums_[idx] - quant.zero_point * row_sums_[idx];
        const float value = static_cast<float>(acc) * (input_scale * scales_[idx]) + bias_[idx];
        yr[o] = accumulate ? yr[o] + value : value;
      }
      continue;
    }
#endif
    for (int64_t o = 0; o < out_; ++o) {
      const auto idx = static_cast<std::size_t>(o);
      const int32_t acc = dot(qr, weight_.data() + o * in_, in_) - quant.zero_point * row_sums_[idx];
      const float value = static_cast<float>(acc) * (input_scale * scales_[idx]) + bias_[idx];
      yr[o] = accumulate ? yr[o] + value : value;
    }
  }
}

Int8Linear Int8Linear::stack(const std::vector<const Int8Linear*>& parts) {
  if (parts.empty()) throw std::invalid_argument("Int8Linear::stack: nothing to stack");
  const int64_t in = parts.front()->in_;
  std::vector<int8_t> weight;
  std::vector<float> scales, bias;
  int64_t out = 0;
  for (const Int8Linear* p : parts) {
    if (p->in_ != in) throw std::invalid_argument("Int8Linear::stack: layers read inputs of other sizes");
    weight.insert(weight.end(), p->weight_.begin(), p->weight_.end());
    scales.insert(scales.end(), p->scales_.begin(), p->scales_.end());
    bias.insert(bias.end(), p->bias_.begin(), p->bias_.end());
    out += p->out_;
  }
  return Int8Linear(std::move(weight), std::move(scales), std::move(bias), out, in);
}

}  // namespace edgecap::detail
