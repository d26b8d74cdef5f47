#include "press/kvzap_weights.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "ops/dtype.h"

namespace kvpress {
namespace {

// The tensor `name` as f32, checked to have `shape`.
StatusOr<std::vector<float>> Read(const TensorSet& set, const std::string& name,
                                  const std::vector<int64_t>& shape) {
  auto it = set.find(name);
  if (it == set.end()) return FailedPrecondition("kvzap weights: no tensor '" + name + "'");
  const TensorInfo& t = it->second;
  if (t.shape != shape) {
    return FailedPrecondition(fmt::format("kvzap weights: '{}' is {}, expected {}", name,
                                          ShapeString(t.shape), ShapeString(shape)));
  }
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  std::vector<float> out(n);
  if (t.dtype == DType::kF32) {
    std::memcpy(out.data(), t.data, n * sizeof(float));
  } else if (t.dtype == DType::kBF16 || t.dtype == DType::kF16) {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, t.data + 2 * i, 2);
      out[i] = t.dtype == DType::kBF16 ? BF16ToF32(v) : F16ToF32(v);
    }
  } else {
    return FailedPrecondition("kvzap weights: '" + name + "' must be f32, f16 or bf16");
  }
  return out;
}

double Gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

}  // namespace

Status KvzapWeights::CheckShape(const ModelConfig& c) const {
  if (n_layers != c.n_layers || input_dim != c.hidden_size || output_dim != c.n_kv_heads) {
    return FailedPrecondition(fmt::format(
        "kvzap weights are for {} layers, hidden size {}, {} KV heads; the model has {}, {}, {}",
        n_layers, input_dim, output_dim, c.n_layers, c.hidden_size, c.n_kv_heads));
  }
  return Status::Ok();
}

void KvzapWeights::Score(int layer, const float* h, float* out) const {
  const size_t l = static_cast<size_t>(layer);
  const size_t D = static_cast<size_t>(input_dim);
  auto affine = [](const float* w, const float* b, const float* x, size_t rows, size_t cols,
                   std::vector<double>& y) {
    y.assign(rows, 0.0);
    for (size_t r = 0; r < rows; ++r) {
      double acc = b[r];
      for (size_t c = 0; c < cols; ++c) acc += static_cast<double>(w[r * cols + c]) * x[c];
      y[r] = acc;
    }
  };
  std::vector<double> y;
  if (hidden_dim == 0) {
    affine(w1[l].data(), b1[l].data(), h, static_cast<size_t>(output_dim), D, y);
  } else {
    std::vector<double> z;
    affine(w1[l].data(), b1[l].data(), h, static_cast<size_t>(hidden_dim), D, z);
    std::vector<float> a(z.size());
    for (size_t i = 0; i < z.size(); ++i) a[i] = static_cast<float>(Gelu(z[i]));
    affine(w2[l].data(), b2[l].data(), a.data(), static_cast<size_t>(output_dim),
           static_cast<size_t>(hidden_dim), y);
  }
  for (size_t g = 0; g < y.size(); ++g) out[g] = static_cast<float>(y[g]);
}

StatusOr<KvzapWeights> LoadKvzapWeights(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  TensorSet set;
  RETURN_IF_ERROR(ReadSafetensors(*file, set));
  KvzapWeights w;
  const bool mlp = set.count("layers.0.0.weight") > 0;
  const std::string first = mlp ? "layers.0.0.weight" : "layers.0.weight";
  auto it = set.find(first);
  if (it == set.end() || it->second.shape.size() != 2) {
    return FailedPrecondition(path + ": no kvzap layer 0 (layers.0.weight or layers.0.0.weight)");
  }
  w.input_dim = static_cast<int>(it->second.shape[1]);
  if (mlp) {
    w.hidden_dim = static_cast<int>(it->second.shape[0]);
    auto out = set.find("layers.0.2.weight");
    if (out == set.end() || out->second.shape.size() != 2) {
      return FailedPrecondition(path + ": no layers.0.2.weight");
    }
    w.output_dim = static_cast<int>(out->second.shape[0]);
  } else {
    w.output_dim = static_cast<int>(it->second.shape[0]);
  }
  const auto layer_name = [mlp](int l) {
    return mlp ? fmt::format("layers.{}.0.weight", l) : fmt::format("layers.{}.weight", l);
  };
  while (set.count(layer_name(w.n_layers))) ++w.n_layers;
  const int64_t D = w.input_dim, F = w.hidden_dim, H = w.output_dim;
  for (int l = 0; l < w.n_layers; ++l) {
    if (mlp) {
      ASSIGN_OR_RETURN(auto a, Read(set, fmt::format("layers.{}.0.weight", l), {F, D}));
      ASSIGN_OR_RETURN(auto b, Read(set, fmt::format("layers.{}.0.bias", l), {F}));
      ASSIGN_OR_RETURN(auto c, Read(set, fmt::format("layers.{}.2.weight", l), {H, F}));
      ASSIGN_OR_RETURN(auto d, Read(set, fmt::format("layers.{}.2.bias", l), {H}));
      w.w1.push_back(std::move(a));
      w.b1.push_back(std::move(b));
      w.w2.push_back(std::move(c));
      w.b2.push_back(std::move(d));
    } else {
      ASSIGN_OR_RETURN(auto a, Read(set, fmt::format("layers.{}.weight", l), {H, D}));
      ASSIGN_OR_RETURN(auto b, Read(set, fmt::format("layers.{}.bias", l), {H}));
      w.w1.push_back(std::move(a));
      w.b1.push_back(std::move(b));
    }
  }
  return w;
}

}  // namespace kvpress
