// OpenAI stop strings on streamed text: the answer ends *before* the first stop string and the
// stop string is never sent. While streaming, text that could be the start of a stop string is
// held back until the next pieces decide.
#pragma once

#include <string>
#include <vector>

namespace kvpress::serve {

class StopText {
 public:
  explicit StopText(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Appends `piece` and returns the text that can be sent now (possibly empty). After a stop
  // string was seen, returns "" and stopped() is true.
  std::string Push(const std::string& piece);
  // The held-back text once generation has ended without a stop string.
  std::string Flush();
  bool stopped() const { return stopped_; }
  // All text sent so far (Push and Flush results together).
  const std::string& sent() const { return sent_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // received, not yet sent
  std::string sent_;
  bool stopped_ = false;
};

}  // namespace kvpress::serve
