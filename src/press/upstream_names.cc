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
      {"LUKVPress", "lukv", ""},
      {"KVgradPress", "kvgrad",
       "absent: its score needs the gradient of an objective on the final hidden states w.r.t. "
       "every "
       "layer's attention output (a backward pass per replay chunk); the engine has no autograd "
       "and "
       "no prefill-only approximation is faithful (||grad|| is the factor that makes it KVgrad)"},
      {"RestoreKVPress", "restorekv",
       "absent: needs trained LoRA adapters and restore embeddings "
       "(published only for Llama-3.1-8B and Qwen3-8B)"},
      {"KVzipPress", "kvzip", ""},
      {"FastKVzipPress", "fastkvzip", ""},
      {"KVzapPress", "kvzap", ""},
      {"DuoAttentionPress", "duo_attention", ""},
      {"DMSPress", "dms", ""},
      {"CAMPress", "cam", ""},
      {"MergingPress", "merging", ""},
      {"KVComposePress", "kvcompose", ""},
      {"ThinKPress", "think", ""},  // pruned key channels freed (thin keys), read back as zeros
      {"CriticalKVPress", "criticalkv", ""},
      {"CriticalAdaKVPress", "criticaladakv", ""},
      {"BlockPress", "block", ""},
      {"KeyRerotationPress", "key_rerotation", ""},
      // finch: the question's length comes with the prefill (no delimiter token).
      {"FinchPress", "finch", ""},
      {"EntropyGatedChunkKVPress", "entropy_gated_chunkkv", ""},
  };
  return all;
}

}  // namespace kvpress
