#include "press/duo_patterns.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/check.h"
#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "model/writers.h"
#include "ops/rope.h"

namespace kvpress {
namespace {

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

StatusOr<DuoPatterns> LoadTsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open the DuoAttention patterns file");
  DuoPatterns p;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::vector<double> row;
    for (std::string cell; std::getline(fields, cell, '\t');) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end == cell.c_str() || !std::isfinite(v)) {
        return FailedPrecondition(fmt::format("{}:{}: '{}' is not a number", path, line_no, cell));
      }
      row.push_back(std::clamp(v, 0.0, 1.0));  // as upstream (duo_attn.utils.load_attn_pattern)
    }
    if (p.n_layers == 0) p.n_kv_heads = static_cast<int>(row.size());
    if (static_cast<int>(row.size()) != p.n_kv_heads) {
      return FailedPrecondition(fmt::format("{}:{}: {} values, the first row has {}", path, line_no,
                                            row.size(), p.n_kv_heads));
    }
    p.head_scores.insert(p.head_scores.end(), row.begin(), row.end());
    ++p.n_layers;
  }
  if (p.n_layers == 0 || p.n_kv_heads == 0) return FailedPrecondition(path + ": no head scores");
  return p;
}

StatusOr<DuoPatterns> LoadSafetensorsPatterns(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  TensorSet set;
  RETURN_IF_ERROR(ReadSafetensors(*file, set));
  auto it = set.find("head_scores");
  if (it == set.end()) return FailedPrecondition(path + ": no tensor 'head_scores' [L, H_kv]");
  const TensorInfo& t = it->second;
  if (t.dtype != DType::kF32 || t.shape.size() != 2) {
    return FailedPrecondition(
        fmt::format("{}: 'head_scores' must be f32 [L, H_kv], is {}", path, ShapeString(t.shape)));
  }
  DuoPatterns p;
  p.n_layers = static_cast<int>(t.shape[0]);
  p.n_kv_heads = static_cast<int>(t.shape[1]);
  std::vector<float> v(t.nbytes / sizeof(float));
  std::memcpy(v.data(), t.data, t.nbytes);
  for (float x : v) {
    if (!std::isfinite(x)) return FailedPrecondition(path + ": non-finite head score");
  }
  p.head_scores.assign(v.begin(), v.end());
  return p;
}

}  // namespace

StatusOr<DuoPatterns> LoadDuoPatterns(const std::string& path) {
  if (EndsWith(path, ".tsv")) return LoadTsv(path);
  if (EndsWith(path, ".safetensors")) return LoadSafetensorsPatterns(path);
  return FailedPrecondition(
      path + ": DuoAttention patterns must be a .tsv (full_attention_heads.tsv) or .safetensors");
}

Status SaveDuoPatterns(const std::string& path, const DuoPatterns& patterns) {
  CHECK(patterns.head_scores.size() ==
        static_cast<size_t>(patterns.n_layers) * static_cast<size_t>(patterns.n_kv_heads));
  TensorToWrite t;
  t.name = "head_scores";
  t.shape = {patterns.n_layers, patterns.n_kv_heads};
  std::vector<float> v(patterns.head_scores.begin(), patterns.head_scores.end());
  t.bytes.resize(v.size() * sizeof(float));
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return WriteSafetensors(path, {t});
}

std::vector<double> DuoLayerScores(const ModelConfig& config, const std::vector<float>& mean_q,
                                   const std::vector<float>& mean_k, int q_len) {
  const int H = config.n_heads, KV = config.n_kv_heads, hd = config.head_dim, group = H / KV;
  CHECK(mean_q.size() == static_cast<size_t>(H) * hd);
  CHECK(mean_k.size() == static_cast<size_t>(KV) * hd);
  CHECK(q_len > 0);
  const std::vector<float> inv_freq = config.RopeInvFreq();
  // The last query (position q_len − 1) and the keys at every position, rotated in f32 as the
  // model's rotary embedding does.
  std::vector<float> q = mean_q;  // [H, hd]
  ApplyRope(q.data(), H, hd, q_len - 1, inv_freq.data(), config.rope_style);
  std::vector<float> keys(static_cast<size_t>(q_len) * KV * hd);  // [q_len, KV, hd]
  for (int j = 0; j < q_len; ++j) {
    float* k = keys.data() + static_cast<size_t>(j) * KV * hd;
    std::copy(mean_k.begin(), mean_k.end(), k);
    ApplyRope(k, KV, hd, j, inv_freq.data(), config.rope_style);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<double> out(static_cast<size_t>(KV), 0.0), logit(static_cast<size_t>(q_len));
  for (int h = 0; h < H; ++h) {
    const int g = h / group;
    const float* qh = q.data() + static_cast<size_t>(h) * hd;
    double top = -INFINITY;
    for (int j = 0; j < q_len; ++j) {
      const float* k = keys.data() + (static_cast<size_t>(j) * KV + g) * hd;
      double dot = 0;
      for (int i = 0; i < hd; ++i) dot += static_cast<double>(qh[i]) * k[i];
      logit[static_cast<size_t>(j)] = dot * scale;
      top = std::max(top, logit[static_cast<size_t>(j)]);
    }
    double z = 0;
    for (double& x : logit) z += (x = std::exp(x - top));
    // Area under the cumulated attention curve: mean over j of Σ_{i<=j} p_i.
    double cum = 0, area = 0;
    for (double x : logit) area += (cum += x / z);
    out[static_cast<size_t>(g)] += area / q_len / group;
  }
  return out;
}

DuoPatternCollector::DuoPatternCollector(const ModelConfig& config)
    : config_(config), inv_freq_(config.RopeInvFreq()) {
  const size_t L = static_cast<size_t>(config.n_layers), hd = static_cast<size_t>(config.head_dim);
  sum_q_.assign(L, std::vector<double>(static_cast<size_t>(config.n_heads) * hd, 0.0));
  sum_k_.assign(L, std::vector<double>(static_cast<size_t>(config.n_kv_heads) * hd, 0.0));
  count_.assign(L, 0);
  total_.assign(L * static_cast<size_t>(config.n_kv_heads), 0.0);
}

void DuoPatternCollector::AfterAttention(const LayerHookContext& ctx) {
  const int H = config_.n_heads, KV = config_.n_kv_heads, hd = config_.head_dim;
  const size_t qd = static_cast<size_t>(H) * hd;
  std::vector<double>& sq = sum_q_[static_cast<size_t>(ctx.layer)];
  std::vector<double>& sk = sum_k_[static_cast<size_t>(ctx.layer)];
  std::vector<float> q(qd), k(static_cast<size_t>(hd));  // [H, hd], [hd]
  for (int t = 0; t < ctx.n_tokens; ++t) {
    const int32_t pos = ctx.positions[static_cast<size_t>(t)];
    std::copy_n(ctx.queries + static_cast<size_t>(t) * qd, qd, q.begin());
    ApplyRope(q.data(), H, hd, -pos, inv_freq_.data(), config_.rope_style);
    for (size_t i = 0; i < qd; ++i) sq[i] += q[i];
    for (int g = 0; g < KV; ++g) {
      // The chunk's slots are the last n_tokens of the head (the hook runs before any pruning).
      const int slot = ctx.cache->Size(ctx.layer, g) - ctx.n_tokens + t;
      ctx.cache->KeyAt(ctx.layer, g, slot, k.data());
      ApplyRope(k.data(), 1, hd, -pos, inv_freq_.data(), config_.rope_style);
      for (int i = 0; i < hd; ++i) sk[static_cast<size_t>(g) * hd + i] += k[static_cast<size_t>(i)];
    }
  }
  count_[static_cast<size_t>(ctx.layer)] += ctx.n_tokens;
}

void DuoPatternCollector::EndSample() {
  if (count_[0] == 0) return;
  const int KV = config_.n_kv_heads;
  for (int l = 0; l < config_.n_layers; ++l) {
    const double n = std::max<double>(1.0, static_cast<double>(count_[static_cast<size_t>(l)]));
    const auto mean = [&](std::vector<double>& s) {  // f32, as upstream's tensors; then cleared
      std::vector<float> m(s.size());
      for (size_t i = 0; i < s.size(); ++i) m[i] = static_cast<float>(s[i] / n);
      std::fill(s.begin(), s.end(), 0.0);
      return m;
    };
    const std::vector<float> q = mean(sum_q_[static_cast<size_t>(l)]);
    const std::vector<float> k = mean(sum_k_[static_cast<size_t>(l)]);
    const std::vector<double> s = DuoLayerScores(config_, q, k);
    for (int g = 0; g < KV; ++g)
      total_[static_cast<size_t>(l * KV + g)] += s[static_cast<size_t>(g)];
    count_[static_cast<size_t>(l)] = 0;
  }
  ++samples_;
}

DuoPatterns DuoPatternCollector::Finish() const {
  DuoPatterns p;
  p.n_layers = config_.n_layers;
  p.n_kv_heads = config_.n_kv_heads;
  p.head_scores = total_;
  for (double& x : p.head_scores) x /= std::max(1, samples_);
  return p;
}

std::vector<uint8_t> DuoStreamingMask(const std::vector<double>& head_scores, double fraction) {
  const size_t n = head_scores.size();
  const int n_streaming = static_cast<int>(std::nearbyint(static_cast<double>(n) * fraction));
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return head_scores[static_cast<size_t>(a)] < head_scores[static_cast<size_t>(b)];
  });
  std::vector<uint8_t> mask(n, 0);
  for (int i = 0; i < std::min<int>(n_streaming, static_cast<int>(n)); ++i)
    mask[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
  return mask;
}

}  // namespace kvpress
