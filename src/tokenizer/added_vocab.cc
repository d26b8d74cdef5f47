#include "tokenizer/added_vocab.h"

#include <algorithm>

#include "tokenizer/unicode_util.h"

namespace kvpress {
namespace {

// The regex crate's `\w$` / `^\w` on the text around a single_word match.
bool EndsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  return unicode::IsWordChar(unicode::NextChar(s, pos));
}

bool StartsWithWord(std::string_view s) {
  size_t pos = 0;
  return !s.empty() && unicode::IsWordChar(unicode::NextChar(s, pos));
}

// Start of the trailing whitespace run of `s` (`\s*$`).
size_t TrailingSpaceStart(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    if (!unicode::IsWhitespace(unicode::NextChar(s, pos))) break;
    end = start;
  }
  return end;
}

// Length of the leading whitespace run of `s` (`^\s*`).
size_t LeadingSpaceLength(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!unicode::IsWhitespace(unicode::NextChar(s, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

void AddedVocabulary::Matcher::Add(const std::string& pattern, int32_t id) {
  if (pattern.empty()) return;
  can_start[static_cast<unsigned char>(pattern[0])] = true;
  patterns.Insert(pattern, id);
  lengths.push_back(pattern.size());
}

void AddedVocabulary::Matcher::Finish() {
  std::sort(lengths.begin(), lengths.end(), std::greater<size_t>());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
}

void AddedVocabulary::Add(AddedToken token) {
  if (token.content.empty()) return;  // HF ignores empty added tokens
  by_content_.Insert(token.content, token.id);
  tokens_[token.id] = std::move(token);
}

Status AddedVocabulary::Build(const Normalizer* normalizer) {
  raw_ = Matcher();
  normalized_ = Matcher();
  normalized_form_.clear();
  std::vector<int32_t> ids;
  for (const auto& [id, t] : tokens_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int32_t id : ids) {
    const AddedToken& t = tokens_.at(id);
    if (by_content_.Find(t.content) != id) continue;  // shadowed by a later token, same content
    if (!t.normalized) {
      raw_.Add(t.content, id);
      continue;
    }
    std::string form = t.content;
    if (normalizer != nullptr) RETURN_IF_ERROR(normalizer->Normalize(form));
    if (form != t.content) normalized_form_[id] = form;
    normalized_.Add(form, id);
  }
  raw_.Finish();
  normalized_.Finish();
  return Status::Ok();
}

void AddedVocabulary::Split(std::string_view text, bool normalized_set, bool split_special,
                            std::vector<Span>& out) const {
  const size_t n = text.size();
  if (n == 0) return;
  const Matcher& m = normalized_set ? normalized_ : raw_;
  if (m.empty()) {
    out.push_back(Span{0, n, -1});
    return;
  }
  size_t start_offset = 0;
  size_t search = 0;
  while (search < n) {
    size_t mstart = n, mend = n;
    int32_t id = -1;
    for (size_t i = search; i < n && id < 0; ++i) {
      if (!m.can_start[static_cast<unsigned char>(text[i])]) continue;
      for (size_t len : m.lengths) {
        if (i + len > n) continue;
        const int32_t found = m.patterns.Find(text.substr(i, len));
        if (found >= 0) {
          id = found, mstart = i, mend = i + len;
          break;
        }
      }
    }
    if (id < 0) break;
    search = mend;
    const AddedToken& tok = tokens_.at(id);
    if (split_special && tok.special) continue;
    size_t start = mstart, stop = mend;
    if (tok.single_word) {
      const bool start_space = start == 0 || !EndsWithWord(text.substr(0, start));
      const bool stop_space = stop == n || !StartsWithWord(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(TrailingSpaceStart(text.substr(0, start)), start_offset);
    if (tok.rstrip) stop += LeadingSpaceLength(text.substr(stop));
    if (start_offset < start) out.push_back(Span{start_offset, start, -1});
    out.push_back(Span{start, stop, id});
    start_offset = stop;
  }
  if (start_offset < n) out.push_back(Span{start_offset, n, -1});
}

const AddedToken* AddedVocabulary::Find(int32_t id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

const std::string& AddedVocabulary::DecodeString(int32_t id) const {
  auto it = normalized_form_.find(id);
  if (it != normalized_form_.end()) return it->second;
  return tokens_.at(id).content;
}

std::vector<AddedToken> AddedVocabulary::Tokens() const {
  std::vector<AddedToken> out;
  for (const auto& [id, t] : tokens_) out.push_back(t);
  std::sort(out.begin(), out.end(),
            [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  return out;
}

}  // namespace kvpress
