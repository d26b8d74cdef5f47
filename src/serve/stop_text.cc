#include "serve/stop_text.h"

#include <algorithm>

namespace kvpress::serve {

std::string StopText::Push(const std::string& piece) {
  if (stopped_) return "";
  pending_ += piece;
  // The earliest complete stop string ends the text.
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, pending_.find(s));
  if (cut != std::string::npos) {
    std::string out = pending_.substr(0, cut);
    pending_.clear();
    stopped_ = true;
    sent_ += out;
    return out;
  }
  // Hold back the longest tail of pending_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& s : stops_) {
    for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k) {
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  sent_ += out;
  return out;
}

std::string StopText::Flush() {
  if (stopped_) return "";
  std::string out;
  out.swap(pending_);
  sent_ += out;
  return out;
}

}  // namespace kvpress::serve
