// The tensors of a loaded model, as views into memory-mapped files (or owned buffers where a
// format needs conversion). Large matrices keep their file dtype; 1-D vectors are widened to f32.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/huge_pages.h"
#include "core/mapped_file.h"
#include "ops/matmul.h"

namespace kvpress {

struct LayerWeights {
  std::vector<float> attn_norm;  // [d]
  MatrixView wq;                 // [H*hd, d]
  MatrixView wk;                 // [KV*hd, d]
  MatrixView wv;                 // [KV*hd, d]
  MatrixView wo;                 // [d, H*hd]
  std::vector<float> bq, bk, bv;  // [H*hd], [KV*hd], [KV*hd] (Qwen2), else empty
  std::vector<float> q_norm, k_norm;  // [hd] (Qwen3), else empty
  std::vector<float> ffn_norm;   // [d]
  MatrixView w_gate;             // [F, d]
  MatrixView w_up;               // [F, d]
  MatrixView w_down;             // [d, F]

  // The seven matrices above, in declaration order (for code that treats them alike: byte counts,
  // placement).
  std::array<MatrixView*, 7> Matrices() { return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down}; }
  std::array<const MatrixView*, 7> Matrices() const {
    return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down};
  }
};

struct ModelWeights {
  MatrixView embed;              // [V, d]
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;  // [d]
  MatrixView lm_head;            // [V, d] (= embed when tied)

  // Keep-alive for the memory the views point into: the file mappings and converted copies a
  // loader made, or (after MoveWeightsToHugePages, model/weight_placement.h) one huge-page buffer.
  std::vector<std::shared_ptr<MappedFile>> files;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> owned;
  std::shared_ptr<HugePageBuffer> resident;

  // Bytes read per decoded token (all matrices; the embedding row is negligible and excluded
  // unless it doubles as the LM head).
  size_t MatrixBytes() const;
};

}  // namespace kvpress
