#include "model/gguf.h"

#include <fmt/format.h>

#include "gguf/gguf_reader.h"

namespace kvpress {

StatusOr<GgufFile> ReadGguf(const MappedFile& file, bool metadata_only) {
  const std::string& path = file.path();
  GgufCursor c(file);
  ASSIGN_OR_RETURN(GgufHeader header, ReadGgufHeader(c));
  GgufFile g;
  g.version = header.version;
  g.metadata = std::move(header.metadata);
  const uint64_t n_tensors = header.n_tensors;
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
      return DataLoss(
          fmt::format("{}: tensor '{}' has rank {} (1..4 allowed)", path, p.info.name, n_dims));
    }
    std::vector<int64_t> ne(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t v = 0;
      RETURN_IF_ERROR(c.Read(v, "a tensor dimension"));
      if (v == 0 || v > (1ull << 40) || numel > (1ull << 50) / v) {
        return DataLoss(
            fmt::format("{}: tensor '{}' has an invalid dimension {}", path, p.info.name, v));
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
      return DataLoss(
          fmt::format("{}: {} tensor '{}' has rows of {} values, not a whole number of "
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
    if (!a.is_number_unsigned() || a.get<uint64_t>() == 0 ||
        (a.get<uint64_t>() & (a.get<uint64_t>() - 1)) != 0) {
      return DataLoss(path + ": general.alignment must be a power of two");
    }
    align = a.get<uint64_t>();
  }
  g.data_start = (c.pos() + align - 1) / align * align;
  for (Pending& p : pending) {
    if (p.offset % align != 0) {
      return DataLoss(fmt::format("{}: tensor '{}' offset {} is not aligned to {}", path,
                                  p.info.name, p.offset, align));
    }
    if (g.data_start > file.size() || p.offset > file.size() - g.data_start ||
        p.info.nbytes > file.size() - g.data_start - p.offset) {
      return DataLoss(
          fmt::format("{}: tensor '{}' ({} bytes at offset {}) runs past the end of the "
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
