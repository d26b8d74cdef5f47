#include "tokenizer/tokenizer.h"

namespace kvpress {
namespace {

// Ids kept before the window's new tokens, so that context-dependent decoders (a leading-space
// rule for the first token, byte-fallback runs) render the new tokens as a full decode would.
constexpr size_t kContextIds = 4;

}  // namespace

size_t CompleteUtf8Prefix(std::string_view s) {
  const size_t n = s.size();
  // Look back at most 3 bytes for the start of a multi-byte sequence.
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    size_t need = 1;
    if ((c & 0xE0) == 0xC0)
      need = 2;
    else if ((c & 0xF0) == 0xE0)
      need = 3;
    else if ((c & 0xF8) == 0xF0)
      need = 4;
    return back >= need ? n : n - back;
  }
  return n;
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, std::span<const int32_t> context)
    : tok_(tok), ids_(context.begin(), context.end()) {
  start_ = ids_.size() > kContextIds ? ids_.size() - kContextIds : 0;
  emitted_bytes_ = ids_.empty() ? 0 : DecodeWindow().size();
}

std::string StreamingDecoder::DecodeWindow() const {
  DecodeOptions options;
  options.lossy = false;
  return tok_.DecodeWith(std::span<const int32_t>(ids_).subspan(start_), options);
}

std::string StreamingDecoder::Push(int32_t id) {
  ids_.push_back(id);
  const std::string text = DecodeWindow();
  const size_t complete = CompleteUtf8Prefix(text);
  std::string out;
  if (complete > emitted_bytes_) {
    out = text.substr(emitted_bytes_, complete - emitted_bytes_);
    emitted_bytes_ = complete;
  }
  // Slide the window once everything decoded so far is out (nothing is held back).
  if (complete == text.size() && emitted_bytes_ == text.size() &&
      ids_.size() - start_ > 2 * kContextIds) {
    start_ = ids_.size() - kContextIds;
    emitted_bytes_ = DecodeWindow().size();
  }
  return out;
}

std::string StreamingDecoder::Flush() {
  const std::string text = DecodeWindow();
  if (text.size() <= emitted_bytes_) return "";
  std::string out = text.substr(emitted_bytes_);
  emitted_bytes_ = text.size();
  return out;
}

}  // namespace kvpress
