#include "nodes/llm/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "nodes/llm/float_formats.h"
#include "nodes/llm/quant/rounding.h"

namespace refinery::llm::quant {
namespace {

uint16_t F16(float v) { return FloatToHalf(v); }

// The value of largest magnitude, with its sign.
float SignedMax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) amax = std::fabs(x[j]), max = x[j];
  return max;
}

// ---- legacy formats: llama.cpp's reference rounding, so files are byte-identical ----

void Q4_0(const float* x, BlockQ4_0* b) {
  const float max = SignedMax(x, 32), d = max / -8, id = d != 0 ? 1.0f / d : 0.0f;
  b->d = F16(d);
  for (int j = 0; j < 16; ++j) {
    const int lo = std::min(15, int(int8_t(x[j] * id + 8.5f)));
    const int hi = std::min(15, int(int8_t(x[j + 16] * id + 8.5f)));
    b->qs[j] = uint8_t(lo | (hi << 4));
  }
}

void Q4_1(const float* x, BlockQ4_1* b) {
  const float min = *std::min_element(x, x + 32), max = *std::max_element(x, x + 32);
  const float d = (max - min) / 15, id = d != 0 ? 1.0f / d : 0.0f;
  b->d = F16(d);
  b->m = F16(min);
  for (int j = 0; j < 16; ++j) {
    const int lo = std::min(15, int(int8_t((x[j] - min) * id + 0.5f)));
    const int hi = std::min(15, int(int8_t((x[j + 16] - min) * id + 0.5f)));
    b->qs[j] = uint8_t(lo | (hi << 4));
  }
}

void FifthBits(const int q[32], uint8_t* qs, uint8_t qh_bytes[4]) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = uint8_t((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
    qh |= uint32_t((q[j] >> 4) & 1) << j;
    qh |= uint32_t((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(qh_bytes, &qh, 4);
}

void Q5_0(const float* x, BlockQ5_0* b) {
  const float max = SignedMax(x, 32), d = max / -16, id = d != 0 ? 1.0f / d : 0.0f;
  b->d = F16(d);
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = std::min(31, int(int8_t(x[j] * id + 16.5f)));
  FifthBits(q, b->qs, b->qh);
}

void Q5_1(const float* x, BlockQ5_1* b) {
  const float min = *std::min_element(x, x + 32), max = *std::max_element(x, x + 32);
  const float d = (max - min) / 31, id = d != 0 ? 1.0f / d : 0.0f;
  b->d = F16(d);
  b->m = F16(min);
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = std::min(31, int(uint8_t((x[j] - min) * id + 0.5f)));
  FifthBits(q, b->qs, b->qh);
}

void Q8_0(const float* x, BlockQ8_0* b) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
  b->d = F16(d);
  for (int j = 0; j < 32; ++j) b->qs[j] = int8_t(RoundHalfAway(x[j] * id));
}

// ---- IQ4_NL: refinery's own fit (llama.cpp's search weighs values by their square) ----

// The level nearest x (levels ascending).
int NearestLevel(float x) {
  int best = 0;
  for (int i = 1; i < 16; ++i)
    if (std::fabs(x - kIq4NlLevels[i]) < std::fabs(x - kIq4NlLevels[best])) best = i;
  return best;
}

// Squared error of the block at scale d with every value at its nearest level; the levels in `q`.
double LevelError(const float* x, float d, uint8_t q[32]) {
  double err = 0;
  const float id = 1.0f / d;
  for (int j = 0; j < 32; ++j) {
    q[j] = uint8_t(NearestLevel(x[j] * id));
    const double e = double(x[j]) - double(d) * kIq4NlLevels[q[j]];
    err += e * e;
  }
  return err;
}

// Scales that put the largest magnitude on either end level (-127 or 113), each stretched by up
// to +-15%, then refitted by least squares to the levels they chose; the scale with the smallest
// squared error after rounding to f16 wins.
void IQ4_NL(const float* x, BlockIQ4_NL* b) {
  const float max = SignedMax(x, 32);
  uint8_t q[32] = {}, trial[32];
  float best_d = 0;
  if (max != 0) {
    double best = INFINITY;
    for (float end : {-127.0f, 113.0f}) {
      for (int step = -6; step <= 6; ++step) {
        float d = max / end * (1 + 0.025f * float(step));
        LevelError(x, d, trial);
        double sxl = 0, sll = 0;
        for (int j = 0; j < 32; ++j) {
          sxl += double(x[j]) * kIq4NlLevels[trial[j]];
          sll += double(kIq4NlLevels[trial[j]]) * kIq4NlLevels[trial[j]];
        }
        if (sll > 0 && sxl != 0) d = float(sxl / sll);
        d = HalfToFloat(F16(d));
        if (d == 0) continue;
        const double err = LevelError(x, d, trial);
        if (err < best) best = err, best_d = d, std::memcpy(q, trial, 32);
      }
    }
  }
  if (best_d == 0)  // all zero (or too small for an f16 scale): every value at the level 1 * 0
    std::fill(q, q + 32, uint8_t(8));
  b->d = F16(best_d);
  for (int j = 0; j < 16; ++j) b->qs[j] = uint8_t(q[j] | (q[j + 16] << 4));
}

// ---- K formats ----

// From a starting (scale, non-positive minimum), four rounds of: round every value to a code
// 0..nmax, then fit (scale, min) to those codes by least squares.
void RefitAffine(const float* x, int n, int nmax, float* scale, float* min) {
  float s = *scale, m = *min;
  for (int iter = 0; iter < 4; ++iter) {
    double sq = 0, sqx = 0, sumq = 0, sumx = 0;
    for (int j = 0; j < n; ++j) {
      const float q = std::clamp(RoundHalfEven((x[j] - m) / s), 0.0f, float(nmax));
      sq += q * q, sqx += q * x[j], sumq += q, sumx += x[j];
    }
    const double det = n * sq - sumq * sumq;
    if (det <= 0) break;
    const double ns = (n * sqx - sumq * sumx) / det, nm = (sumx - ns * sumq) / n;
    if (ns <= 0) break;
    const float next_s = float(ns), next_m = std::min(0.0f, float(nm));
    if (next_s == s && next_m == m) break;  // the same codes again: converged
    s = next_s;
    m = next_m;
  }
  *scale = s;
  *min = m;
}

// Scale (and non-positive minimum) of one sub-block for codes 0..nmax: start from the range,
// then refit.
void FitAffine(const float* x, int n, int nmax, float* scale, float* min) {
  const float lo = std::min(0.0f, *std::min_element(x, x + n)), hi = *std::max_element(x, x + n);
  *min = lo;
  *scale = hi > lo ? (hi - lo) / float(nmax) : 0;
  if (hi > lo) RefitAffine(x, n, nmax, scale, min);
}

// FitAffine for very few codes (Q2_K: 0..3), where the starting range decides which local
// optimum the refit ends in: start from eight shrunken ranges (the extremes of a group often
// sit between two codes) and keep the fit with the least squared error.
void FitAffineSearch(const float* x, int n, int nmax, float* scale, float* min) {
  const float lo = std::min(0.0f, *std::min_element(x, x + n)), hi = *std::max_element(x, x + n);
  FitAffine(x, n, nmax, scale, min);
  if (hi <= lo) return;
  auto error = [&](float s, float m) {
    double e = 0;
    for (int j = 0; j < n; ++j) {
      const float q = s > 0 ? std::clamp(RoundHalfEven((x[j] - m) / s), 0.0f, float(nmax)) : 0;
      e += double(q * s + m - x[j]) * double(q * s + m - x[j]);
    }
    return e;
  };
  double best = error(*scale, *min);
  for (int step = 2; step <= 16; step += 2) {
    // Shrink the range by up to 1.6 codes, then refit by least squares from there.
    float s = (hi - lo) / (float(nmax) + 0.1f * float(step));
    float m = std::min(0.0f, lo + 0.05f * float(step) * s);
    RefitAffine(x, n, nmax, &s, &m);
    const double e = error(s, m);
    if (e < best) best = e, *scale = s, *min = m;
  }
}

// Symmetric codes -nmax..nmax-1 for one group and their scale: the first guess maps the value of
// largest magnitude to -nmax; nineteen inverse scales around it are tried, and the one whose
// least-squares scale explains most of the x^2-weighted signal wins (llama.cpp's choice for
// Q6_K, with the same arithmetic in the same order, so a Q6_K tensor is byte-identical too).
float FitSymmetric(const float* x, int n, int nmax, int* codes) {
  const float max = SignedMax(x, n);
  if (std::fabs(max) < 1e-15f) {
    for (int j = 0; j < n; ++j) codes[j] = 0;
    return 0;
  }
  auto code = [&](float inv, int j) {
    return std::clamp(int(RoundHalfEven(inv * x[j])), -nmax, nmax - 1);
  };
  float scale = 0, best = 0;
  for (int k = 0; k <= 19; ++k) {
    const int step = k == 0 ? 0 : (k <= 9 ? k - 10 : k - 9);  // 0, then -9..-1, 1..9
    const float inv = step == 0 ? -float(nmax) / max : -(float(nmax) + 0.1f * float(step)) / max;
    float sumlx = 0, suml2 = 0;
    for (int j = 0; j < n; ++j) {
      const int l = code(inv, j);
      const float w = x[j] * x[j];
      sumlx += w * x[j] * float(l);
      suml2 += w * float(l) * float(l);  // (w l) l: rounded as llama.cpp rounds it
    }
    if (k == 0 || (suml2 > 0 && sumlx * sumlx > best * suml2)) {
      for (int j = 0; j < n; ++j) codes[j] = code(inv, j);
      scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
      best = scale * sumlx;
    }
  }
  return scale;
}

// FitSymmetric over a super block's sixteen 16-value groups; returns the scale of largest
// magnitude, with its sign (the super block's f16 scale is derived from it).
float FitGroupsSymmetric(const float* x, int nmax, float sc[16], int q[256]) {
  float amax = 0, max = 0;
  for (int g = 0; g < 16; ++g) {
    sc[g] = FitSymmetric(x + 16 * g, 16, nmax, q + 16 * g);
    if (std::fabs(sc[g]) > amax) amax = std::fabs(sc[g]), max = sc[g];
  }
  return max;
}

// Q2_K: sixteen 16-value groups, codes 0..3, 4-bit scales and minimums of the super block's
// f16 scale and minimum.
void Q2_K(const float* x, BlockQ2_K* b) {
  float sc[16], mn[16], max_sc = 0, max_mn = 0;
  for (int g = 0; g < 16; ++g) {
    float m;
    FitAffineSearch(x + 16 * g, 16, 3, &sc[g], &m);
    mn[g] = -m;
    max_sc = std::max(max_sc, sc[g]);
    max_mn = std::max(max_mn, mn[g]);
  }
  b->d = F16(max_sc / 15);
  b->dmin = F16(max_mn / 15);
  const float d = HalfToFloat(b->d), dmin = HalfToFloat(b->dmin);
  int q[256];
  for (int g = 0; g < 16; ++g) {
    const int isc = d > 0 ? std::clamp(int(RoundHalfEven(sc[g] / d)), 0, 15) : 0;
    const int imn = dmin > 0 ? std::clamp(int(RoundHalfEven(mn[g] / dmin)), 0, 15) : 0;
    b->scales[g] = uint8_t(isc | (imn << 4));
    // Round each value against the scale and minimum it will be decoded with.
    const float s = d * float(isc), m = dmin * float(imn);
    for (int j = 0; j < 16; ++j)
      q[16 * g + j] = s > 0 ? std::clamp(int(RoundHalfEven((x[16 * g + j] + m) / s)), 0, 3) : 0;
  }
  // Value (half, shift s, l) sits in bits 2s of byte l of its half (unpack.cc).
  std::memset(b->qs, 0, sizeof b->qs);
  for (int half = 0; half < 2; ++half)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l)
        b->qs[half * 32 + l] =
            uint8_t(b->qs[half * 32 + l] | (q[half * 128 + s * 32 + l] << (2 * s)));
}

// Q3_K: sixteen 16-value groups, codes -4..3 with 6-bit signed scales of the f16 scale. The
// code's low two bits go in qs (as Q2_K), its third bit (set for codes 0..3) in hmask.
void Q3_K(const float* x, BlockQ3_K* b) {
  float sc[16];
  int q[256];
  const float max = FitGroupsSymmetric(x, 4, sc, q), amax = std::fabs(max);
  std::memset(b, 0, sizeof *b);
  int8_t isc[16] = {};
  if (amax >= 1e-15f) {
    const float inv = -32.0f / max;
    b->d = F16(1 / inv);
    for (int g = 0; g < 16; ++g)
      isc[g] = int8_t(std::clamp(int(RoundHalfEven(inv * sc[g])), -32, 31));
  }
  const float d = HalfToFloat(b->d);
  for (int g = 0; g < 16; ++g) {
    const float s = d * float(isc[g]);
    for (int j = 0; j < 16; ++j)
      q[16 * g + j] = s != 0 ? std::clamp(int(RoundHalfEven(x[16 * g + j] / s)), -4, 3) : 0;
  }
  // The inverse of UnpackQ3Scales: low nibbles in bytes 0-7, high bit pairs in bytes 8-11.
  for (int i = 0; i < 4; ++i) {
    const int v[4] = {isc[i] + 32, isc[4 + i] + 32, isc[8 + i] + 32, isc[12 + i] + 32};
    b->scales[i] = uint8_t((v[0] & 0xF) | ((v[2] & 0xF) << 4));
    b->scales[4 + i] = uint8_t((v[1] & 0xF) | ((v[3] & 0xF) << 4));
    b->scales[8 + i] =
        uint8_t((v[0] >> 4) | ((v[1] >> 4) << 2) | ((v[2] >> 4) << 4) | ((v[3] >> 4) << 6));
  }
  for (int half = 0; half < 2; ++half)
    for (int s = 0; s < 4; ++s)
      for (int l = 0; l < 32; ++l) {
        const int v = q[half * 128 + s * 32 + l] + 4;  // 0..7
        b->qs[half * 32 + l] = uint8_t(b->qs[half * 32 + l] | ((v & 3) << (2 * s)));
        b->hmask[l] = uint8_t(b->hmask[l] | ((v >> 2) << (4 * half + s)));
      }
}

// Q4_K (nmax 15) and Q5_K (nmax 31): eight 32-value sub-blocks, 6-bit scales and minimums.
void K45(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t scales[12],
         int q[256]) {
  float sc[8], mn[8], max_sc = 0, max_mn = 0;
  for (int g = 0; g < 8; ++g) {
    float m;
    FitAffine(x + 32 * g, 32, nmax, &sc[g], &m);
    mn[g] = -m;
    max_sc = std::max(max_sc, sc[g]);
    max_mn = std::max(max_mn, mn[g]);
  }
  *d_out = F16(max_sc / 63);
  *dmin_out = F16(max_mn / 63);
  const float d = HalfToFloat(*d_out), dmin = HalfToFloat(*dmin_out);
  uint8_t isc[8], imn[8];
  for (int g = 0; g < 8; ++g) {
    isc[g] = uint8_t(d > 0 ? std::clamp(int(RoundHalfEven(sc[g] / d)), 0, 63) : 0);
    imn[g] = uint8_t(dmin > 0 ? std::clamp(int(RoundHalfEven(mn[g] / dmin)), 0, 63) : 0);
  }
  for (int j = 0; j < 4; ++j) {
    scales[j] = uint8_t((isc[j] & 63) | ((isc[j + 4] >> 4) << 6));
    scales[j + 4] = uint8_t((imn[j] & 63) | ((imn[j + 4] >> 4) << 6));
    scales[j + 8] = uint8_t((isc[j + 4] & 0xF) | ((imn[j + 4] & 0xF) << 4));
  }
  // Round each value against the scale and minimum it will be decoded with.
  for (int g = 0; g < 8; ++g) {
    const float s = d * isc[g], m = dmin * imn[g];
    for (int j = 0; j < 32; ++j)
      q[32 * g + j] = s > 0 ? std::clamp(int(RoundHalfEven((x[32 * g + j] + m) / s)), 0, nmax) : 0;
  }
}

void Q4_K(const float* x, BlockQ4_K* b) {
  int q[256];
  K45(x, 15, &b->d, &b->dmin, b->scales, q);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      b->qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
}

void Q5_K(const float* x, BlockQ5_K* b) {
  int q[256];
  K45(x, 31, &b->d, &b->dmin, b->scales, q);
  std::memset(b->qh, 0, sizeof b->qh);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) {
      const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
      b->qs[32 * c + l] = uint8_t((lo & 0xF) | ((hi & 0xF) << 4));
      b->qh[l] = uint8_t(b->qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
    }
}

// Q6_K: sixteen 16-value groups, codes -32..31 (stored +32) with int8 scales.
void Q6_K(const float* x, BlockQ6_K* b) {
  float sc[16];
  int q[256];
  const float max = FitGroupsSymmetric(x, 32, sc, q), amax = std::fabs(max);
  std::memset(b, 0, sizeof *b);
  if (amax < 1e-15f) return;
  const float inv = -128.0f / max;
  b->d = F16(1 / inv);
  for (int g = 0; g < 16; ++g) {
    b->scales[g] = int8_t(std::min(127, int(RoundHalfEven(inv * sc[g]))));
    // Round every value against the scale it is decoded with; a zero scale keeps the codes.
    const float d = HalfToFloat(b->d) * float(b->scales[g]);
    if (d == 0) {
      for (int j = 0; j < 16; ++j) q[16 * g + j] += 32;
      continue;
    }
    for (int j = 0; j < 16; ++j)
      q[16 * g + j] = std::clamp(int(RoundHalfEven(x[16 * g + j] / d)), -32, 31) + 32;
  }
  for (int half = 0; half < 2; ++half) {
    const int* v = q + 128 * half;
    uint8_t* ql = b->ql + 64 * half;
    uint8_t* qh = b->qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      ql[l] = uint8_t((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
      ql[l + 32] = uint8_t((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
      qh[l] = uint8_t((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) |
                      ((v[l + 96] >> 4) << 6));
    }
  }
}

template <typename Block>
void Blocks(const float* x, int64_t n, uint8_t* out, int values,
            void (*one)(const float*, Block*)) {
  for (int64_t b = 0; b < n / values; ++b)
    one(x + b * values, reinterpret_cast<Block*>(out + b * int64_t(sizeof(Block))));
}

}  // namespace

bool CanQuantize(Type type) {
  switch (type) {
    case Type::kF32:
    case Type::kF16:
    case Type::kBF16:
    case Type::kQ4_0:
    case Type::kQ4_1:
    case Type::kQ5_0:
    case Type::kQ5_1:
    case Type::kQ8_0:
    case Type::kQ2_K:
    case Type::kQ3_K:
    case Type::kQ4_K:
    case Type::kQ5_K:
    case Type::kQ6_K:
    case Type::kIQ4_NL:
      return true;
    default:
      return false;
  }
}

void QuantizeValues(Type type, const float* x, int64_t n, uint8_t* out) {
  switch (type) {
    case Type::kF32:
      std::memcpy(out, x, size_t(n) * 4);
      return;
    case Type::kF16:
    case Type::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = type == Type::kF16 ? FloatToHalf(x[i]) : FloatToBf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case Type::kQ4_0:
      return Blocks<BlockQ4_0>(x, n, out, 32, Q4_0);
    case Type::kQ4_1:
      return Blocks<BlockQ4_1>(x, n, out, 32, Q4_1);
    case Type::kQ5_0:
      return Blocks<BlockQ5_0>(x, n, out, 32, Q5_0);
    case Type::kQ5_1:
      return Blocks<BlockQ5_1>(x, n, out, 32, Q5_1);
    case Type::kQ8_0:
      return Blocks<BlockQ8_0>(x, n, out, 32, Q8_0);
    case Type::kIQ4_NL:
      return Blocks<BlockIQ4_NL>(x, n, out, 32, IQ4_NL);
    case Type::kQ2_K:
      return Blocks<BlockQ2_K>(x, n, out, 256, Q2_K);
    case Type::kQ3_K:
      return Blocks<BlockQ3_K>(x, n, out, 256, Q3_K);
    case Type::kQ4_K:
      return Blocks<BlockQ4_K>(x, n, out, 256, Q4_K);
    case Type::kQ5_K:
      return Blocks<BlockQ5_K>(x, n, out, 256, Q5_K);
    case Type::kQ6_K:
      return Blocks<BlockQ6_K>(x, n, out, 256, Q6_K);
    default:
      return;
  }
}

}  // namespace refinery::llm::quant
