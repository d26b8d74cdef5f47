#include "press/query_stats.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/mapped_file.h"
#include "model/safetensors.h"
#include "model/writers.h"
#include "ops/rope.h"

namespace kvpress {

Status QueryStats::CheckShape(const ModelConfig& c, bool need_filters, bool need_cov) const {
  if (n_layers != c.n_layers || n_heads != c.n_heads || head_dim != c.head_dim) {
    return FailedPrecondition(
        fmt::format("query statistics are for {} layers x {} heads x head dim {}, the model has "
                    "{} x {} x {}",
                    n_layers, n_heads, head_dim, c.n_layers, c.n_heads, c.head_dim));
  }
  if (need_cov && cov.empty()) {
    return FailedPrecondition(
        "query statistics hold no query_cov (use_covariance=0 works with the mean alone)");
  }
  if (need_filters && (filters.empty() || n_kv_heads != c.n_kv_heads)) {
    return FailedPrecondition(fmt::format(
        "query statistics hold no Q-filters for {} KV heads (make them with `kvpress stats`)",
        c.n_kv_heads));
  }
  return Status::Ok();
}

namespace {

TensorToWrite F32Tensor(const std::string& name, std::vector<int64_t> shape,
                        const std::vector<float>& x) {
  TensorToWrite t;
  t.name = name;
  t.shape = std::move(shape);
  t.bytes.resize(x.size() * sizeof(float));
  std::memcpy(t.bytes.data(), x.data(), t.bytes.size());
  return t;
}

StatusOr<std::vector<float>> ReadF32(const TensorSet& set, const std::string& name, size_t rank,
                                     std::vector<int64_t>& shape) {
  auto it = set.find(name);
  if (it == set.end()) return FailedPrecondition("query statistics: no tensor '" + name + "'");
  const TensorInfo& t = it->second;
  if (t.dtype != DType::kF32 || t.shape.size() != rank) {
    return FailedPrecondition(fmt::format("query statistics: '{}' must be f32 of rank {}, is {}",
                                          name, rank, ShapeString(t.shape)));
  }
  shape = t.shape;
  std::vector<float> out(t.nbytes / sizeof(float));
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

}  // namespace

Status SaveQueryStats(const std::string& path, const QueryStats& s) {
  const int64_t L = s.n_layers, H = s.n_heads, KV = s.n_kv_heads, hd = s.head_dim;
  std::vector<TensorToWrite> t = {F32Tensor("query_mean", {L, H, hd}, s.mean),
                                  F32Tensor("n_queries", {L}, s.n_queries)};
  if (!s.cov.empty()) t.push_back(F32Tensor("query_cov", {L, H, hd, hd}, s.cov));
  if (!s.filters.empty()) t.push_back(F32Tensor("query_filters", {L, KV, hd}, s.filters));
  return WriteSafetensors(path, t);
}

StatusOr<QueryStats> LoadQueryStats(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  TensorSet set;
  RETURN_IF_ERROR(ReadSafetensors(*file, set));
  QueryStats s;
  std::vector<int64_t> mshape, cshape;
  ASSIGN_OR_RETURN(s.mean, ReadF32(set, "query_mean", 3, mshape));
  s.n_layers = static_cast<int>(mshape[0]);
  s.n_heads = static_cast<int>(mshape[1]);
  s.head_dim = static_cast<int>(mshape[2]);
  if (set.count("query_cov")) {
    ASSIGN_OR_RETURN(s.cov, ReadF32(set, "query_cov", 4, cshape));
  }
  if (!s.cov.empty() &&
      cshape != std::vector<int64_t>{mshape[0], mshape[1], mshape[2], mshape[2]}) {
    return FailedPrecondition(fmt::format("{}: query_cov {} does not match query_mean {}", path,
                                          ShapeString(cshape), ShapeString(mshape)));
  }
  if (set.count("query_filters")) {
    std::vector<int64_t> fshape;
    ASSIGN_OR_RETURN(s.filters, ReadF32(set, "query_filters", 3, fshape));
    if (fshape[0] != mshape[0] || fshape[2] != mshape[2]) {
      return FailedPrecondition(fmt::format("{}: query_filters {} does not match query_mean {}",
                                            path, ShapeString(fshape), ShapeString(mshape)));
    }
    s.n_kv_heads = static_cast<int>(fshape[1]);
  }
  if (set.count("n_queries")) {
    std::vector<int64_t> nshape;
    ASSIGN_OR_RETURN(s.n_queries, ReadF32(set, "n_queries", 1, nshape));
  }
  return s;
}

QueryStatsCollector::QueryStatsCollector(const ModelConfig& config, int n_sink)
    : config_(config), n_sink_(n_sink), inv_freq_(config.RopeInvFreq()) {
  const size_t L = static_cast<size_t>(config.n_layers), H = static_cast<size_t>(config.n_heads),
               KV = static_cast<size_t>(config.n_kv_heads),
               hd = static_cast<size_t>(config.head_dim);
  count_.assign(L, 0.0);
  sum_.assign(L * H * hd, 0.0);
  sum_sq_.assign(L * H * hd * hd, 0.0);
  group_sq_.assign(L * KV * hd * hd, 0.0);
  group_sum_.assign(L * KV * hd, 0.0);
}

void QueryStatsCollector::AfterAttention(const LayerHookContext& ctx) {
  const int H = config_.n_heads, hd = config_.head_dim,
            group = config_.n_heads / config_.n_kv_heads;
  const size_t qd = static_cast<size_t>(H) * static_cast<size_t>(hd),
               l = static_cast<size_t>(ctx.layer);
  std::vector<float> pre(qd);  // [H, hd]
  for (int t = 0; t < ctx.n_tokens; ++t) {
    const int32_t pos = ctx.positions[static_cast<size_t>(t)];
    if (pos < n_sink_) continue;
    const float* post = ctx.queries + static_cast<size_t>(t) * qd;
    std::copy_n(post, qd, pre.begin());
    ApplyRope(pre.data(), H, hd, -pos, inv_freq_.data(), config_.rope_style);
    for (int h = 0; h < H; ++h) {
      const float* q = pre.data() + static_cast<size_t>(h) * hd;
      const float* p = post + static_cast<size_t>(h) * hd;
      double* s1 = sum_.data() + (l * H + h) * hd;
      double* s2 = sum_sq_.data() + (l * H + h) * hd * hd;
      const size_t g = l * config_.n_kv_heads + static_cast<size_t>(h / group);
      double* g1 = group_sum_.data() + g * hd;
      double* g2 = group_sq_.data() + g * hd * hd;
      for (int i = 0; i < hd; ++i) {
        s1[i] += q[i];
        g1[i] += p[i];
        for (int k = 0; k < hd; ++k) {
          s2[i * hd + k] += static_cast<double>(q[i]) * q[k];
          g2[i * hd + k] += static_cast<double>(p[i]) * p[k];
        }
      }
    }
    count_[l] += 1;
  }
}

QueryStats QueryStatsCollector::Finish() const {
  QueryStats s;
  s.n_layers = config_.n_layers, s.n_heads = config_.n_heads, s.n_kv_heads = config_.n_kv_heads;
  s.head_dim = config_.head_dim;
  const size_t L = static_cast<size_t>(s.n_layers), H = static_cast<size_t>(s.n_heads),
               KV = static_cast<size_t>(s.n_kv_heads), hd = static_cast<size_t>(s.head_dim);
  s.mean.assign(L * H * hd, 0.0f);
  s.cov.assign(L * H * hd * hd, 0.0f);
  s.filters.assign(L * KV * hd, 0.0f);
  s.n_queries.assign(count_.begin(), count_.end());
  for (size_t l = 0; l < L; ++l) {
    const double m = count_[l];
    if (m == 0) continue;
    for (size_t h = 0; h < H; ++h) {
      const double* s1 = sum_.data() + (l * H + h) * hd;
      const double* s2 = sum_sq_.data() + (l * H + h) * hd * hd;
      for (size_t i = 0; i < hd; ++i) {
        s.mean[(l * H + h) * hd + i] = static_cast<float>(s1[i] / m);
        for (size_t k = 0; k < hd; ++k) {
          s.cov[((l * H + h) * hd + i) * hd + k] =
              static_cast<float>(s2[i * hd + k] / m - (s1[i] / m) * (s1[k] / m));
        }
      }
    }
    for (size_t g = 0; g < KV; ++g) {
      const size_t at = l * KV + g;
      std::vector<double> a(group_sq_.begin() + static_cast<std::ptrdiff_t>(at * hd * hd),
                            group_sq_.begin() + static_cast<std::ptrdiff_t>((at + 1) * hd * hd));
      std::vector<double> u = TopEigenvector(std::move(a), static_cast<int>(hd));
      double proj = 0;
      for (size_t i = 0; i < hd; ++i) proj += u[i] * group_sum_[at * hd + i];
      for (size_t i = 0; i < hd; ++i)
        s.filters[at * hd + i] = static_cast<float>(proj < 0 ? -u[i] : u[i]);
    }
  }
  return s;
}

std::vector<double> AverageRopeRotation(const ModelConfig& config,
                                        const std::vector<float>& inv_freq, int q_len,
                                        int n_future) {
  const int hd = config.head_dim, half = hd / 2;
  std::vector<double> r(static_cast<size_t>(hd * hd), 0.0);
  for (int i = 0; i < half; ++i) {
    double c = 0, s = 0;
    for (int p = q_len; p < q_len + n_future; ++p) {
      const float angle = static_cast<float>(p) * inv_freq[static_cast<size_t>(i)];
      c += static_cast<float>(std::cos(static_cast<double>(angle)));
      s += static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    c /= n_future;
    s /= n_future;
    // The rotary pair (a, b): rotate-half pairs i with i + hd/2, interleaved 2i with 2i + 1.
    const int a = config.rope_style == RopeStyle::kRotateHalf ? i : 2 * i;
    const int b = config.rope_style == RopeStyle::kRotateHalf ? i + half : 2 * i + 1;
    r[static_cast<size_t>(a * hd + a)] = c;
    r[static_cast<size_t>(a * hd + b)] = -s;
    r[static_cast<size_t>(b * hd + a)] = s;
    r[static_cast<size_t>(b * hd + b)] = c;
  }
  return r;
}

std::vector<double> TopEigenvector(std::vector<double> a, int n) {
  const size_t N = static_cast<size_t>(n);
  std::vector<double> v(N * N, 0.0);  // [n, n] columns = eigenvectors
  for (size_t i = 0; i < N; ++i) v[i * N + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = 0; j < N; ++j) (i == j ? total : off) += a[i * N + j] * a[i * N + j];
    }
    if (off <= 1e-26 * (total + off)) break;
    for (size_t p = 0; p < N; ++p) {
      for (size_t q = p + 1; q < N; ++q) {
        const double apq = a[p * N + q];
        if (apq == 0) continue;
        const double theta = (a[q * N + q] - a[p * N + p]) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t k = 0; k < N; ++k) {  // rotate columns p, q
          const double akp = a[k * N + p], akq = a[k * N + q];
          a[k * N + p] = c * akp - s * akq;
          a[k * N + q] = s * akp + c * akq;
        }
        for (size_t k = 0; k < N; ++k) {  // rotate rows p, q
          const double apk = a[p * N + k], aqk = a[q * N + k];
          a[p * N + k] = c * apk - s * aqk;
          a[q * N + k] = s * apk + c * aqk;
        }
        for (size_t k = 0; k < N; ++k) {
          const double vkp = v[k * N + p], vkq = v[k * N + q];
          v[k * N + p] = c * vkp - s * vkq;
          v[k * N + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < N; ++i) {
    if (a[i * N + i] > a[best * N + best]) best = i;
  }
  std::vector<double> u(N);
  double norm = 0;
  for (size_t k = 0; k < N; ++k) norm += v[k * N + best] * v[k * N + best];
  for (size_t k = 0; k < N; ++k) u[k] = v[k * N + best] / std::sqrt(norm);
  return u;
}

}  // namespace kvpress
