#include "tokenizer/bpe_model.h"

#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

// A pending merge in the priority queue: HF's `Merge` ordered by (rank, pos), smallest first.
struct QueuedMerge {
  uint32_t rank;
  int32_t pos;
  int32_t new_id;
};
struct LaterMerge {  // std heap comparator: the top is the smallest (rank, pos)
  bool operator()(const QueuedMerge& a, const QueuedMerge& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

BpeModel::BpeModel(BpeOptions options, std::vector<std::string> tokens)
    : options_(options), tokens_(std::move(tokens)) {
  vocab_.Reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!tokens_[id].empty()) vocab_.Insert(tokens_[id], static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    if (options_.byte_level) {
      byte_ids_[b] = vocab_.Find(std::string(1, static_cast<char>(b)));
    } else {
      byte_ids_[b] = options_.byte_fallback ? vocab_.Find(fmt::format("<0x{:02X}>", b)) : -1;
    }
  }
}

const std::string& BpeModel::IdToToken(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= Size()) return kEmpty;
  return tokens_[static_cast<size_t>(id)];
}

void BpeModel::AddMerge(int32_t left, int32_t right, int32_t result, uint32_t rank) {
  merges_.Insert(left, right, MergeRule{rank, result});
}

Status BpeModel::AddMerge(std::string_view left, std::string_view right, uint32_t rank) {
  const int32_t l = vocab_.Find(left), r = vocab_.Find(right);
  if (l < 0 || r < 0) {
    return NotFound(fmt::format("merge {} ('{} {}'): '{}' is not in the vocabulary", rank, left,
                                right, l < 0 ? left : right));
  }
  thread_local std::string joined;
  joined.assign(left).append(right);
  const int32_t m = vocab_.Find(joined);
  if (m < 0) {
    return NotFound(
        fmt::format("merge {} ('{} {}'): the result is not in the vocabulary", rank, left, right));
  }
  merges_.Insert(l, r, MergeRule{rank, m});
  return Status::Ok();
}

void BpeModel::AddMergesFromPriorities(const std::vector<int64_t>& priority) {
  merges_.Reserve(tokens_.size() * 2);
  for (size_t id = 0; id < tokens_.size() && id < priority.size(); ++id) {
    const std::string& t = tokens_[id];
    if (priority[id] < 0 || t.size() < 2) continue;
    for (size_t cut = 1; cut < t.size(); ++cut) {
      if (!options_.byte_level && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) continue;
      const std::string_view sv(t);
      const int32_t l = vocab_.Find(sv.substr(0, cut));
      if (l < 0) continue;
      const int32_t r = vocab_.Find(sv.substr(cut));
      if (r < 0) continue;
      merges_.Insert(l, r,
                     MergeRule{static_cast<uint32_t>(priority[id]), static_cast<int32_t>(id)});
    }
  }
}

void BpeModel::InitialSymbols(std::string_view piece, std::vector<Symbol>& symbols) const {
  symbols.clear();
  int32_t unk_len = 0;  // bytes of a pending (possibly fused) unk symbol
  auto push = [&](int32_t id, uint32_t len) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, n - 1, n + 1, len});
  };
  auto flush_unk = [&] {
    if (unk_len > 0) push(options_.unk_id, static_cast<uint32_t>(unk_len));
    unk_len = 0;
  };
  auto unknown = [&](uint32_t len) {
    if (options_.unk_id < 0) return;  // no unk token: the character is dropped
    if (unk_len > 0 && !options_.fuse_unk) flush_unk();
    unk_len += static_cast<int32_t>(len);
  };
  if (options_.byte_level) {
    for (unsigned char b : piece) {
      const int32_t id = byte_ids_[b];
      if (id >= 0) {
        flush_unk();
        push(id, 1);
      } else {
        unknown(1);
      }
    }
  } else {
    size_t pos = 0;
    while (pos < piece.size()) {
      const size_t len = std::min(unicode::SequenceLength(static_cast<unsigned char>(piece[pos])),
                                  piece.size() - pos);
      const std::string_view ch = piece.substr(pos, len);
      pos += len;
      const int32_t id = vocab_.Find(ch);
      if (id >= 0) {
        flush_unk();
        push(id, static_cast<uint32_t>(len));
        continue;
      }
      if (options_.byte_fallback) {
        bool all = true;
        for (unsigned char b : ch) all = all && byte_ids_[b] >= 0;
        if (all) {
          // HF does not flush a pending unk before byte-fallback tokens; neither do we.
          for (unsigned char b : ch) push(byte_ids_[b], 1);
          continue;
        }
      }
      unknown(static_cast<uint32_t>(len));
    }
  }
  flush_unk();
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::MergeSymbols(std::vector<Symbol>& symbols) const {
  if (symbols.size() < 2 || merges_.size() == 0) return;
  thread_local std::vector<QueuedMerge> queue;
  queue.clear();
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeRule* m = merges_.Find(symbols[i].id, symbols[i + 1].id)) {
      queue.push_back(QueuedMerge{m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  std::make_heap(queue.begin(), queue.end(), LaterMerge());
  const auto n = static_cast<int32_t>(symbols.size());
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), LaterMerge());
    const QueuedMerge top = queue.back();
    queue.pop_back();
    Symbol& cur = symbols[static_cast<size_t>(top.pos)];
    if (cur.len == 0 || cur.next < 0) continue;
    const int32_t next_pos = cur.next;
    const Symbol right = symbols[static_cast<size_t>(next_pos)];
    // Skip expired entries: the pair at `pos` must still produce the queued token.
    const MergeRule* m = merges_.Find(cur.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[static_cast<size_t>(next_pos)].len = 0;
    if (right.next >= 0 && right.next < n) symbols[static_cast<size_t>(right.next)].prev = top.pos;
    if (cur.prev >= 0) {
      const Symbol& prev = symbols[static_cast<size_t>(cur.prev)];
      if (const MergeRule* pm = merges_.Find(prev.id, cur.id)) {
        queue.push_back(QueuedMerge{pm->rank, cur.prev, pm->new_id});
        std::push_heap(queue.begin(), queue.end(), LaterMerge());
      }
    }
    if (cur.next >= 0 && cur.next < n) {
      if (const MergeRule* nm = merges_.Find(cur.id, symbols[static_cast<size_t>(cur.next)].id)) {
        queue.push_back(QueuedMerge{nm->rank, top.pos, nm->new_id});
        std::push_heap(queue.begin(), queue.end(), LaterMerge());
      }
    }
  }
}

void BpeModel::Tokenize(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    const int32_t id = vocab_.Find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = piece.size() <= kMaxCachedLength;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  InitialSymbols(piece, symbols);
  MergeSymbols(symbols);
  const size_t first = out.size();
  for (const Symbol& s : symbols) {
    if (s.len != 0) out.push_back(s.id);
  }
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(
        std::string(piece),
        std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
  }
}

}  // namespace kvpress
