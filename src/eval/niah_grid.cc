#include "eval/niah_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "eval/synth_text.h"

namespace kvpress::eval {
namespace {

std::vector<std::string_view> SplitList(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(sep, start), text.size());
    std::string_view part = text.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

bool ParseInt(std::string_view s, int& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

struct Built {
  std::string context, question, answer_prefix, value;
};

// The prompt with `words` haystack words and the needle after depth% of the sentences.
Built Build(const std::vector<std::string>& essay, size_t words, int depth, SynthRng& rng) {
  Built b;
  const std::string key = RandomKeyWord(rng);
  b.value = RandomNumber(rng, 7);
  std::vector<std::string> cut;
  cut.reserve(words);
  for (size_t i = 0; i < words; ++i) cut.push_back(essay[i % essay.size()]);
  std::vector<std::string> sents = SplitSentences(Join(cut, " "));
  const auto at = static_cast<size_t>(std::lround(static_cast<double>(sents.size()) * depth / 100.0));
  sents.insert(sents.begin() + static_cast<std::ptrdiff_t>(std::min(at, sents.size())),
               fmt::format("One of the special magic numbers for {} is: {}.", key, b.value));
  b.context = "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you "
              "about the number afterwards.\n" +
              Join(sents, " ") + "\n";
  b.question = fmt::format("What is the special magic number for {} mentioned in the provided text? ", key);
  b.answer_prefix = fmt::format("The special magic number for {} mentioned in the provided text is", key);
  return b;
}

}  // namespace

StatusOr<std::vector<int>> ParseNiahLengths(std::string_view text) {
  std::vector<int> out;
  for (std::string_view part : SplitList(text, ',')) {
    int scale = 1;
    if (part.back() == 'k' || part.back() == 'K') {
      scale = 1024;
      part.remove_suffix(1);
    }
    int v = 0;
    if (!ParseInt(part, v) || v <= 0 || v > (1 << 30) / scale) {
      return InvalidArgument(fmt::format("--lengths: '{}' is not a token count like 4096 or 4k", part));
    }
    if (v * scale < 256) return InvalidArgument(fmt::format("--lengths: {} tokens is below the minimum of 256", v * scale));
    out.push_back(v * scale);
  }
  if (out.empty()) return InvalidArgument("--lengths: no length given");
  return out;
}

StatusOr<std::vector<int>> ParseNiahDepths(std::string_view text) {
  std::vector<int> out;
  const std::vector<std::string_view> range = SplitList(text, ':');
  if (range.size() == 3) {
    int a = 0, b = 0, step = 0;
    if (!ParseInt(range[0], a) || !ParseInt(range[1], b) || !ParseInt(range[2], step) || step <= 0) {
      return InvalidArgument(fmt::format("--depths: '{}' is not START:STOP:STEP with STEP > 0", text));
    }
    for (int d = a; d <= b; d += step) out.push_back(d);
  } else {
    for (std::string_view part : SplitList(text, ',')) {
      int d = 0;
      if (!ParseInt(part, d)) return InvalidArgument(fmt::format("--depths: '{}' is not an integer percentage", part));
      out.push_back(d);
    }
  }
  if (out.empty()) return InvalidArgument("--depths: no depth given");
  for (int d : out) {
    if (d < 0 || d > 100) return InvalidArgument(fmt::format("--depths: {} is outside [0, 100]", d));
  }
  return out;
}

StatusOr<std::vector<Sample>> GenerateNiahGrid(const NiahGridOptions& o, const TokenCounter& count) {
  const std::vector<std::string> essay =
      SplitWords(o.haystack_text.empty() ? BuiltinEssay(o.seed, 20000) : o.haystack_text);
  if (essay.empty()) return InvalidArgument("the haystack text has no words");
  std::vector<Sample> out;
  for (int length : o.lengths) {
    const int budget = length - kNiahMaxNewTokens;
    auto tokens_of = [&](const Built& b) { return count(b.context + b.question + b.answer_prefix); };
    ASSIGN_OR_RETURN(const size_t fitted, FitLargest(16, 1 << 22, [&](size_t n) -> StatusOr<bool> {
                       SynthRng rng(DeriveSeed(o.seed, "niah-fit", static_cast<uint64_t>(length)));
                       ASSIGN_OR_RETURN(int k, tokens_of(Build(essay, n, 50, rng)));
                       return k <= budget;
                     }));
    for (int depth : o.depths) {
      for (int i = 0; i < o.samples_per_cell; ++i) {
        const std::string label = fmt::format("niah-{}-{}", length, depth);
        size_t n = fitted;
        SynthRng rng(DeriveSeed(o.seed, label, static_cast<uint64_t>(i)));
        SynthRng start = rng;
        Built b = Build(essay, n, depth, rng);
        ASSIGN_OR_RETURN(int k, tokens_of(b));
        while (k > budget && n > 16) {  // a longer key or value: drop a few words
          n -= std::max<size_t>(1, n / 100);
          rng = start;
          b = Build(essay, n, depth, rng);
          ASSIGN_OR_RETURN(k, tokens_of(b));
        }
        if (k > budget) return InvalidArgument(fmt::format("--lengths: {} tokens leaves no room for a haystack", length));
        Sample s;
        s.id = fmt::format("niah-{}-d{}-{}", length, depth, i);
        s.context = std::move(b.context);
        s.question = std::move(b.question);
        s.answer_prefix = std::move(b.answer_prefix);
        s.prompt = s.context + s.question + s.answer_prefix;
        s.golds = {b.value};
        s.gold = b.value;
        s.max_new_tokens = kNiahMaxNewTokens;
        s.metadata = {{"task", "niah"},      {"niah_length", length}, {"niah_depth", depth},
                      {"input_tokens", k},   {"haystack_words", n},   {"metric", "string_match_all"}};
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

}  // namespace kvpress::eval
