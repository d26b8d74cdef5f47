#include "gguf/gguf_reader.h"

#include <fmt/format.h>

#include <cstring>

namespace kvpress {
namespace {

enum GgufType : uint32_t {
  kU8 = 0,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kF32,
  kBool,
  kString,
  kArray,
  kU64,
  kI64,
  kF64
};

Status ReadValue(GgufCursor& c, uint32_t type, const std::string& key, nlohmann::json& out,
                 const std::string& path, int depth);

template <typename T>
Status ReadScalar(GgufCursor& c, nlohmann::json& out, const char* what) {
  T v{};
  RETURN_IF_ERROR(c.Read(v, what));
  out = v;
  return Status::Ok();
}

Status ReadValue(GgufCursor& c, uint32_t type, const std::string& key, nlohmann::json& out,
                 const std::string& path, int depth) {
  switch (type) {
    case kU8:
      return ReadScalar<uint8_t>(c, out, "a u8 value");
    case kI8:
      return ReadScalar<int8_t>(c, out, "an i8 value");
    case kU16:
      return ReadScalar<uint16_t>(c, out, "a u16 value");
    case kI16:
      return ReadScalar<int16_t>(c, out, "an i16 value");
    case kU32:
      return ReadScalar<uint32_t>(c, out, "a u32 value");
    case kI32:
      return ReadScalar<int32_t>(c, out, "an i32 value");
    case kF32:
      return ReadScalar<float>(c, out, "an f32 value");
    case kU64:
      return ReadScalar<uint64_t>(c, out, "a u64 value");
    case kI64:
      return ReadScalar<int64_t>(c, out, "an i64 value");
    case kF64:
      return ReadScalar<double>(c, out, "an f64 value");
    case kBool: {
      uint8_t b = 0;
      RETURN_IF_ERROR(c.Read(b, "a bool value"));
      out = b != 0;
      return Status::Ok();
    }
    case kString: {
      std::string s;
      RETURN_IF_ERROR(c.ReadString(s, "a string value"));
      out = std::move(s);
      return Status::Ok();
    }
    case kArray: {
      if (depth > 4)
        return DataLoss(fmt::format("{}: key '{}' nests arrays too deeply", path, key));
      uint32_t elem_type = 0;
      uint64_t count = 0;
      RETURN_IF_ERROR(c.Read(elem_type, "an array element type"));
      RETURN_IF_ERROR(c.Read(count, "an array length"));
      if (count > (1ull << 32)) {
        return DataLoss(
            fmt::format("{}: key '{}' claims an array of {} elements", path, key, count));
      }
      out = nlohmann::json::array();
      for (uint64_t i = 0; i < count; ++i) {
        nlohmann::json e;
        RETURN_IF_ERROR(ReadValue(c, elem_type, key, e, path, depth + 1));
        out.push_back(std::move(e));
      }
      return Status::Ok();
    }
    default:
      return DataLoss(fmt::format("{}: key '{}' has unknown GGUF value type {}", path, key, type));
  }
}

}  // namespace

GgufCursor::GgufCursor(const MappedFile& f) : f_(f) {}

Status GgufCursor::ReadString(std::string& s, const char* what) {
  uint64_t len = 0;
  RETURN_IF_ERROR(Read(len, what));
  if (len > f_.size() - pos_) return Truncated(what);
  s.assign(reinterpret_cast<const char*>(f_.data() + pos_), len);
  pos_ += len;
  return Status::Ok();
}

Status GgufCursor::Truncated(const char* what) const {
  return DataLoss(fmt::format("{}: GGUF truncated while reading {} at byte {} (file has {} bytes)",
                              f_.path(), what, pos_, f_.size()));
}

StatusOr<GgufHeader> ReadGgufHeader(GgufCursor& c) {
  const MappedFile& file = c.file();
  const std::string& path = file.path();
  uint32_t magic = 0;
  RETURN_IF_ERROR(c.Read(magic, "the magic"));
  if (magic != 0x46554747u) return DataLoss(path + ": not a GGUF file (bad magic)");
  GgufHeader g;
  RETURN_IF_ERROR(c.Read(g.version, "the version"));
  if (g.version != 2 && g.version != 3) {
    return Unimplemented(
        fmt::format("{}: GGUF version {} is not supported (2 or 3)", path, g.version));
  }
  uint64_t n_kv = 0;
  RETURN_IF_ERROR(c.Read(g.n_tensors, "the tensor count"));
  RETURN_IF_ERROR(c.Read(n_kv, "the metadata count"));
  if (n_kv > file.size() || g.n_tensors > file.size()) {
    return DataLoss(fmt::format("{}: GGUF counts ({} tensors, {} keys) exceed the file size", path,
                                g.n_tensors, n_kv));
  }
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    RETURN_IF_ERROR(c.ReadString(key, "a metadata key"));
    uint32_t type = 0;
    RETURN_IF_ERROR(c.Read(type, "a metadata value type"));
    nlohmann::json v;
    RETURN_IF_ERROR(ReadValue(c, type, key, v, path, 0));
    g.metadata[key] = std::move(v);
  }
  return g;
}

StatusOr<nlohmann::json> ReadGgufMetadata(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  GgufCursor c(*file);
  ASSIGN_OR_RETURN(GgufHeader header, ReadGgufHeader(c));
  return std::move(header.metadata);
}

}  // namespace kvpress
