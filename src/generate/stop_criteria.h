// When generation ends: EOS ids, stop strings, and the reasoning harness's repetition criterion.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvpress {

struct StopOptions {
  std::vector<int32_t> eos_ids;           // stop when one is produced (it is not emitted)
  std::vector<std::string> stop_strings;  // stop when the text ends with one (it is kept)
  bool on_repetition = false;             // StopOnRepetition (reference §5.1)
};

// finish_reason values: "stop" (EOS id), "stop_string", "repetition", "length", "cancelled".
class StopCriteria {
 public:
  explicit StopCriteria(StopOptions options) : options_(std::move(options)) {}

  bool IsEos(int32_t id) const;
  // After a token was appended to `generated` and `text` (all generated text so far): the reason
  // to stop, or "" to go on.
  std::string Check(std::span<const int32_t> generated, const std::string& text) const;

  // True when, within the last `window` tokens, the sequence ends with some n-gram (2 ≤ n ≤ 10)
  // repeated `repeats` times consecutively (needs ≥ 10 tokens). Checking after every token finds
  // any such run inside the window as soon as it completes.
  static bool EndsWithRepetition(std::span<const int32_t> tokens, int window = 200, int repeats = 5);

 private:
  StopOptions options_;
};

}  // namespace kvpress
