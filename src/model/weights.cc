#include "model/weights.h"

namespace kvpress {

size_t ModelWeights::MatrixBytes() const {
  size_t total = lm_head.Bytes();
  for (const LayerWeights& l : layers) {
    for (const MatrixView* m : l.Matrices()) total += m->Bytes();
  }
  return total;
}

}  // namespace kvpress
