// Block layouts of ggml's quantized weight types, as stored in GGUF files (ggml's published format,
// mirrored by the `gguf` Python package's quants.py). Every multi-byte field is little-endian; f16
// fields are kept as raw bits. A row of `cols` values is cols / kElems consecutive blocks.
#pragma once

#include <cstdint>

namespace kvpress {

// Elements in one block of the 32-wide types and of the 256-wide "K" super-blocks.
constexpr int kQBlock = 32;
constexpr int kQKBlock = 256;

// Q4_0 (ggml 2): value = d * (q - 8), q a 4-bit nibble. Element j < 16 is qs[j] & 15,
// element j + 16 is qs[j] >> 4.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
// Q4_1 (ggml 3): value = d * q + m.
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
// Q5_0 (ggml 6): value = d * (q - 16); the fifth bit of element j is bit j of qh (little-endian u32).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
// Q5_1 (ggml 7): value = d * q + m.
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
// Q2_K (ggml 10): 16 groups of 16; value = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4).
// Element e: q = qs[32*(e/128) + e%32] >> (2 * ((e%128)/32)) & 3.
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d, dmin;
};
// Q3_K (ggml 11): 16 groups of 16 with 6-bit signed scales packed in 12 bytes; value =
// d * (scale - 32) * (low2 - 4 * !hbit). hbit of element e is bit e/32 of hmask[e%32].
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
// Q4_K (ggml 12): 8 sub-blocks of 32 with 6-bit scale and min packed in 12 bytes; value =
// d * sc * q - dmin * m. Element e: q = qs[32*(e/64) + e%32] >> (4 * ((e%64)/32)) & 15.
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
// Q5_K (ggml 13): Q4_K plus a fifth bit: bit e/32 of qh[e%32].
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
// Q6_K (ggml 14): 16 groups of 16 with int8 scales; value = d * scales[g] * (q - 32), q 6-bit:
// low 4 bits ql[64*(e/128) + e%64] >> (4 * ((e%128)/64)), high 2 bits
// qh[32*(e/128) + e%32] >> (2 * ((e%128)/32)).
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
// IQ4_NL (ggml 20): Q4_0's layout, value = d * kIq4nlValues[q].
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[16];
};
// IQ4_XS (ggml 23): 8 sub-blocks of 32, 6-bit scale ls (low 4 bits in scales_l, high 2 in
// scales_h); value = d * (ls - 32) * kIq4nlValues[q]; q of element e in sub-block b = e/32:
// qs[16*b + e%16] >> (4 * ((e%32)/16)).
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[4];
  uint8_t qs[128];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
                  sizeof(BlockQ5_1) == 24 && sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 &&
                  sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 &&
                  sizeof(BlockIQ4_NL) == 18 && sizeof(BlockIQ4_XS) == 136,
              "ggml block sizes");

// The non-linear 4-bit grid of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl).
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// Unpacks the 6-bit scale and min of sub-block j (0..7) from Q4_K/Q5_K's 12 packed bytes.
inline void UnpackScaleMinK4(const uint8_t* s, int j, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// The 6-bit signed scale (already minus 32) of group g (0..15) from Q3_K's 12 packed bytes.
inline int UnpackScaleQ3K(const uint8_t* s, int g) {
  const int low = g < 8 ? (s[g] & 0xF) : (s[g - 8] >> 4);
  const int high = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace kvpress
