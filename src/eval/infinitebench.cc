#include "eval/infinitebench.h"

#include <fmt/format.h>

#include <algorithm>

#include "eval/longctx_rows.h"
#include "eval/synth_text.h"

namespace kvpress::eval {
namespace {

constexpr char kNoise[] = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n";

struct Built {
  std::string context, question, answer_prefix, answer;
};

// `n` noise lines with `line` inserted after `at` of them (at <= n).
std::string NoiseWith(size_t n, size_t at, const std::string& line) {
  std::string s;
  s.reserve((n + 1) * (sizeof(kNoise) - 1) + line.size());
  for (size_t i = 0; i < n; ++i) {
    if (i == at) s += line;
    s += kNoise;
  }
  if (at >= n) s += line;
  return s;
}

Built Passkey(size_t n, SynthRng& rng) {
  std::string key;
  for (int i = 0; i < 5; ++i) key += static_cast<char>('0' + rng.Below(10));
  const size_t at = rng.Below(n + 1);
  Built b;
  b.context = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz "
              "you about the important information there.\n\n" +
              NoiseWith(n, at, fmt::format("The pass key is {0}. Remember it. {0} is the pass key.\n", key)) + "\n\n";
  b.question = "What is the pass key?";
  b.answer_prefix = "The pass key is:";
  b.answer = key;
  return b;
}

Built NumberString(size_t n, SynthRng& rng) {
  std::string key;
  for (int i = 0; i < 5; ++i) key += static_cast<char>('0' + rng.Below(10));
  for (size_t k = 0; k < 5; ++k) {  // InfiniteBench doubles 5 random digits in place
    const size_t pos = rng.Below(5 + k);
    key.insert(key.begin() + static_cast<std::ptrdiff_t>(pos), key[pos]);
  }
  const size_t at = rng.Below(n + 1);
  Built b;
  b.context = "There is an important info hidden inside a lot of irrelevant text. Find it. I will quiz you about the "
              "important information there.\n\n" +
              NoiseWith(n, at, fmt::format("The sequence of digits is {0}. Remember it. {0} is the sequence of digits.\n", key)) +
              "\n\n";
  b.question = "What is the sequence of digits?";
  b.answer_prefix = "The sequence of digits is";
  b.answer = key;
  return b;
}

Built KvRetrieval(size_t n, SynthRng& rng) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (size_t i = 0; i < std::max<size_t>(n, 1); ++i) kv.emplace_back(RandomUuid(rng), RandomUuid(rng));
  const size_t asked = rng.Below(kv.size());
  std::string json = "JSON data:\n{";
  for (size_t i = 0; i < kv.size(); ++i) json += fmt::format("{}\"{}\": \"{}\"", i ? ", " : "", kv[i].first, kv[i].second);
  json += "}";
  Built b;
  b.context = "Extract the value corresponding to the specified key in the JSON object below.\n\n" + json + "\n\n";
  b.question = "\nKey: \"" + kv[asked].first + "\"\n";
  b.answer_prefix = "The value associated with the specified key is";
  b.answer = kv[asked].second;
  return b;
}

// math_find: InfiniteBench's list tasks over integers 0..99 (the max / min narrowed as it does).
Built MathFind(size_t n, SynthRng& rng) {
  static const char* kTargets[] = {"largest number",         "second largest number", "third largest number",
                                   "smallest number",        "second smallest number", "third smallest number",
                                   "median number"};
  const size_t t = rng.Below(std::size(kTargets));
  int lo = 0, hi = 99;
  if (t < 3) hi = static_cast<int>(rng.Between(79, 99));
  if (t >= 3 && t < 6) lo = static_cast<int>(rng.Between(0, 19));
  if (t == 6) {
    if (rng.Unit() > 0.5) lo = static_cast<int>(rng.Between(0, 19)); else hi = static_cast<int>(rng.Between(79, 99));
  }
  std::vector<int> list(std::max<size_t>(n, 3));
  for (int& v : list) v = static_cast<int>(rng.Between(lo, hi));
  std::vector<int> distinct(list);
  std::sort(distinct.begin(), distinct.end());
  std::string answer;
  if (t == 6) {
    const size_t m = distinct.size();
    answer = m % 2 ? std::to_string(distinct[m / 2])
                   : fmt::format("{}", (distinct[m / 2] + distinct[m / 2 - 1]) / 2.0);
    if (m % 2 == 0 && answer.find('.') == std::string::npos) answer += ".0";  // Python's float division
  } else {
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const size_t rank = std::min(t % 3, distinct.size() - 1);  // k-th distinct value, as InfiniteBench removes ties
    answer = std::to_string(t < 3 ? distinct[distinct.size() - 1 - rank] : distinct[rank]);
  }
  std::string repr = "[";
  for (size_t i = 0; i < list.size(); ++i) repr += (i ? ", " : "") + std::to_string(list[i]);
  repr += "]";
  const std::string target = kTargets[t];
  const std::string input =
      fmt::format("You should answer with only one number, no other words. The {} of the list is: ", target);
  Built b;
  // Upstream kvpress's context: prefix, list, then the input, which it strips only for "largest".
  b.context = fmt::format("What is the {} in the following list?\n\n{}\n\n{}\n\n", target, repr, input);
  const std::string stripped = "You should answer with only one number, no other words. The largest number of the list is:";
  if (const size_t p = b.context.find(stripped); p != std::string::npos) b.context.erase(p, stripped.size());
  b.question = input;
  b.answer = answer;
  return b;
}

int MaxNewTokens(const std::string& task) {  // InfiniteBench's limits + 20, as upstream kvpress
  if (task == "passkey") return 26;
  if (task == "number_string") return 32;
  if (task == "kv_retrieval") return 70;
  return 23;  // math_find
}

}  // namespace

const std::vector<std::string>& InfiniteBenchTaskNames() {
  static const std::vector<std::string> k = {"passkey", "number_string", "kv_retrieval", "math_find"};
  return k;
}

StatusOr<std::vector<Sample>> GenerateInfiniteBench(const InfiniteBenchOptions& o, const TokenCounter& count) {
  if (o.context_length < 512) {
    return InvalidArgument(fmt::format("--context-length {} is too short for InfiniteBench (at least 512)", o.context_length));
  }
  for (const std::string& t : o.tasks) {
    if (std::find(InfiniteBenchTaskNames().begin(), InfiniteBenchTaskNames().end(), t) == InfiniteBenchTaskNames().end()) {
      return InvalidArgument(fmt::format("--task: unknown InfiniteBench task '{}' (known: {})", t,
                                         Join(InfiniteBenchTaskNames(), ", ")));
    }
  }
  std::vector<Sample> out;
  for (const std::string& task : o.tasks.empty() ? InfiniteBenchTaskNames() : o.tasks) {
    const int budget = o.context_length - MaxNewTokens(task);
    auto build = [&](size_t n, uint64_t index) {
      SynthRng rng(DeriveSeed(o.seed, "infinitebench-" + task, index));
      if (task == "passkey") return Passkey(n, rng);
      if (task == "number_string") return NumberString(n, rng);
      if (task == "kv_retrieval") return KvRetrieval(n, rng);
      return MathFind(n, rng);
    };
    auto tokens_of = [&](const Built& b) { return count(b.context + b.question + b.answer_prefix); };
    ASSIGN_OR_RETURN(const size_t fitted, FitLargest(4, 1 << 22, [&](size_t n) -> StatusOr<bool> {
                       ASSIGN_OR_RETURN(int k, tokens_of(build(n, 0)));
                       return k <= budget;
                     }));
    for (int i = 0; i < o.samples_per_task; ++i) {
      size_t n = fitted;
      Built b = build(n, static_cast<uint64_t>(i));
      ASSIGN_OR_RETURN(int k, tokens_of(b));
      while (k > budget && n > 4) {
        n -= std::max<size_t>(1, n / 100);
        b = build(n, static_cast<uint64_t>(i));
        ASSIGN_OR_RETURN(k, tokens_of(b));
      }
      Sample s;
      s.id = fmt::format("infinitebench-{}-{}-{}", o.context_length, task, i);
      s.context = std::move(b.context);
      s.question = std::move(b.question);
      s.answer_prefix = std::move(b.answer_prefix);
      s.prompt = s.context + s.question + s.answer_prefix;
      s.golds = {b.answer};
      s.gold = b.answer;
      s.max_new_tokens = MaxNewTokens(task);
      s.metadata = {{"task", task},
                    {"context_length", o.context_length},
                    {"input_tokens", k},
                    {"metric", LongContextMetricFor(DatasetKind::kInfiniteBench, task)}};
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace kvpress::eval
