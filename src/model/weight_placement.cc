#include "model/weight_placement.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "core/check.h"
#include "core/huge_pages.h"
#include "core/thread_pool.h"

namespace kvpress {
namespace {

// Every matrix view of the model, the tied LM head included (it may share the embedding's data).
std::vector<MatrixView*> AllMatrices(ModelWeights& w) {
  std::vector<MatrixView*> out = {&w.embed, &w.lm_head};
  for (LayerWeights& l : w.layers) {
    for (MatrixView* m : l.Matrices()) out.push_back(m);
  }
  return out;
}

constexpr size_t kMatrixAlign = 64;  // a cache line: more than any kernel needs of a row start

size_t AlignUp(size_t n) { return (n + kMatrixAlign - 1) / kMatrixAlign * kMatrixAlign; }

}  // namespace

WeightPlacement MoveWeightsToHugePages(ModelWeights& weights, int threads) {
  WeightPlacement result;
  const std::vector<MatrixView*> views = AllMatrices(weights);
  // Distinct source regions (start, bytes) -> offset in the buffer. Tied embeddings are one region;
  // views of a malformed file may alias with different sizes, and are then copied apart.
  std::map<std::pair<const void*, size_t>, size_t> offsets;
  std::vector<const MatrixView*> sources;
  size_t total = 0;
  for (const MatrixView* m : views) {
    if (m->data == nullptr || m->Bytes() == 0) continue;
    if (!offsets.emplace(std::pair{m->data, m->Bytes()}, total).second)
      continue;  // tied: copied once
    sources.push_back(m);
    result.bytes += m->Bytes();
    total += AlignUp(m->Bytes());
  }
  if (total == 0) {
    result.reason = "no weight matrices";
    return result;
  }
  const HugePageMode mode = ReadHugePageMode();
  if (mode == HugePageMode::kNever) {
    result.reason =
        "transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled: never)";
    return result;
  }
  const size_t available = AvailableMemoryBytes();
  if (available > 0 && total > available / 5 * 4) {
    result.reason =
        fmt::format("the weights ({:.1f} GiB) exceed 80% of the available memory ({:.1f} GiB)",
                    total / 1073741824.0, available / 1073741824.0);
    result.memory_bound = true;
    return result;
  }
  std::shared_ptr<HugePageBuffer> buffer = HugePageBuffer::Allocate(total);
  if (buffer == nullptr) {
    result.reason =
        fmt::format("mapping {:.1f} GiB of anonymous memory failed", total / 1073741824.0);
    result.memory_bound = true;
    return result;
  }
  // Copy in 2 MiB pieces across threads: the first write to each huge page faults it in (and
  // zeroes it), which is most of the cost and parallelises like the copy itself.
  struct Piece {
    const uint8_t* from;
    uint8_t* to;
    size_t bytes;
  };
  std::vector<Piece> pieces;
  for (const MatrixView* m : sources) {
    const auto* from = static_cast<const uint8_t*>(m->data);
    uint8_t* to = buffer->data() + offsets.at({m->data, m->Bytes()});
    for (size_t done = 0; done < m->Bytes(); done += HugePageBuffer::kHugePageBytes) {
      pieces.push_back(
          {from + done, to + done, std::min(HugePageBuffer::kHugePageBytes, m->Bytes() - done)});
    }
  }
  ParallelFor(static_cast<int64_t>(pieces.size()), threads, [&](int64_t i) {
    const Piece& p = pieces[static_cast<size_t>(i)];
    std::memcpy(p.to, p.from, p.bytes);
  });
  for (MatrixView* m : views) {
    if (m->data == nullptr || m->Bytes() == 0) continue;
    auto it = offsets.find({m->data, m->Bytes()});
    CHECK(it != offsets.end());
    m->data = buffer->data() + it->second;
  }
  weights.files.clear();  // the views no longer point into them
  weights.owned.clear();
  weights.resident = std::move(buffer);
  result.in_huge_pages = true;
  return result;
}

}  // namespace kvpress
