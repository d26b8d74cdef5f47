#include "model/gguf.h"

#include <fmt/format.h>

#include <cstring>

namespace kvpress {
namespace {

enum GgufType : uint32_t {
  kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64
};

// Bounds-checked little-endian cursor over the mapped bytes.
class Cursor {
 public:
  Cursor(const MappedFile& f) : f_(f) {}
  size_t pos() const { return pos_; }

  template <typename T>
  Status Read(T& v, const char* what) {
    if (pos_ + sizeof(T) > f_.size()) return Truncated(what);
    std::memcpy(&v, f_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }
  Status ReadString(std::string& s, const char* what) {
    uint64_t len = 0;
    RETURN_IF_ERROR(Read(len, what));
    if (len > f_.size() - pos_) return Truncated(what);
    s.assign(reinterpret_cast<const char*>(f_.data() + pos_), len);
    pos_ += len;
    return Status::Ok();
  }
  Status Truncated(const char* what) const {
    return DataLoss(fmt::format("{}: GGUF truncated while reading {} at byte {} (file has {} bytes)",
                                f_.path(), what, pos_, f_.size()));
  }

 private:
  const MappedFile& f_;
  size_t pos_ = 0;
};

Status ReadValue(Cursor& c, uint32_t type, const std::string& key, nlohmann::json& out,
                 const std::string& path, int depth);

template <typename T>
Status ReadScalar(Cursor& c, nlohmann::json& out, const char* what) {
  T v{};
  RETURN_IF_ERROR(c.Read(v, what));
  out = v;
  return Status::Ok();
}

Status ReadValue(Cursor& c, uint32_t type, const std::string& key, nlohmann::json& out,
                 const std::string& path, int depth) {
  switch (type) {
    case kU8: return ReadScalar<uint8_t>(c, out, "a u8 value");
    case kI8: return ReadScalar<int8_t>(c, out, "an i8 value");
    case kU16: return ReadScalar<uint16_t>(c, out, "a u16 value");
    case kI16: return ReadScalar<int16_t>(c, out, "an i16 value");
    case kU32: return ReadScalar<uint32_t>(c, out, "a u32 value");
    case kI32: return ReadScalar<int32_t>(c, out, "an i32 value");
    case kF32: return ReadScalar<float>(c, out, "an f32 value");
    case kU64: return ReadScalar<uint64_t>(c, out, "a u64 value");
    case kI64: return ReadScalar<int64_t>(c, out, "an i64 value");
    case kF64: return ReadScalar<double>(c, out, "an f64 value");
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
      if (depth > 4) return DataLoss(fmt::format("{}: key '{}' nests arrays too deeply", path, key));
      uint32_t elem_type = 0;
      uint64_t count = 0;
      RETURN_IF_ERROR(c.Read(elem_type, "an array element type"));
      RETURN_IF_ERROR(c.Read(count, "an array length"));
      if (count > (1ull << 32)) {
        return DataLoss(fmt::format("{}: key '{}' claims an array of {} elements", path, key, count));
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

StatusOr<GgufFile> ReadGguf(const MappedFile& file, bool metadata_only) {
  const std::string& path = file.path();
  Cursor c(file);
  uint32_t magic = 0;
  RETURN_IF_ERROR(c.Read(magic, "the magic"));
  if (magic != 0x46554747u) return DataLoss(path + ": not a GGUF file (bad magic)");
  GgufFile g;
  RETURN_IF_ERROR(c.Read(g.version, "the version"));
  if (g.version != 2 && g.version != 3) {
    return Unimplemented(fmt::format("{}: GGUF version {} is not supported (2 or 3)", path, g.version));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  RETURN_IF_ERROR(c.Read(n_tensors, "the tensor count"));
  RETURN_IF_ERROR(c.Read(n_kv, "the metadata count"));
  if (n_kv > file.size() || n_tensors > file.size()) {
    return DataLoss(fmt::format("{}: GGUF counts ({} tensors, {} keys) exceed the file size", path,
                                n_tensors, n_kv));
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
  if (metadata_only) return g;
  struct Pending {
    TensorInfo info;
    uint64_t offset;
    uint64_t ne0;
  };
  std::vector<Pending> pending;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Pending p;
    RETURN_IF_ERROR(c.ReadString(p.info.name, "a tensor name"));
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(c.Read(n_dims, "a tensor rank"));
    if (n_dims == 0 || n_dims > 4) {
      return DataLoss(fmt::format("{}: tensor '{}' has rank {} (1..4 allowed)", path, p.info.name, n_dims));
    }
    std::vector<int64_t> ne(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t v = 0;
      RETURN_IF_ERROR(c.Read(v, "a tensor dimension"));
      if (v == 0 || v > (1ull << 40) || numel > (1ull << 50) / v) {
        return DataLoss(fmt::format("{}: tensor '{}' has an invalid dimension {}", path, p.info.name, v));
      }
      numel *= v;
      ne[d] = static_cast<int64_t>(v);
    }
    p.info.shape.assign(ne.rbegin(), ne.rend());
    p.ne0 = static_cast<uint64_t>(ne[0]);
    uint32_t type = 0;
    RETURN_IF_ERROR(c.Read(type, "a tensor type"));
    if (!DTypeFromGgmlTypeId(type, p.info.dtype)) {
      return Unimplemented(fmt::format(
          "{}: tensor '{}' has ggml type {}, which is not supported (F32, F16, BF16, Q4_0, Q4_1, "
          "Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)",
          path, p.info.name, type));
    }
    const uint64_t block = static_cast<uint64_t>(BlockElems(p.info.dtype));
    if (p.ne0 % block != 0) {
      return DataLoss(fmt::format("{}: {} tensor '{}' has rows of {} values, not a whole number of "
                                  "{}-value blocks",
                                  path, DTypeName(p.info.dtype), p.info.name, p.ne0, block));
    }
    p.info.nbytes = RowBytes(p.info.dtype, p.ne0) * (numel / p.ne0);
    RETURN_IF_ERROR(c.Read(p.offset, "a tensor offset"));
    p.info.file = path;
    pending.push_back(std::move(p));
  }
  uint64_t align = 32;
  if (g.metadata.contains("general.alignment")) {
    const auto& a = g.metadata["general.alignment"];
    if (!a.is_number_unsigned() || a.get<uint64_t>() == 0 || (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0) {
      return DataLoss(path + ": general.alignment must be a power of two");
    }
    align = a.get<uint64_t>();
  }
  g.data_start = (c.pos() + align - 1) / align * align;
  for (Pending& p : pending) {
    if (p.offset % align != 0) {
      return DataLoss(fmt::format("{}: tensor '{}' offset {} is not aligned to {}", path, p.info.name,
                                  p.offset, align));
    }
    if (g.data_start > file.size() || p.offset > file.size() - g.data_start ||
        p.info.nbytes > file.size() - g.data_start - p.offset) {
      return DataLoss(fmt::format("{}: tensor '{}' ({} bytes at offset {}) runs past the end of the "
                                  "file ({} bytes): truncated?",
                                  path, p.info.name, p.info.nbytes, p.offset, file.size()));
    }
    p.info.data = file.data() + g.data_start + p.offset;
    if (g.tensors.count(p.info.name)) {
      return DataLoss(fmt::format("{}: tensor '{}' appears twice", path, p.info.name));
    }
    std::string name = p.info.name;
    g.tensors.emplace(std::move(name), std::move(p.info));
  }
  return g;
}

}  // namespace kvpress
