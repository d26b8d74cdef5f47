#include "model/gguf_dtype.h"

#include "core/log.h"

namespace kvpress {

DType GgufMatrixDType(const std::string& name, DType wanted, int64_t cols) {
  const auto fits = [cols](DType t) { return cols % BlockElems(t) == 0; };
  if (fits(wanted)) return wanted;
  DType t = wanted;
  switch (wanted) {
    case DType::kQ2_K:
    case DType::kQ3_K: t = DType::kQ4_0; break;
    case DType::kQ4_K: t = DType::kQ5_0; break;
    case DType::kQ5_K: t = DType::kQ5_1; break;
    case DType::kQ6_K: t = DType::kQ8_0; break;
    case DType::kIQ4_XS: t = DType::kIQ4_NL; break;
    default: break;
  }
  if (!fits(t)) t = DType::kF16;
  Log(LogLevel::kWarning, "{}: {} columns are not a multiple of {}'s {}-value block; written as {}", name,
      cols, DTypeName(wanted), BlockElems(wanted), DTypeName(t));
  return t;
}

uint32_t LlamaFileType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    case DType::kQ4_0: return 2;
    case DType::kQ4_1: return 3;
    case DType::kQ8_0: return 7;
    case DType::kQ5_0: return 8;
    case DType::kQ5_1: return 9;
    case DType::kQ2_K: return 10;
    case DType::kQ3_K: return 12;
    case DType::kQ4_K: return 15;
    case DType::kQ5_K: return 17;
    case DType::kQ6_K: return 18;
    case DType::kIQ4_NL: return 25;
    case DType::kIQ4_XS: return 30;
    case DType::kBF16: return 32;
  }
  return 0;
}

}  // namespace kvpress
