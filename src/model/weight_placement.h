// Where a loaded model's weight matrices live: in the file mapping they were loaded from (4 KiB
// pages, shared with other processes and evictable) or copied into one transparent-huge-page
// buffer (core/huge_pages.h: faster decoding, private memory).
#pragma once

#include <cstddef>
#include <string>

#include "model/weights.h"

namespace kvpress {

// What MoveWeightsToHugePages did.
struct WeightPlacement {
  bool in_huge_pages = false;  // the matrices now live in weights.resident
  size_t bytes = 0;            // matrix bytes considered (tied embeddings counted once)
  std::string reason;          // why they stayed put, when they did ("" otherwise)
  bool memory_bound = false;   // they stayed put for lack of memory (not the kernel's settings)
};

// Copies every weight matrix of `weights` (embedding, LM head, each layer's seven) into one
// HugePageBuffer, re-points the views at the copies and releases the file mappings and owned
// buffers they pointed into. Values are unchanged byte for byte. Leaves the weights where they
// are, and says why, when the kernel grants no transparent huge pages (mode "never"), when the
// matrices exceed 80 % of the available memory (a mapping can still page them from disk; a copy
// could not), or when the buffer cannot be mapped. `threads` copy in parallel.
WeightPlacement MoveWeightsToHugePages(ModelWeights& weights, int threads);

}  // namespace kvpress
