#include "eval/report_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

#include "core/log.h"
#include "eval/result_file.h"

namespace kvpress::eval {

namespace fs = std::filesystem;
using nlohmann::json;

StatusOr<std::map<std::string, bool>> LoadOutcomes(const ScoreRow& row) {
  const std::string name = row.Text("result_file");
  if (name.empty()) return NotFound(row.score_file + ": names no result_file (per-sample rows)");
  fs::path path(name);
  if (path.is_relative()) path = fs::path(row.score_file).parent_path() / path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound(path.string() + ": result file not found");
  ASSIGN_OR_RETURN(std::vector<json> rows, ReadResultRows(path.string(), /*repair=*/false));
  std::map<std::string, bool> outcomes;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    std::string id = fmt::format("#{}", i + 1);
    for (const char* key : {kSampleIdKey, "id"}) {
      auto it = r.find(key);
      if (it != r.end() && !it->is_null()) {
        id = it->is_string() ? it->get<std::string>() : it->dump();
        break;
      }
    }
    auto correct = r.find("correct");
    outcomes[id] = correct != r.end() && correct->is_boolean() && correct->get<bool>();
  }
  return outcomes;
}

void AddAccuracyIntervals(std::vector<ReportGroup>& groups, const BootstrapOptions& options) {
  std::map<std::pair<int64_t, int64_t>, Interval> cache;  // (correct, n) -> bootstrap interval
  for (ReportGroup& g : groups) {
    g.bootstrap = options;
    for (ScoreRow& r : g.rows) {
      const std::optional<double> n = r.Number("num_samples");
      if (!n || *n < 1 || *n != std::floor(*n) || *n > 1e9) continue;
      AccuracyStats s;
      s.n = static_cast<int64_t>(*n);
      s.correct = std::clamp<int64_t>(std::llround(r.accuracy * *n), 0, s.n);
      s.wilson = WilsonInterval(s.correct, s.n);
      auto [it, added] = cache.try_emplace({s.correct, s.n});
      if (added && s.n > kMaxBootstrapSamples) {
        it->second = s.wilson;
      } else if (added) {
        std::vector<double> x(static_cast<size_t>(s.n), 0.0);
        std::fill(x.begin(), x.begin() + s.correct, 1.0);
        it->second = BootstrapMeanInterval(x, options);
      }
      s.bootstrap = it->second;
      r.stats = s;
    }
  }
}

namespace {

bool IsPress(const ScoreRow& r, const std::string& press) { return r.PressLabel() == press || r.press_name == press; }

std::string BaselineLabel(const ScoreRow& r) {
  return r.IsFull() ? r.PressLabel() : fmt::format("{} @ {}", r.PressLabel(), r.cache_budget);
}

// The baseline row for `r` in `g`, or nullptr.
const ScoreRow* FindBaseline(const ReportGroup& g, const ScoreRow& r, const std::string& baseline) {
  const ScoreRow* any_budget = nullptr;
  for (const ScoreRow& b : g.rows) {
    if (!IsPress(b, baseline) || g.VariantLabel(b) != g.VariantLabel(r)) continue;
    if (b.IsFull() || b.cache_budget == r.cache_budget) return &b;
    if (any_budget == nullptr) any_budget = &b;
  }
  return r.IsFull() ? nullptr : any_budget;
}

}  // namespace

void AddComparisons(std::vector<ReportGroup>& groups, const std::string& baseline, const BootstrapOptions& options,
                    double alpha) {
  std::map<std::string, StatusOr<std::map<std::string, bool>>> outcomes;  // score file -> per-sample outcomes
  auto load = [&](const ScoreRow& r) -> const StatusOr<std::map<std::string, bool>>& {
    auto it = outcomes.find(r.score_file);
    if (it == outcomes.end()) it = outcomes.emplace(r.score_file, LoadOutcomes(r)).first;
    return it->second;
  };
  for (ReportGroup& g : groups) {
    g.compare_to = baseline;
    g.alpha = alpha;
    std::vector<ScoreRow*> computed;
    for (ScoreRow& r : g.rows) {
      if (IsPress(r, baseline)) continue;
      Comparison c;
      const ScoreRow* base = FindBaseline(g, r, baseline);
      if (base == nullptr) {
        c.unavailable = fmt::format("no '{}' run{}", baseline, g.VariantLabel(r).empty() ? "" : " of this variant");
        r.comparison = c;
        continue;
      }
      c.baseline_label = BaselineLabel(*base);
      c.baseline_file = base->score_file;
      const auto& mine = load(r);
      const auto& theirs = load(*base);
      if (!mine.ok() || !theirs.ok()) {
        c.unavailable = (!mine.ok() ? mine : theirs).status().message();
        Log(LogLevel::kWarning, "report: no paired comparison for {}: {}", r.score_file, c.unavailable);
        r.comparison = c;
        continue;
      }
      std::vector<double> a, b;  // baseline, this run; paired by sample id
      for (const auto& [id, ok] : theirs.value()) {
        auto it = mine->find(id);
        if (it == mine->end()) continue;
        a.push_back(ok ? 1.0 : 0.0);
        b.push_back(it->second ? 1.0 : 0.0);
        c.b += ok && !it->second;
        c.c += !ok && it->second;
      }
      c.n_paired = static_cast<int64_t>(a.size());
      c.partial = a.size() != mine->size() || a.size() != theirs->size();
      if (a.empty()) {
        c.unavailable = "no sample in common with the baseline";
        r.comparison = c;
        continue;
      }
      c.delta = static_cast<double>(c.c - c.b) / static_cast<double>(c.n_paired);
      if (a.size() <= static_cast<size_t>(kMaxBootstrapSamples)) {
        c.delta_ci = PairedBootstrapDiffInterval(a, b, options);
      } else {  // Var of the mean paired difference: ((b + c)/n - delta^2) / n
        const double n = static_cast<double>(c.n_paired);
        const double half = kZ95 * std::sqrt(std::max(0.0, (static_cast<double>(c.b + c.c) / n - c.delta * c.delta) / n));
        c.delta_ci = {c.delta - half, c.delta + half};
      }
      c.p = McNemarExactP(c.b, c.c);
      r.comparison = c;
      computed.push_back(&r);
    }
    std::vector<double> p;
    for (const ScoreRow* r : computed) p.push_back(r->comparison->p);
    const std::vector<double> adjusted = HolmAdjust(p);
    for (size_t i = 0; i < computed.size(); ++i) {
      computed[i]->comparison->p_holm = adjusted[i];
      computed[i]->comparison->significant = adjusted[i] < alpha;
    }
  }
}

void OrderRows(std::vector<ReportGroup>& groups, const std::vector<std::string>& order, bool by_name) {
  for (ReportGroup& g : groups) {
    std::map<std::string, std::pair<double, int>> acc;  // label -> (sum, count)
    for (const ScoreRow& r : g.rows) {
      auto& [sum, count] = acc[r.PressLabel()];
      sum += r.accuracy;
      ++count;
    }
    auto rank = [&](const ScoreRow& r) {
      for (size_t i = 0; i < order.size(); ++i) {
        if (IsPress(r, order[i])) return std::make_tuple(static_cast<int>(i), 0.0, r.PressLabel());
      }
      const auto& [sum, count] = acc[r.PressLabel()];
      return std::make_tuple(static_cast<int>(order.size()), by_name ? 0.0 : -sum / count, r.PressLabel());
    };
    std::stable_sort(g.rows.begin(), g.rows.end(), [&](const ScoreRow& a, const ScoreRow& b) {
      return std::make_tuple(!a.IsFull(), rank(a), a.cache_budget, a.Text("protocol"), a.Text("scoring"),
                             a.Number("random_seed"), a.score_file) <
             std::make_tuple(!b.IsFull(), rank(b), b.cache_budget, b.Text("protocol"), b.Text("scoring"),
                             b.Number("random_seed"), b.score_file);
    });
  }
}

}  // namespace kvpress::eval
