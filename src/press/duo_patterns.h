// DuoAttention head patterns: one score per (layer, KV head), high = the head needs the full
// context (retrieval head), low = sink + recent window suffice (streaming head). Read from a file
// (the published patterns or ours) or estimated from the mean query and key of a text, as upstream
// kvpress 0.5.5's duo_attention_on_the_fly does (see duo_attention_press.cc for the formula).
//
// Files:
//   *.tsv          DuoAttention's published full_attention_heads.tsv (mit-han-lab/duo-attention,
//                  attn_patterns/<model>/…): L rows of H_kv tab-separated values, clipped to [0, 1]
//                  on reading as upstream does; its config.json's sink_size / recent_size are the
//                  press's sink= / recent= parameters.
//   *.safetensors  f32 tensor `head_scores` [L, H_kv] (what SaveDuoPatterns writes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/config.h"
#include "model/layer_hook.h"

namespace kvpress {

struct DuoPatterns {
  int n_layers = 0, n_kv_heads = 0;
  std::vector<double> head_scores;  // [L, H_kv]
};

// NotFound / DataLoss for unreadable files, FailedPrecondition for malformed contents (ragged TSV
// rows, a missing or mis-shaped `head_scores`, a non-finite score).
StatusOr<DuoPatterns> LoadDuoPatterns(const std::string& path);
// Writes `head_scores` [L, H_kv] as f32 safetensors.
Status SaveDuoPatterns(const std::string& path, const DuoPatterns& patterns);

// Upstream's on-the-fly score of one layer for one text: mean_q [H, hd] and mean_k [H_kv, hd] are
// the mean pre-RoPE query and key over the text's tokens; both are repeated at positions 0..q_len−1
// and rotated by the model's RoPE, and the score of query head h is the mean over j of the
// cumulated softmax of the last query's logits (the area under the cumulated attention curve); the
// result is the mean over each KV head's group: [H_kv].
std::vector<double> DuoLayerScores(const ModelConfig& config, const std::vector<float>& mean_q,
                                   const std::vector<float>& mean_k, int q_len = 500);

// Upstream's on-the-fly estimate over one or more texts, as a hook that only observes: each
// forward chunk adds its tokens' pre-RoPE queries (the post-RoPE ones rotated back by their
// positions) and keys (the chunk's new cache slots, rotated back) to per-layer sums; EndSample()
// turns the sums of one text into DuoLayerScores and starts the next text.
class DuoPatternCollector : public LayerHook {
 public:
  explicit DuoPatternCollector(const ModelConfig& config);
  void AfterAttention(const LayerHookContext& ctx) override;
  // Closes the current text (no-op when it saw no token).
  void EndSample();
  // Mean over the closed texts of their scores: [L, H_kv] (zeros when none was closed).
  DuoPatterns Finish() const;
  int samples() const { return samples_; }

 private:
  ModelConfig config_;
  std::vector<float> inv_freq_;             // [hd/2]
  std::vector<std::vector<double>> sum_q_;  // [L][H·hd] Σ pre-RoPE queries of the current text
  std::vector<std::vector<double>> sum_k_;  // [L][H_kv·hd] Σ pre-RoPE keys
  std::vector<int64_t> count_;              // [L] tokens summed
  std::vector<double> total_;               // [L·H_kv] Σ over closed texts of their scores
  int samples_ = 0;
};

// Streaming-head mask [L·H_kv] (1 = streaming): the round(L·H_kv·fraction) lowest scores (round
// half to even, as Python's round; ties to the lower flat index).
std::vector<uint8_t> DuoStreamingMask(const std::vector<double>& head_scores, double fraction);

}  // namespace kvpress
