#include "model/writers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/check.h"
#include "core/file_util.h"
#include "ops/quantize.h"

namespace kvpress {

std::vector<uint8_t> EncodeF32(const float* x, size_t n, DType dtype) {
  std::vector<uint8_t> out(RowBytes(dtype, n));
  switch (dtype) {
    case DType::kF32: std::memcpy(out.data(), x, n * 4); break;
    case DType::kF16:
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t b = dtype == DType::kF16 ? F32ToF16(x[i]) : F32ToBF16(x[i]);
        std::memcpy(out.data() + 2 * i, &b, 2);
      }
      break;
    default: {
      // Blocks are independent, so chunks of them quantize in parallel to the same bytes.
      const size_t elems = static_cast<size_t>(BlockElems(dtype)), bytes = static_cast<size_t>(BlockBytes(dtype));
      CHECK(n % elems == 0) << n << " values are not whole " << DTypeName(dtype) << " blocks";
      constexpr size_t kChunk = 256;  // blocks per task
      const int64_t chunks = static_cast<int64_t>((n / elems + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(dynamic)
      for (int64_t c = 0; c < chunks; ++c) {
        const size_t b0 = static_cast<size_t>(c) * kChunk, nb = std::min(kChunk, n / elems - b0);
        QuantizeRow(dtype, x + b0 * elems, out.data() + b0 * bytes, nb * elems);
      }
    }
  }
  return out;
}

Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const char* dt = nullptr;
    switch (t.dtype) {
      case DType::kF32: dt = "F32"; break;
      case DType::kF16: dt = "F16"; break;
      case DType::kBF16: dt = "BF16"; break;
      default:
        return InvalidArgument(fmt::format("{}: safetensors cannot store {} tensors", path, DTypeName(t.dtype)));
    }
    header[t.name] = {{"dtype", dt}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  const uint64_t n = h.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += h;
  for (const TensorToWrite& t : tensors) out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  return WriteFileAtomic(path, out);
}

namespace {

class GgufBuffer {
 public:
  template <typename T>
  void Put(T v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    out_ += s;
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

int InferType(const nlohmann::json& v) {
  if (v.is_boolean()) return 7;
  if (v.is_string()) return 8;
  if (v.is_number_unsigned()) return 4;
  if (v.is_number_integer()) return 5;
  if (v.is_number_float()) return 6;
  if (v.is_array()) return 9;
  return -1;
}

Status PutScalar(GgufBuffer& b, const nlohmann::json& v, int type, const std::string& key) {
  switch (type) {
    case 0: b.Put<uint8_t>(v.get<uint8_t>()); break;
    case 1: b.Put<int8_t>(v.get<int8_t>()); break;
    case 2: b.Put<uint16_t>(v.get<uint16_t>()); break;
    case 3: b.Put<int16_t>(v.get<int16_t>()); break;
    case 4: b.Put<uint32_t>(v.get<uint32_t>()); break;
    case 5: b.Put<int32_t>(v.get<int32_t>()); break;
    case 6: b.Put<float>(v.get<float>()); break;
    case 7: b.Put<uint8_t>(v.get<bool>() ? 1 : 0); break;
    case 8: b.PutString(v.get<std::string>()); break;
    case 10: b.Put<uint64_t>(v.get<uint64_t>()); break;
    case 11: b.Put<int64_t>(v.get<int64_t>()); break;
    case 12: b.Put<double>(v.get<double>()); break;
    default: return InvalidArgument(fmt::format("GGUF key '{}': cannot write value type {}", key, type));
  }
  return Status::Ok();
}

}  // namespace

Status WriteGguf(const std::string& path, const std::vector<GgufKeyValue>& metadata,
                 const std::vector<TensorToWrite>& tensors) {
  constexpr uint64_t kAlign = 32;
  GgufBuffer b;
  b.Put<uint32_t>(0x46554747u);
  b.Put<uint32_t>(3);
  b.Put<uint64_t>(tensors.size());
  b.Put<uint64_t>(metadata.size());
  for (const GgufKeyValue& kv : metadata) {
    b.PutString(kv.key);
    const int type = InferType(kv.value);
    if (type < 0) return InvalidArgument("GGUF key '" + kv.key + "' has an unsupported value");
    if (type == 9) {
      const int elem = kv.force_type >= 0 ? kv.force_type
                                          : (kv.value.empty() ? 4 : InferType(kv.value.front()));
      b.Put<uint32_t>(9);
      b.Put<uint32_t>(static_cast<uint32_t>(elem));
      b.Put<uint64_t>(kv.value.size());
      for (const auto& e : kv.value) RETURN_IF_ERROR(PutScalar(b, e, elem, kv.key));
    } else {
      const int t = kv.force_type >= 0 ? kv.force_type : type;
      b.Put<uint32_t>(static_cast<uint32_t>(t));
      RETURN_IF_ERROR(PutScalar(b, kv.value, t, kv.key));
    }
  }
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    b.PutString(t.name);
    b.Put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) b.Put<uint64_t>(static_cast<uint64_t>(*it));
    b.Put<uint32_t>(GgmlTypeId(t.dtype));
    b.Put<uint64_t>(offset);
    offset += (t.bytes.size() + kAlign - 1) / kAlign * kAlign;
  }
  std::string& out = b.str();
  out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  for (size_t i = 0; i < tensors.size(); ++i) {
    out.append(reinterpret_cast<const char*>(tensors[i].bytes.data()), tensors[i].bytes.size());
    if (i + 1 < tensors.size()) out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  }
  return WriteFileAtomic(path, out);
}

}  // namespace kvpress
