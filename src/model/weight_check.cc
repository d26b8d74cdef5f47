#include "model/weight_check.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "ops/quant_blocks.h"

namespace kvpress {
namespace {

// True when any value of `n` IEEE values of `Bits` has an all-ones exponent (NaN or Inf).
template <typename Bits>
bool AnyNonFinite(const void* data, size_t n, Bits exponent) {
  const auto* p = static_cast<const uint8_t*>(data);
  Bits bad = 0;
  for (size_t i = 0; i < n; ++i) {
    Bits v;
    std::memcpy(&v, p + i * sizeof(Bits), sizeof(Bits));  // mapped data need not be aligned
    bad |= static_cast<Bits>((v & exponent) == exponent);
  }
  return bad != 0;
}

// Byte offsets of the f16 fields (scales, mins) inside one block of a quantized type.
const std::vector<int>& HalfFieldOffsets(DType t) {
  static const std::vector<int> kNone;
  static const std::vector<int> kD = {0}, kDM = {0, 2}, kQ2K = {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)},
                                kQ3K = {offsetof(BlockQ3_K, d)}, kQ6K = {offsetof(BlockQ6_K, d)};
  switch (t) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ5_0: case DType::kIQ4_NL: case DType::kIQ4_XS: return kD;
    case DType::kQ4_1: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K: return kDM;
    case DType::kQ2_K: return kQ2K;
    case DType::kQ3_K: return kQ3K;
    case DType::kQ6_K: return kQ6K;
    default: return kNone;
  }
}

bool RowNonFinite(DType t, const void* row, int64_t cols) {
  const size_t n = static_cast<size_t>(cols);
  switch (t) {
    case DType::kF32: return AnyNonFinite<uint32_t>(row, n, 0x7f800000u);
    case DType::kF16: return AnyNonFinite<uint16_t>(row, n, 0x7c00u);
    case DType::kBF16: return AnyNonFinite<uint16_t>(row, n, 0x7f80u);
    default: {  // block types: only their f16 scales/mins can be non-finite (the rest are integers)
      const std::vector<int>& offsets = HalfFieldOffsets(t);
      const auto* p = static_cast<const uint8_t*>(row);
      const size_t block_bytes = static_cast<size_t>(BlockBytes(t));
      uint16_t bad = 0;
      for (size_t b = 0; b < n / static_cast<size_t>(BlockElems(t)); ++b) {
        for (int off : offsets) {
          uint16_t h;
          std::memcpy(&h, p + b * block_bytes + static_cast<size_t>(off), sizeof h);
          bad |= static_cast<uint16_t>((h & 0x7c00u) == 0x7c00u);
        }
      }
      return bad != 0;
    }
  }
}

// The first row of `m` holding a NaN or Inf.
std::optional<int64_t> FirstBadRow(const MatrixView& m) {
  if (m.data == nullptr) return std::nullopt;
  for (int64_t r = 0; r < m.rows; ++r) {
    if (RowNonFinite(m.dtype, m.Row(r), m.cols)) return r;
  }
  return std::nullopt;
}

Status Bad(const std::string& origin, const std::string& tensor, int64_t index, const char* unit) {
  return DataLoss(fmt::format("{}: tensor {} holds a non-finite value (NaN or Inf) at {} {}; the file is damaged "
                              "(--no-check skips this check)",
                              origin, tensor, unit, index));
}

Status CheckVector(const std::vector<float>& v, const std::string& origin, const std::string& tensor) {
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], sizeof bits);
    if ((bits & 0x7f800000u) == 0x7f800000u) return Bad(origin, tensor, static_cast<int64_t>(i), "element");
  }
  return Status::Ok();
}

Status CheckMatrix(const MatrixView& m, const std::string& origin, const std::string& tensor) {
  const std::optional<int64_t> row = FirstBadRow(m);
  return row ? Bad(origin, tensor, *row, "row") : Status::Ok();
}

}  // namespace

Status CheckWeightsFinite(const ModelWeights& w, const std::string& origin) {
  RETURN_IF_ERROR(CheckMatrix(w.embed, origin, "'embed' (token embeddings)"));
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& L = w.layers[l];
    const auto name = [l](const char* part) { return fmt::format("'layers.{}.{}'", l, part); };
    const std::pair<const MatrixView*, const char*> matrices[] = {
        {&L.wq, "wq (q_proj)"},       {&L.wk, "wk (k_proj)"},     {&L.wv, "wv (v_proj)"},
        {&L.wo, "wo (o_proj)"},       {&L.w_gate, "w_gate (gate_proj)"}, {&L.w_up, "w_up (up_proj)"},
        {&L.w_down, "w_down (down_proj)"}};
    for (const auto& [m, part] : matrices) RETURN_IF_ERROR(CheckMatrix(*m, origin, name(part)));
    const std::pair<const std::vector<float>*, const char*> vectors[] = {
        {&L.attn_norm, "attn_norm"}, {&L.ffn_norm, "ffn_norm"}, {&L.bq, "bq"},         {&L.bk, "bk"},
        {&L.bv, "bv"},               {&L.q_norm, "q_norm"},     {&L.k_norm, "k_norm"}};
    for (const auto& [v, part] : vectors) RETURN_IF_ERROR(CheckVector(*v, origin, name(part)));
  }
  RETURN_IF_ERROR(CheckVector(w.final_norm, origin, "'final_norm'"));
  if (w.lm_head.data != w.embed.data) RETURN_IF_ERROR(CheckMatrix(w.lm_head, origin, "'lm_head'"));
  return Status::Ok();
}

}  // namespace kvpress
