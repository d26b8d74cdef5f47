#include "model/safetensors.h"
#include "core/json_parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kvpress {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

namespace {

struct DtypeInfo {
  const char* name;
  int bytes;
};
constexpr DtypeInfo kSafetensorDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2}, {"I16", 2},     {"U32", 4},
    {"I32", 4},  {"U64", 8}, {"I64", 8}, {"F16", 2}, {"BF16", 2},    {"F32", 4},
    {"F64", 8},  {"F8_E4M3", 1}, {"F8_E5M2", 1}};

}  // namespace

Status ReadSafetensors(const MappedFile& file, TensorSet& out) {
  const std::string& path = file.path();
  if (file.size() < 8) return DataLoss(path + ": truncated safetensors file (< 8 bytes)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  if (header_len > 100u * 1024 * 1024) {
    return DataLoss(fmt::format("{}: safetensors header length {} exceeds the 100 MB limit", path,
                                header_len));
  }
  if (8 + header_len > file.size()) {
    return DataLoss(fmt::format("{}: safetensors header length {} runs past the end of the file "
                                "({} bytes)",
                                path, header_len, file.size()));
  }
  const char* hdr = reinterpret_cast<const char*>(file.data() + 8);
  nlohmann::json j = JsonNestingDepth(std::string_view(hdr, header_len)) > kMaxJsonDepth
                         ? nlohmann::json(nlohmann::json::value_t::discarded)
                         : nlohmann::json::parse(hdr, hdr + header_len, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return DataLoss(path + ": safetensors header is not a valid JSON object");
  }
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file.size() - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& name = it.key();
    const nlohmann::json& t = it.value();
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") ||
        !t.contains("data_offsets") || !t["dtype"].is_string() || !t["shape"].is_array() ||
        !t["data_offsets"].is_array() || t["data_offsets"].size() != 2) {
      return DataLoss(fmt::format("{}: tensor '{}' has a malformed header entry", path, name));
    }
    const std::string dt = t["dtype"].get<std::string>();
    int elem_bytes = 0;
    for (const auto& d : kSafetensorDtypes) {
      if (dt == d.name) elem_bytes = d.bytes;
    }
    if (elem_bytes == 0) {
      return DataLoss(fmt::format("{}: tensor '{}' has unknown dtype '{}'", path, name, dt));
    }
    TensorInfo info;
    info.name = name;
    info.file = path;
    uint64_t numel = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned()) {
        return DataLoss(fmt::format("{}: tensor '{}' has a non-integer dimension", path, name));
      }
      const uint64_t v = d.get<uint64_t>();
      if (v != 0 && numel > (1ull << 62) / v) {
        return DataLoss(fmt::format("{}: tensor '{}' shape overflows", path, name));
      }
      numel *= v;
      info.shape.push_back(static_cast<int64_t>(v));
    }
    const auto& off = t["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return DataLoss(fmt::format("{}: tensor '{}' has non-integer data_offsets", path, name));
    }
    const uint64_t begin = off[0].get<uint64_t>();
    const uint64_t end = off[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return DataLoss(fmt::format("{}: tensor '{}' data_offsets [{}, {}) lie outside the {}-byte "
                                  "data buffer (truncated file?)",
                                  path, name, begin, end, data_size));
    }
    if (end - begin != numel * static_cast<uint64_t>(elem_bytes)) {
      return DataLoss(fmt::format("{}: tensor '{}' has {} bytes but shape {} of {} needs {}", path,
                                  name, end - begin, ShapeString(info.shape), dt,
                                  numel * elem_bytes));
    }
    ranges.emplace_back(begin, end);
    if (dt == "F32") {
      info.dtype = DType::kF32;
    } else if (dt == "F16") {
      info.dtype = DType::kF16;
    } else if (dt == "BF16") {
      info.dtype = DType::kBF16;
    } else {
      return Unimplemented(fmt::format("{}: tensor '{}' has dtype {}, which is not supported "
                                       "(F32, F16, BF16)",
                                       path, name, dt));
    }
    info.data = file.data() + data_start + begin;
    info.nbytes = end - begin;
    if (out.count(name) != 0) {
      return DataLoss(fmt::format("{}: tensor '{}' appears in more than one file", path, name));
    }
    out.emplace(name, std::move(info));
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t cursor = 0;
  for (const auto& [b, e] : ranges) {
    if (b != cursor) {
      return DataLoss(fmt::format("{}: tensor data {} at byte {} of the data buffer",
                                  path, b < cursor ? "overlaps" : "has a hole", b));
    }
    cursor = e;
  }
  if (cursor != data_size) {
    return DataLoss(fmt::format("{}: tensors cover {} bytes but the data buffer has {}", path,
                                cursor, data_size));
  }
  return Status::Ok();
}

}  // namespace kvpress
