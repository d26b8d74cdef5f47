// The GGUF container below the model and the tokenizer (shared/docs/model-formats.md §4): a
// bounds-checked cursor over a mapped file and the header (magic, version, counts, metadata).
// Depends on core only; the tensor infos, which need the ggml tensor types, are read by
// model/gguf.h on top of this.
#pragma once

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "core/mapped_file.h"
#include "core/status.h"

namespace kvpress {

// Little-endian reads from a mapped file, each checked against its size; errors are DataLoss
// naming the file, what was being read and the byte offset.
class GgufCursor {
 public:
  explicit GgufCursor(const MappedFile& f);
  const MappedFile& file() const { return f_; }
  size_t pos() const { return pos_; }

  // Reads one trivially copyable value (`what` names it in the error).
  template <typename T>
  Status Read(T& v, const char* what) {
    if (pos_ + sizeof(T) > f_.size()) return Truncated(what);
    std::memcpy(&v, f_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }
  // Reads a GGUF string (u64 length, then the bytes).
  Status ReadString(std::string& s, const char* what);
  Status Truncated(const char* what) const;

 private:
  const MappedFile& f_;
  size_t pos_ = 0;
};

struct GgufHeader {
  uint32_t version = 0;
  // Metadata key -> value. Integers, floats, bools, strings and (nested) arrays map to JSON.
  nlohmann::json metadata = nlohmann::json::object();
  uint64_t n_tensors = 0;  // tensor infos follow at the cursor's position
};

// Reads the header at the cursor (which must be at byte 0). DataLoss for a bad magic, counts that
// exceed the file, truncation or an unknown value type; Unimplemented for versions other than 2/3.
StatusOr<GgufHeader> ReadGgufHeader(GgufCursor& c);

// The metadata of the GGUF file at `path`, tensor infos neither read nor checked: what
// tokenizers and chat templates need. Errors as MappedFile::Open and ReadGgufHeader.
StatusOr<nlohmann::json> ReadGgufMetadata(const std::string& path);

}  // namespace kvpress
