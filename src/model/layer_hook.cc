#include "model/layer_hook.h"

#include <algorithm>

namespace kvpress {

const char* PhaseName(ForwardPhase p) {
  switch (p) {
    case ForwardPhase::kPrefill: return "prefill";
    case ForwardPhase::kQuestion: return "question";
    case ForwardPhase::kDecode: return "decode";
  }
  return "?";
}

std::vector<float> AttentionStats::ReduceGroup(const std::vector<std::vector<float>>& rows, int kv_head,
                                               Reduce r) const {
  const int first = kv_head * group;
  std::vector<float> out = rows[static_cast<size_t>(first)];
  for (int h = first + 1; h < first + group; ++h) {
    const std::vector<float>& row = rows[static_cast<size_t>(h)];
    for (size_t j = 0; j < out.size(); ++j) out[j] = r == Reduce::kMax ? std::max(out[j], row[j]) : out[j] + row[j];
  }
  if (r == Reduce::kMean) {
    for (float& v : out) v /= static_cast<float>(group);
  }
  return out;
}

}  // namespace kvpress
