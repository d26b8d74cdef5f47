// Query statistics of a model over calibration text, for the presses that model future queries:
// expected_attention:stats=FILE (mean and covariance of the pre-RoPE queries per layer and head, as
// upstream kvpress's ExpectedAttentionStats) and qfilter:filters=FILE (Q-Filters: per layer and KV
// head the principal direction of the post-RoPE queries of the head's group).
//
// File format (safetensors, f32, written by `kvpress stats`):
//   query_mean     [L, H, hd]       mean of the pre-RoPE queries (positions >= n_sink)
//   query_cov      [L, H, hd, hd]   their covariance (population, 1/m); optional when reading
//   query_filters  [L, KV, hd]      unit top eigenvector of Σ q qᵀ over the group's post-RoPE
//                                   queries, signed so that the mean query projects positively
//   n_queries      [L]              queries per layer that went into the statistics
// query_mean / query_cov carry upstream's tensor names and shapes, so a statistics file of
// upstream's (its model.safetensors) loads too (without filters).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "model/config.h"
#include "model/layer_hook.h"

namespace kvpress {

struct QueryStats {
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  std::vector<float> mean;       // [L, H, hd]
  std::vector<float> cov;        // [L, H, hd, hd] (empty when the file has none)
  std::vector<float> filters;    // [L, KV, hd] (empty when the file has none)
  std::vector<float> n_queries;  // [L]

  // FailedPrecondition naming the mismatch when the statistics were not made for this shape.
  Status CheckShape(const ModelConfig& config, bool need_filters, bool need_cov) const;
};

Status SaveQueryStats(const std::string& path, const QueryStats& stats);
// NotFound / DataLoss for unreadable files, FailedPrecondition for missing or malformed tensors.
StatusOr<QueryStats> LoadQueryStats(const std::string& path);

// A hook that only observes: accumulates Σq and Σqqᵀ of the pre-RoPE queries of every head (tokens
// at positions >= n_sink) and Σqqᵀ of the post-RoPE queries of each KV head's group, in double.
class QueryStatsCollector : public LayerHook {
 public:
  QueryStatsCollector(const ModelConfig& config, int n_sink);
  void AfterAttention(const LayerHookContext& ctx) override;
  // Mean, covariance and filters of everything observed so far.
  QueryStats Finish() const;

 private:
  ModelConfig config_;
  int n_sink_;
  std::vector<float> inv_freq_;    // [hd/2]
  std::vector<double> count_;      // [L]
  std::vector<double> sum_;        // [L, H, hd]
  std::vector<double> sum_sq_;     // [L, H, hd, hd] pre-RoPE
  std::vector<double> group_sq_;   // [L, KV, hd, hd] post-RoPE
  std::vector<double> group_sum_;  // [L, KV, hd] post-RoPE
};

// R̄ [hd, hd]: the RoPE rotation of `config`'s style averaged over positions q_len ..
// q_len+n_future−1 (per rotary pair [[c̄, −s̄], [s̄, c̄]], c̄ = mean cos(p·θ_i)), angles in f32 as HF's
// rotary embedding computes them (position · inv_freq), cos/sin rounded to f32. Used by
// expected_attention and cap.
std::vector<double> AverageRopeRotation(const ModelConfig& config,
                                        const std::vector<float>& inv_freq, int q_len,
                                        int n_future);

// Eigenvector of the largest eigenvalue of the symmetric matrix a [n, n] (cyclic Jacobi), unit
// norm.
std::vector<double> TopEigenvector(std::vector<double> a, int n);

}  // namespace kvpress
