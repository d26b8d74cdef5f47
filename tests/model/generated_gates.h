// The fastkvzip gates of scripts/goldens/make_fastkvzip_goldens.py, regenerated bit for bit (13 MB
// of f32 for SmolLM2, too large to commit): value i of the stream is splitmix64(seed + (i + 1) ·
// 0x9E3779B97F4A7C15) mapped to [0, 1) with its top 53 bits; each tensor takes the next values,
// layer by layer in the fixture's tensor order, as offset + half_width · (2u − 1) rounded to f32.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/writers.h"

namespace kvpress::testing_util {

inline double SplitMixUniform(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

// Writes the gates described by the fixture's "gates" object for a model of `n_layers`, `n_kv`
// KV heads, `group` query heads per KV head and hidden size `hidden` to `path`.
inline Status WriteGeneratedGates(const nlohmann::json& spec, int n_layers, int n_kv, int group,
                                  int hidden, const std::string& path) {
  const uint64_t seed = spec["seed"].get<uint64_t>();
  const int64_t d = spec["dim"].get<int64_t>(), s = spec["sink"].get<int64_t>();
  const int64_t kv = n_kv, g = group, D = hidden;
  std::vector<TensorToWrite> out;
  uint64_t at = 0;
  for (int l = 0; l < n_layers; ++l) {
    for (const auto& t : spec["tensors"]) {
      const std::string name = t[0].get<std::string>();
      const double offset = t[1].get<double>(), half = t[2].get<double>();
      std::vector<int64_t> shape;
      if (name == "q_proj.weight")
        shape = {kv * g * d, D};
      else if (name == "q_proj.bias")
        shape = {kv * g * d};
      else if (name == "k_proj.weight")
        shape = {kv * d, D};
      else if (name == "q_norm.weight" || name == "k_norm.weight")
        shape = {d};
      else if (name == "k_base")
        shape = {kv, 1, s, d};
      else if (name == "b")
        shape = {kv, 1, g};
      else
        return InvalidArgument("unknown gate tensor " + name);
      size_t n = 1;
      for (int64_t x : shape) n *= static_cast<size_t>(x);
      std::vector<float> v(n);
      for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<float>(offset + half * (2.0 * SplitMixUniform(seed, at + i) - 1.0));
      }
      at += n;
      TensorToWrite w;
      w.name = fmt::format("layers.{}.{}", l, name);
      w.shape = shape;
      w.bytes.resize(n * sizeof(float));
      std::memcpy(w.bytes.data(), v.data(), w.bytes.size());
      out.push_back(std::move(w));
    }
  }
  return WriteSafetensors(path, out);
}

}  // namespace kvpress::testing_util
