// Deterministic random text for the synthetic long-context benchmarks (RULER, needle in a haystack,
// InfiniteBench): a seeded generator whose stream is the same on every platform (splitmix64, no
// std:: distributions), word lists written for this project, needle values (7-digit numbers,
// adjective-noun keys, version-4 UUIDs) and a readable built-in "essay" haystack made of sentences
// drawn from those lists. None of it reproduces RULER's Python random stream or its Paul Graham
// essays: same task shapes, own text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kvpress::eval {

// A seeded 64-bit generator (splitmix64): identical streams everywhere for one seed.
class SynthRng {
 public:
  explicit SynthRng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n) (n > 0; the modulo bias is below 2^-40 for the sizes used here).
  size_t Below(size_t n);
  // Uniform in [lo, hi] (lo <= hi).
  int64_t Between(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double Unit();
  // k distinct indices of [0, n) in draw order (k <= n).
  std::vector<size_t> Distinct(size_t n, size_t k);
  template <typename T>
  void Shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  uint64_t state_;
};

// A seed for item `index` of stream `label` under run seed `seed` (FNV-1a of the label mixed in),
// so that sample i of a task is the same whatever other tasks or counts are asked for.
uint64_t DeriveSeed(uint64_t seed, std::string_view label, uint64_t index);

// Word lists (lowercase English words, no duplicates within a list).
const std::vector<std::string>& SynthAdjectives();
const std::vector<std::string>& SynthNouns();
const std::vector<std::string>& SynthVerbs();
// Adjectives + nouns + verbs, deduplicated and sorted.
const std::vector<std::string>& SynthAllWords();

// A number of `digits` digits (no leading zero), as text.
std::string RandomNumber(SynthRng& rng, int digits = 7);
// "adjective-noun", e.g. "quiet-harbor".
std::string RandomKeyWord(SynthRng& rng);
// A version-4 UUID in canonical 8-4-4-4-12 lowercase hex form.
std::string RandomUuid(SynthRng& rng);
// `n` distinct pronounceable lowercase pseudo-words (consonant-vowel syllables), for word lists
// longer than SynthAllWords().
std::vector<std::string> PseudoWords(SynthRng& rng, size_t n);

// The built-in essay haystack: `sentences` sentences of plain prose built from the word lists,
// paragraphs of 6 sentences separated by blank lines. Deterministic in `seed`.
std::string BuiltinEssay(uint64_t seed, size_t sentences);

// Whitespace-separated words of `text` (runs of whitespace collapse, as RULER's re.sub(\s+, " ")).
std::vector<std::string> SplitWords(std::string_view text);
// Sentences of `text`: split after '.', '!' or '?' followed by whitespace (a simple stand-in for
// nltk's sent_tokenize); each sentence is trimmed, empty ones dropped.
std::vector<std::string> SplitSentences(std::string_view text);
// The largest n in [lo, max_n] for which fits(n) holds, fits being monotone (true up to some n,
// false above): doubling from lo, then bisection. lo when even lo does not fit. fits' errors pass on.
StatusOr<size_t> FitLargest(size_t lo, size_t max_n, const std::function<StatusOr<bool>(size_t)>& fits);

// `items` joined with `sep`.
std::string Join(const std::vector<std::string>& items, std::string_view sep);

}  // namespace kvpress::eval
