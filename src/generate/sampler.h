// Next-token selection from logits: greedy, or temperature / top-k / top-p / min-p sampling with a
// repetition penalty, driven by a seeded, platform-independent RNG.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace kvpress {

struct SamplerParams {
  float temperature = 0.0f;        // 0 = greedy (ties -> lowest id)
  int top_k = 0;                   // 0 = off
  float top_p = 1.0f;              // 1 = off
  float min_p = 0.0f;              // 0 = off; keep tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f; // 1 = off; HF semantics over previously seen tokens
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // Picks the next token from `logits` [V]; `history` are the tokens seen so far (prompt and
  // generated), used by the repetition penalty. `logits` is used as scratch.
  int32_t Sample(std::span<float> logits, std::span<const int32_t> history);

  // Index of the largest value, lowest index on ties.
  static int32_t Argmax(std::span<const float> logits);

 private:
  double NextUniform();  // [0, 1), 53 bits from mt19937_64 (identical on every platform)

  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace kvpress
