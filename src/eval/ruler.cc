#include "eval/ruler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "eval/synth_text.h"

namespace kvpress::eval {
namespace {

enum class Family { kNiah, kVt, kCwe, kFwe };
enum class Haystack { kNoise, kEssay, kNeedle };
enum class Kind { kNumbers, kWords, kUuids };

// One task of RULER's synthetic.yaml.
struct TaskSpec {
  const char* name;
  Family family;
  Haystack haystack = Haystack::kNoise;
  Kind key = Kind::kWords, value = Kind::kNumbers;
  int num_k = 1, num_v = 1, num_q = 1;  // niah: keys, values per key, keys asked
};

const std::vector<TaskSpec>& Tasks() {
  static const std::vector<TaskSpec> k = {
      {"niah_single_1", Family::kNiah, Haystack::kNoise, Kind::kWords, Kind::kNumbers, 1, 1, 1},
      {"niah_single_2", Family::kNiah, Haystack::kEssay, Kind::kWords, Kind::kNumbers, 1, 1, 1},
      {"niah_single_3", Family::kNiah, Haystack::kEssay, Kind::kWords, Kind::kUuids, 1, 1, 1},
      {"niah_multikey_1", Family::kNiah, Haystack::kEssay, Kind::kWords, Kind::kNumbers, 4, 1, 1},
      {"niah_multikey_2", Family::kNiah, Haystack::kNeedle, Kind::kWords, Kind::kNumbers, 1, 1, 1},
      {"niah_multikey_3", Family::kNiah, Haystack::kNeedle, Kind::kUuids, Kind::kUuids, 1, 1, 1},
      {"niah_multivalue", Family::kNiah, Haystack::kEssay, Kind::kWords, Kind::kNumbers, 1, 4, 1},
      {"niah_multiquery", Family::kNiah, Haystack::kEssay, Kind::kWords, Kind::kNumbers, 1, 1, 4},
      {"vt", Family::kVt},
      {"cwe", Family::kCwe},
      {"fwe", Family::kFwe},
  };
  return k;
}

// RULER's prompt templates (scripts/data/synthetic/constants.py), split where upstream kvpress
// splits them: the question starts at its first words, the answer prefix at "The special magic" /
// "Answer:"; the question keeps the space before the prefix.
constexpr char kNoiseSentence[] = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
constexpr char kNeedle[] = "One of the special magic {} for {} is: {}.";

// A generated input: what is compressed, what is asked, how the answer starts, what must be found.
struct Built {
  std::string context, question, answer_prefix;
  std::vector<std::string> answers;
};

std::string Random(Kind kind, SynthRng& rng) {
  switch (kind) {
    case Kind::kNumbers: return RandomNumber(rng, 7);
    case Kind::kWords: return RandomKeyWord(rng);
    case Kind::kUuids: return RandomUuid(rng);
  }
  return "";
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNumbers: return "numbers";
    case Kind::kWords: return "words";
    case Kind::kUuids: return "uuids";
  }
  return "";
}

// RULER's 40 insertion depths: round(linspace(0, 100, 40)).
const std::vector<int>& Depths() {
  static const std::vector<int> k = [] {
    std::vector<int> d;
    for (int i = 0; i < 40; ++i) d.push_back(static_cast<int>(std::lround(100.0 * i / 39.0)));
    return d;
  }();
  return k;
}

// The essay haystack cut to its first `n` words (repeated when shorter), with `inserts` placed at
// sentence boundaries drawn from Depths(), joined with spaces.
std::string EssayWithInserts(const std::vector<std::string>& words, size_t n, const std::vector<std::string>& inserts,
                             SynthRng& rng) {
  std::vector<std::string> cut;
  cut.reserve(n);
  for (size_t i = 0; i < n; ++i) cut.push_back(words[i % words.size()]);
  const std::vector<std::string> sents = SplitSentences(Join(cut, " "));
  std::vector<size_t> pos;
  for (size_t i : rng.Distinct(Depths().size(), inserts.size())) {
    pos.push_back(static_cast<size_t>(static_cast<double>(sents.size()) * Depths()[i] / 100.0));
  }
  std::sort(pos.begin(), pos.end());
  std::vector<std::string> parts;
  size_t last = 0;
  for (size_t i = 0; i < inserts.size(); ++i) {
    parts.push_back(Join(std::vector<std::string>(sents.begin() + last, sents.begin() + pos[i]), " "));
    parts.push_back(inserts[i]);
    last = pos[i];
  }
  parts.push_back(Join(std::vector<std::string>(sents.begin() + last, sents.end()), " "));
  return Join(parts, " ");
}

Built BuildNiah(const TaskSpec& t, size_t n, const std::vector<std::string>& essay, SynthRng& rng) {
  const int num_k = std::max(t.num_k, t.num_q);
  std::vector<std::string> keys, needles;
  std::vector<std::vector<std::string>> values;
  for (int k = 0; k < num_k; ++k) {
    keys.push_back(Random(t.key, rng));
    values.emplace_back();
    for (int v = 0; v < t.num_v; ++v) {
      values.back().push_back(Random(t.value, rng));
      needles.push_back(fmt::format(kNeedle, KindName(t.value), keys.back(), values.back().back()));
    }
  }
  rng.Shuffle(needles);
  std::string haystack;
  if (t.haystack == Haystack::kEssay) {
    haystack = EssayWithInserts(essay, n, needles, rng);
  } else {
    std::vector<std::string> sentences;
    for (size_t i = 0; i < n; ++i) {
      sentences.push_back(t.haystack == Haystack::kNoise
                              ? std::string(kNoiseSentence)
                              : fmt::format(kNeedle, KindName(t.value), Random(t.key, rng), Random(t.value, rng)));
    }
    std::vector<size_t> at = rng.Distinct(n, std::min(n, needles.size()));
    std::sort(at.rbegin(), at.rend());  // inserted from the back so earlier indices stay valid
    for (size_t i = 0; i < at.size(); ++i) sentences.insert(sentences.begin() + at[i], needles[i]);
    haystack = Join(sentences, "\n");
  }
  std::vector<std::string> queries;
  Built b;
  for (size_t i : rng.Distinct(keys.size(), t.num_q)) {
    queries.push_back(keys[i]);
    b.answers.insert(b.answers.end(), values[i].begin(), values[i].end());
  }
  std::string query = queries.back();
  if (queries.size() > 1) {
    query = Join(std::vector<std::string>(queries.begin(), queries.end() - 1), ", ") + ", and " + queries.back();
  }
  const bool single = t.num_q * t.num_v == 1;  // RULER's singular wording
  std::string kind = KindName(t.value);
  if (single) kind.pop_back();
  b.context = fmt::format("{} special magic {} {} hidden within the following text. Make sure to memorize it. I will "
                          "quiz you about the {} afterwards.\n{}\n",
                          single ? "A" : "Some", kind, single ? "is" : "are", kind, haystack);
  b.question = fmt::format("What {} the special magic {} for {} mentioned in the provided text? ",
                           single ? "is" : "are all", kind, query);
  b.answer_prefix = fmt::format("The special magic {} for {} mentioned in the provided text {}", kind, query,
                                single ? "is" : "are");
  return b;
}

// Variable tracking: one chain of 5 variables (4 hops) in `n` noise sentences, after a few-shot
// example of the same shape in `icl_n` sentences.
Built BuildVt(size_t n, size_t icl_n, SynthRng& rng) {
  constexpr int kHops = 4;
  auto one = [&rng](size_t noise, std::vector<std::string>& names, std::string& value) {
    std::set<std::string> seen;
    names.clear();
    while (names.size() < kHops + 1) {
      std::string v;
      for (int i = 0; i < 5; ++i) v += static_cast<char>('A' + rng.Below(26));
      if (seen.insert(v).second) names.push_back(v);
    }
    value = std::to_string(rng.Between(10000, 99998));
    std::vector<std::string> chain = {fmt::format("VAR {} = {}", names[0], value)};
    for (int j = 0; j < kHops; ++j) chain.push_back(fmt::format("VAR {} = VAR {} ", names[j + 1], names[j]));
    std::vector<std::string> sentences(noise, kNoiseSentence);
    std::vector<size_t> at = rng.Distinct(noise, chain.size());
    std::sort(at.begin(), at.end());
    for (size_t j = 0; j < chain.size(); ++j) sentences.insert(sentences.begin() + at[j] + j, chain[j]);
    std::string text = Join(sentences, "\n");
    for (size_t p; (p = text.find(". \n")) != std::string::npos;) text.replace(p, 3, ".\n");
    return text;
  };
  auto intro = [](const std::string& text) {
    return "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n" + text + "\n";
  };
  auto question = [](const std::string& value) {
    return "Question: Find all variables that are assigned the value " + value + " in the text above. ";
  };
  auto prefix = [](const std::string& value) {
    return fmt::format("Answer: According to the chain(s) of variable assignment in the text above, {} variables are "
                       "assigned the value {}, they are: ",
                       kHops + 1, value);
  };
  std::vector<std::string> icl_names, names;
  std::string icl_value, value;
  const std::string icl_text = one(icl_n, icl_names, icl_value);
  const std::string example =
      intro(icl_text) + question(icl_value) + prefix(icl_value) + " " + Join(icl_names, " ") + "\n";
  const std::string text = one(n, names, value);
  Built b;
  b.context = example + "\n" + intro(text);
  b.question = question(value);
  b.answer_prefix = prefix(value);
  b.answers = names;
  return b;
}

// Common words extraction: 10 words repeated often among `n` words in all, after one example.
Built BuildCwe(size_t n, int context_length, SynthRng& rng) {
  auto example = [&rng](size_t num_words, int common_repeats, int uncommon_repeats, std::string& listing,
                        std::vector<std::string>& common) {
    std::vector<std::string> pool = SynthAllWords();
    if (num_words > pool.size()) {
      SynthRng fixed(0x5eed);  // one fixed pseudo-word pool, as RULER falls back to a fixed list
      pool = PseudoWords(fixed, std::max<size_t>(num_words, 4096));
    }
    std::vector<std::string> words;
    for (size_t i : rng.Distinct(pool.size(), num_words)) words.push_back(pool[i]);
    common.assign(words.begin(), words.begin() + std::min<size_t>(10, words.size()));
    std::vector<std::string> list;
    for (int r = 0; r < common_repeats; ++r) list.insert(list.end(), common.begin(), common.end());
    for (int r = 0; r < uncommon_repeats; ++r) list.insert(list.end(), words.begin() + common.size(), words.end());
    rng.Shuffle(list);
    std::vector<std::string> numbered;
    for (size_t i = 0; i < list.size(); ++i) numbered.push_back(fmt::format("{}. {}", i + 1, list[i]));
    listing = Join(numbered, " ");
  };
  auto intro = [](const std::string& listing) {
    return "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones "
           "that appear most often.\n" +
           listing + "\n";
  };
  const std::string question = "Question: What are the 10 most common words in the above list? ";
  const std::string prefix = "Answer: The top 10 words that appear most often in the list are:";
  const bool short_ctx = context_length < 4096;  // RULER's lighter repetition below 4k
  std::string ex_listing, listing;
  std::vector<std::string> ex_common, common;
  example(short_ctx ? 20 : 40, short_ctx ? 3 : 10, short_ctx ? 1 : 3, ex_listing, ex_common);
  std::vector<std::string> ex_answer;
  for (size_t i = 0; i < ex_common.size(); ++i) ex_answer.push_back(fmt::format("{}. {}", i + 1, ex_common[i]));
  example(n, short_ctx ? 6 : 30, short_ctx ? 1 : 3, listing, common);
  Built b;
  b.context = intro(ex_listing) + question + " " + prefix + " " + Join(ex_answer, " ") + "\n" + intro(listing);
  b.question = question;
  b.answer_prefix = prefix;
  b.answers = common;
  return b;
}

// Frequent words extraction: `n` coded words drawn from a Zipf(alpha = 2) law over a vocabulary of
// (context_length - 50) / 50 six-letter words; the top one is replaced by '...' (noise), the next
// three are the answer.
Built BuildFwe(size_t n, int context_length, SynthRng& rng) {
  const size_t vocab_size = static_cast<size_t>(std::max(10, (context_length - 50) / 50));
  std::set<std::string> seen;
  std::vector<std::string> vocab;
  while (vocab.size() < vocab_size) {
    std::string w;
    for (int i = 0; i < 6; ++i) w += static_cast<char>('a' + rng.Below(26));
    if (seen.insert(w).second) vocab.push_back(w);
  }
  rng.Shuffle(vocab);
  vocab[0] = "...";
  constexpr double kAlpha = 2.0;
  const double zeta = std::numbers::pi * std::numbers::pi / 6.0;  // zeta(2)
  std::vector<std::string> words;
  for (size_t k = 0; k < vocab.size(); ++k) {
    const auto count = static_cast<size_t>(static_cast<double>(n) * std::pow(static_cast<double>(k + 1), -kAlpha) / zeta);
    words.insert(words.end(), count, vocab[k]);
  }
  rng.Shuffle(words);
  Built b;
  b.context = "Read the following coded text and track the frequency of each coded word. Find the three most "
              "frequently appeared coded words. " +
              Join(words, " ") + "\n";
  b.question =
      "Question: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently "
      "appeared words in the above coded text? ";
  b.answer_prefix = "Answer: According to the coded text above, the three most frequently appeared words are:";
  b.answers.assign(vocab.begin() + 1, vocab.begin() + 4);
  return b;
}

}  // namespace

const std::vector<std::string>& RulerTaskNames() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> names;
    for (const TaskSpec& t : Tasks()) names.push_back(t.name);
    return names;
  }();
  return k;
}

int RulerMaxNewTokens(const std::string& task) {
  if (task == "vt") return 30;
  if (task == "cwe") return 120;
  if (task == "fwe") return 50;
  return 128;  // niah
}

StatusOr<std::vector<Sample>> GenerateRuler(const RulerOptions& o, const TokenCounter& count) {
  if (o.context_length < 512) {
    return InvalidArgument(fmt::format("--context-length {} is too short for RULER (at least 512)", o.context_length));
  }
  std::vector<const TaskSpec*> tasks;
  for (const std::string& name : o.tasks.empty() ? RulerTaskNames() : o.tasks) {
    auto it = std::find_if(Tasks().begin(), Tasks().end(), [&](const TaskSpec& t) { return name == t.name; });
    if (it == Tasks().end()) {
      return InvalidArgument(fmt::format("--task: unknown RULER task '{}' (known: {})", name, Join(RulerTaskNames(), ", ")));
    }
    tasks.push_back(&*it);
  }
  const std::vector<std::string> essay =
      SplitWords(o.haystack_text.empty() ? BuiltinEssay(o.seed, 4000) : o.haystack_text);
  if (essay.empty()) return InvalidArgument("the haystack text has no words");
  std::vector<Sample> out;
  for (const TaskSpec* t : tasks) {
    const int max_new = RulerMaxNewTokens(t->name);
    const int budget = o.context_length - max_new;  // input tokens allowed
    // The input for haystack size n, drawn from sample `index`'s stream (so it is reproducible).
    auto build = [&](size_t n, size_t icl_n, uint64_t index) {
      SynthRng rng(DeriveSeed(o.seed, t->name, index));
      switch (t->family) {
        case Family::kNiah: return BuildNiah(*t, n, essay, rng);
        case Family::kVt: return BuildVt(n, icl_n, rng);
        case Family::kCwe: return BuildCwe(n, o.context_length, rng);
        case Family::kFwe: return BuildFwe(n, o.context_length, rng);
      }
      return Built{};
    };
    auto tokens_of = [&](const Built& b) { return count(b.context + b.question + b.answer_prefix); };
    // vt's few-shot example: noise sized to about 500 tokens, as RULER's.
    size_t icl_n = 0;
    if (t->family == Family::kVt) {
      ASSIGN_OR_RETURN(icl_n, FitLargest(5, 1 << 16, [&](size_t n) -> StatusOr<bool> {
                         SynthRng rng(DeriveSeed(o.seed, "vt-icl", 0));
                         const Built b = BuildVt(n, 5, rng);
                         ASSIGN_OR_RETURN(int k, count(b.context.substr(b.context.rfind("Memorize"))));
                         return k <= 500;
                       }));
    }
    const size_t lo = t->family == Family::kFwe ? 50 : 5;
    ASSIGN_OR_RETURN(const size_t fitted, FitLargest(lo, 1 << 22, [&](size_t n) -> StatusOr<bool> {
                       ASSIGN_OR_RETURN(int k, tokens_of(build(n, icl_n, 0)));
                       return k <= budget;
                     }));
    for (int i = 0; i < o.samples_per_task; ++i) {
      size_t n = fitted;
      Built b = build(n, icl_n, static_cast<uint64_t>(i));
      ASSIGN_OR_RETURN(int k, tokens_of(b));
      const size_t step = std::max<size_t>(1, fitted / 50);
      while (k > budget && n > step) {  // another draw may tokenize longer: shrink until it fits
        n -= step;
        b = build(n, icl_n, static_cast<uint64_t>(i));
        ASSIGN_OR_RETURN(k, tokens_of(b));
      }
      if (k > budget) {
        return InvalidArgument(fmt::format("RULER {}: --context-length {} leaves no room for a haystack", t->name,
                                           o.context_length));
      }
      Sample s;
      s.id = fmt::format("ruler-{}-{}-{}", o.context_length, t->name, i);
      s.context = std::move(b.context);
      s.question = std::move(b.question);
      s.answer_prefix = std::move(b.answer_prefix);
      s.prompt = s.context + s.question + s.answer_prefix;
      s.golds = b.answers;
      s.gold = Join(b.answers, ", ");
      s.max_new_tokens = max_new;
      s.metadata = {{"task", t->name},
                    {"context_length", o.context_length},
                    {"input_tokens", k},
                    {"num_haystack", n},
                    {"answer_prefix", s.answer_prefix},
                    {"metric", "string_match_all"}};
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace kvpress::eval
