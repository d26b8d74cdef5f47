#include "model/weights.h"

namespace kvpress {

size_t ModelWeights::MatrixBytes() const {
  size_t total = lm_head.Bytes();
  for (const LayerWeights& l : layers) {
    total += l.wq.Bytes() + l.wk.Bytes() + l.wv.Bytes() + l.wo.Bytes() + l.w_gate.Bytes() +
             l.w_up.Bytes() + l.w_down.Bytes();
  }
  return total;
}

}  // namespace kvpress
