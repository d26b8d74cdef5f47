#include "press/upstream_names.h"

namespace kvpress {

const std::vector<UpstreamPress>& UpstreamPresses() {
  static const std::vector<UpstreamPress> all = {
      {"BasePress", "", "abstract base class (ours: Press)"},
      {"ScorerPress", "", "abstract base class (ours: ScorerPress)"},
      {"RandomPress", "random", ""},
      {"KnormPress", "knorm", ""},
      {"StreamingLLMPress", "streaming_llm", ""},
      {"SnapKVPress", "snapkv", ""},
      {"TOVAPress", "tova", ""},
      {"ObservedAttentionPress", "observed_attention", ""},
      {"KeyDiffPress", "keydiff", ""},
      {"LagKVPress", "lagkv", ""},
      {"AdaKVPress", "adakv", ""},
      {"PyramidKVPress", "pyramidkv", ""},
      {"PerLayerCompressionPress", "per_layer", ""},
      {"ComposedPress", "composed", ""},
      {"DecodingPress", "decoding", ""},
      {"CompressionRatioDecodingPress", "compression_ratio_decoding", ""},
      {"PrefillDecodingPress", "prefill_decoding", ""},
      {"ChunkPress", "chunk", ""},
      {"ChunkKVPress", "chunkkv", ""},
      {"SimLayerKVPress", "simlayerkv", ""},
      {"ExpectedAttentionPress", "expected_attention", ""},
      {"ExpectedAttentionStatsPress", "expected_attention", ""},  // expected_attention:stats=FILE
      {"CURPress", "cur", ""},
      {"QFilterPress", "qfilter", ""},
      {"LeverageScorePress", "leverage", ""},
      {"NonCausalAttnPress", "non_causal_attention", ""},
      {"CompactorPress", "compactor", ""},
      {"CapPress", "cap", ""},
      {"LUKVPress", "lukv",
       "not yet (issue 15): needs a per-model budget-curve file (upstream downloads one)"},
      {"KVgradPress", "kvgrad",
       "not yet (issue 15): KVzip replay plus a backward pass (gradients)"},
      {"RestoreKVPress", "restorekv",
       "not yet (issue 15): needs trained LoRA adapters and restore embeddings "
       "(published only for Llama-3.1-8B and Qwen3-8B)"},
      {"KVzipPress", "kvzip", "not yet (issue 15)"},
      {"FastKVzipPress", "fastkvzip", "not yet (issue 15)"},
      {"KVzapPress", "kvzap", "not yet (issue 15)"},
      {"DuoAttentionPress", "duo_attention", "not yet (issue 15)"},
      {"DMSPress", "dms", ""},
      {"CAMPress", "cam", ""},
      {"MergingPress", "merging", ""},
      {"KVComposePress", "kvcompose", ""},
      {"ThinKPress", "think", ""},  // key channels zeroed in place, as upstream (no bytes freed)
      {"CriticalKVPress", "criticalkv", ""},
      {"CriticalAdaKVPress", "criticaladakv", ""},
      {"BlockPress", "block", ""},
      {"KeyRerotationPress", "key_rerotation", ""},
      {"FinchPress", "finch",
       "not yet (issue 14): needs the question length of a --query-aware prefill in the hook (its "
       "scoring is snapkv with the question as window, and key_rerotation, both here)"},
      {"EntropyGatedChunkKVPress", "entropy_gated_chunkkv", ""},
  };
  return all;
}

}  // namespace kvpress
