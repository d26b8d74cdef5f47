#include "eval/eviction_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <string_view>

#include "core/file_util.h"
#include "eval/svg_plot.h"

namespace kvpress::eval {

namespace {

constexpr std::string_view kHeader =
    "prune_step,layer_idx,head_idx,kv_len_pre,attn_len,diff_indices,attn_loss,evicted_positions";
constexpr int64_t kMaxLayersOrHeads = 4096;
constexpr int64_t kMaxPosition = int64_t{1} << 31;

bool ParseInt(std::string_view s, int64_t& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits one CSV line of the log: seven plain fields, then the quoted (or empty) position list.
bool SplitRow(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  for (int i = 0; i < 7; ++i) {
    const size_t comma = line.find(',');
    if (comma == std::string_view::npos) return false;
    fields.push_back(line.substr(0, comma));
    line.remove_prefix(comma + 1);
  }
  if (!line.empty() && line.front() == '"') {
    if (line.size() < 2 || line.back() != '"') return false;
    line = line.substr(1, line.size() - 2);
  }
  fields.push_back(line);
  return true;
}

}  // namespace

std::vector<const EvictionEvent*> EvictionLogData::Of(int layer, int head) const {
  std::vector<const EvictionEvent*> out;
  for (const EvictionEvent& e : events) {
    if (e.layer == layer && e.head == head) out.push_back(&e);
  }
  return out;
}

StatusOr<EvictionLogData> ReadEvictionLog(const std::string& path) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return NotFound(fmt::format("{}: cannot read the eviction log: {}", path, text.status().message()));
  EvictionLogData log;
  log.path = path;
  std::string_view rest(*text);
  int line_no = 0;
  std::vector<std::string_view> f;
  std::map<std::pair<int, int>, int64_t> evicted_before;  // (layer, head) -> positions evicted so far
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    const std::string where = fmt::format("{}:{}", path, line_no);
    if (line_no == 1) {
      if (line != kHeader) return DataLoss(fmt::format("{}: not an eviction log (expected the header '{}')", where, kHeader));
      continue;
    }
    if (line.empty()) continue;
    if (!SplitRow(line, f)) return DataLoss(where + ": expected 8 fields, the last one quoted");
    EvictionEvent e;
    int64_t layer = 0, head = 0, pos = 0;
    if (!ParseInt(f[0], e.prune_step) || !ParseInt(f[1], layer) || !ParseInt(f[2], head) ||
        !ParseInt(f[3], e.kv_len_pre) || !ParseInt(f[4], e.kept))
      return DataLoss(where + ": prune_step, layer_idx, head_idx, kv_len_pre and attn_len must be integers");
    if (layer < 0 || layer >= kMaxLayersOrHeads || head < 0 || head >= kMaxLayersOrHeads)
      return DataLoss(fmt::format("{}: layer_idx/head_idx must lie in [0, {})", where, kMaxLayersOrHeads));
    if (e.kv_len_pre < 0 || e.kv_len_pre > kMaxPosition || e.kept < 0 || e.kept > e.kv_len_pre)
      return DataLoss(where + ": need 0 <= attn_len <= kv_len_pre <= 2^31");
    if (!f[6].empty()) {
      const std::string loss(f[6]);
      char* end = nullptr;
      const double v = std::strtod(loss.c_str(), &end);
      if (end != loss.c_str() + loss.size() || !std::isfinite(v)) return DataLoss(where + ": attn_loss is not a number");
      e.attn_loss = v;
    }
    std::string_view list = f[7];
    while (!list.empty()) {
      const size_t sp = list.find(' ');
      const std::string_view tok = list.substr(0, sp);
      list.remove_prefix(sp == std::string_view::npos ? list.size() : sp + 1);
      if (tok.empty()) continue;
      if (!ParseInt(tok, pos) || pos < 0 || pos >= kMaxPosition)
        return DataLoss(fmt::format("{}: evicted position '{}' is not an integer in [0, 2^31)", where, tok));
      e.evicted.push_back(pos);
    }
    e.layer = static_cast<int>(layer);
    e.head = static_cast<int>(head);
    int64_t& before = evicted_before[{e.layer, e.head}];
    e.seen = e.kv_len_pre + before;
    for (int64_t p : e.evicted) e.seen = std::max(e.seen, p + 1);
    before += static_cast<int64_t>(e.evicted.size());
    log.n_layers = std::max(log.n_layers, e.layer + 1);
    log.n_heads = std::max(log.n_heads, e.head + 1);
    log.max_seen = std::max(log.max_seen, e.seen);
    log.events.push_back(std::move(e));
  }
  if (line_no == 0) return DataLoss(path + ": empty file, not an eviction log");
  return log;
}

std::string RenderEvictionSummary(const EvictionLogData& log) {
  std::string md = "# Evictions\n\n";
  md += fmt::format("`{}`: {} prune events over {} layers x {} KV heads; the sequence reached {} tokens.\n\n",
                    log.path, log.events.size(), log.n_layers, log.n_heads, log.max_seen);
  md += "| layer | KV head | prunes | positions evicted | slots kept at the end | attention mass lost (total) | "
        "largest loss in one prune |\n|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int l = 0; l < log.n_layers; ++l) {
    for (int h = 0; h < log.n_heads; ++h) {
      const std::vector<const EvictionEvent*> ev = log.Of(l, h);
      if (ev.empty()) continue;
      int64_t evicted = 0;
      double total = 0, largest = 0;
      bool has_loss = false;
      for (const EvictionEvent* e : ev) {
        evicted += static_cast<int64_t>(e->evicted.size());
        if (e->attn_loss) has_loss = true, total += *e->attn_loss, largest = std::max(largest, *e->attn_loss);
      }
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", l, h, ev.size(), evicted, ev.back()->kept,
                        has_loss ? fmt::format("{:.4f}", total) : "", has_loss ? fmt::format("{:.4f}", largest) : "");
    }
  }
  md += "\nAttention mass lost: the share of the current query's attention (mean over the KV head's query heads) "
        "that fell on the evicted slots at the moment of the prune.\n";
  return md;
}

StatusOr<std::vector<std::string>> WriteEvictionReport(const EvictionLogData& log, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !IsDirectory(out_dir))
    return NotFound(fmt::format("{}: cannot create output directory{}", out_dir, ec ? ": " + ec.message() : ""));
  std::vector<SvgFile> files = RenderEvictionPlots(log);
  files.insert(files.begin(), SvgFile{"evictions.md", RenderEvictionSummary(log)});
  std::vector<std::string> written;
  for (const SvgFile& f : files) {
    const std::string path = (std::filesystem::path(out_dir) / f.name).string();
    RETURN_IF_ERROR(WriteFileAtomic(path, f.svg));
    written.push_back(path);
  }
  return written;
}

}  // namespace kvpress::eval
