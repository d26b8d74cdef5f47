#include "press/projected_value_norms.h"

#include <cmath>
#include <limits>

#include "core/check.h"
#include "ops/dtype.h"
#include "ops/matmul.h"

namespace kvpress {
namespace {

constexpr int kBatchRows = 8;  // new slots from which one MatMul beats row dot products

}  // namespace

std::span<const float> ProjectedValueNorms::For(const LayerHookContext& ctx, int kv_head,
                                                int n_heads) {
  CHECK(ctx.wo != nullptr)
      << "CriticalKV needs the layer's output projection (LayerHookContext::wo)";
  const KVCache& cache = *ctx.cache;
  const int n_kv = cache.n_kv_heads(), hd = cache.head_dim();
  const size_t index =
      static_cast<size_t>(ctx.layer) * static_cast<size_t>(n_kv) + static_cast<size_t>(kv_head);
  if (heads_.size() <= index) heads_.resize(index + 1);
  Head& head = heads_[index];
  const std::span<const int32_t> pos = cache.Positions(ctx.layer, kv_head);
  const size_t n = pos.size();

  // Re-sync by position: reuse stored norms, list the slots to compute.
  std::vector<float> norms(n, 0.0f);  // [n]
  std::vector<int> missing;
  size_t i = 0;
  for (size_t j = 0; j < n; ++j) {
    while (i < head.positions.size() && head.positions[i] < pos[j]) ++i;
    if (i < head.positions.size() && head.positions[i] == pos[j]) {
      norms[j] = head.norms[i];
    } else {
      missing.push_back(static_cast<int>(j));
    }
  }

  if (!missing.empty()) {
    const MatrixView& wo = *ctx.wo;
    const int64_t d = wo.rows;
    CHECK_EQ(wo.cols, static_cast<int64_t>(n_heads) * hd);
    // The f32 rows of W_o: the model's own when it is f32, else widened once for this call.
    const void* base = wo.data;
    size_t row_bytes = wo.row_bytes;
    if (wo.dtype != DType::kF32) {
      wo_f32_.resize(static_cast<size_t>(d * wo.cols));
      for (int64_t r = 0; r < d; ++r) {
        DequantizeRow(wo.dtype, wo.Row(r), wo_f32_.data() + static_cast<size_t>(r * wo.cols),
                      static_cast<size_t>(wo.cols));
      }
      base = wo_f32_.data();
      row_bytes = static_cast<size_t>(wo.cols) * sizeof(float);
    }
    const int m = static_cast<int>(missing.size());
    std::vector<float> values(static_cast<size_t>(m) * hd);  // [m, hd]
    for (int t = 0; t < m; ++t)
      cache.ValueAt(ctx.layer, kv_head, missing[static_cast<size_t>(t)],
                    values.data() + static_cast<size_t>(t) * hd);
    std::vector<double> sum(static_cast<size_t>(m), 0.0);      // Σ_h ‖W_o^(h) v‖₁
    std::vector<float> projected(static_cast<size_t>(m * d));  // [m, d]
    const int group = n_heads / n_kv;
    for (int h = kv_head * group; h < (kv_head + 1) * group; ++h) {
      // Query head h's slice: rows of W_o, columns [h·hd, (h+1)·hd) — a strided [d, hd] view.
      const MatrixView slice{
          DType::kF32, d, hd,
          static_cast<const float*>(base) + static_cast<size_t>(h) * static_cast<size_t>(hd),
          row_bytes};
      if (m >= kBatchRows) {
        MatMul(slice, values.data(), m, projected.data(), 1, /*exact_float=*/true);
      } else {  // a decoding step's one or two new slots: row dot products, no GEMM set-up
        for (int t = 0; t < m; ++t) {
          for (int64_t r = 0; r < d; ++r) {
            projected[static_cast<size_t>(t * d + r)] =
                DotF32(static_cast<const float*>(slice.Row(r)),
                       values.data() + static_cast<size_t>(t) * hd, static_cast<size_t>(hd));
          }
        }
      }
      for (int t = 0; t < m; ++t) {
        double l1 = 0.0;
        const float* y = projected.data() + static_cast<size_t>(t * d);
        for (int64_t r = 0; r < d; ++r) l1 += std::fabs(static_cast<double>(y[r]));
        sum[static_cast<size_t>(t)] += l1;
      }
    }
    for (int t = 0; t < m; ++t)
      norms[static_cast<size_t>(missing[static_cast<size_t>(t)])] =
          static_cast<float>(sum[static_cast<size_t>(t)] / group);
  }
  head.positions.assign(pos.begin(), pos.end());
  head.norms = std::move(norms);
  return head.norms;
}

}  // namespace kvpress

namespace kvpress {

void CriticalRescale(std::vector<float>& scores, std::span<const float> norms,
                     std::span<const int> forced, double epsilon) {
  CHECK_EQ(scores.size(), norms.size());
  for (size_t j = 0; j < scores.size(); ++j) {
    if (std::isinf(scores[j]) && scores[j] > 0) continue;
    scores[j] = (scores[j] + static_cast<float>(epsilon)) * norms[j];
  }
  for (int j : forced) scores[static_cast<size_t>(j)] = std::numeric_limits<float>::infinity();
}

}  // namespace kvpress
