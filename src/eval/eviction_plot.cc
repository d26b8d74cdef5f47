// RenderEvictionPlots (eviction_report.h): the position x sequence-length rasters and the
// attention-loss line plot. Each raster column is one prune event of a (layer, KV head), drawn from
// the sequence length at that prune to the next one, so the x axis is time in tokens; each row is
// a token position (0 at the top). A run of positions with the same life (first prune, evicting
// prune) is drawn as at most three <rect>s: kept, evicted now, evicted before.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "eval/eviction_report.h"
#include "eval/svg_plot.h"

namespace kvpress::eval {

namespace {

constexpr int kMaxPanelsPerFile = 32;
constexpr double kPanelHeight = 150, kGapX = 34, kGapY = 44, kLeft = 54, kTop = 86;

constexpr const char* kKeptColor = "#1f4e79";
constexpr const char* kNowColor = "#d62728";
constexpr const char* kBeforeColor = "#d9d9d9";

std::string Num(double v) { return fmt::format("{:.2f}", v); }

// One (layer, head) panel at (x0, y0) of size w x h; x spans sequence lengths [x_lo, x_hi).
void AppendPanel(const EvictionLogData& log, int layer, int head, double x0, double y0, double w, double h,
                 int64_t x_lo, int64_t x_hi, std::string& o) {
  const std::vector<const EvictionEvent*> ev = log.Of(layer, head);
  const int64_t rows = std::max<int64_t>(1, log.max_seen);
  auto px = [&](int64_t s) { return x0 + w * static_cast<double>(s - x_lo) / static_cast<double>(x_hi - x_lo); };
  auto py = [&](int64_t p) { return y0 + h * static_cast<double>(p) / static_cast<double>(rows); };
  o += fmt::format("<g class=\"panel\"><text x=\"{}\" y=\"{}\" font-size=\"11\">layer {} \u00b7 KV head {}</text>\n",
                   Num(x0), Num(y0 - 6), layer, head);
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"#999999\"/>\n",
                   Num(x0), Num(y0), Num(w), Num(h));
  // Each position's life: the first prune at which it exists, and the prune that evicted it (none =
  // size_t max). Over time it is kept from the first until the evicting prune, red for that prune's
  // column, grey after; so each run of positions sharing a life is at most three rectangles.
  constexpr size_t kNever = std::numeric_limits<size_t>::max();
  std::vector<size_t> born(static_cast<size_t>(rows), kNever), evicted_at(static_cast<size_t>(rows), kNever);
  int64_t existing = 0;  // positions 0 .. existing-1 exist from an earlier prune on
  for (size_t k = 0; k < ev.size(); ++k) {
    for (; existing < std::min(rows, ev[k]->seen); ++existing) born[static_cast<size_t>(existing)] = k;
    for (int64_t p : ev[k]->evicted) {
      if (p < rows) evicted_at[static_cast<size_t>(p)] = std::min(evicted_at[static_cast<size_t>(p)], k);
    }
  }
  // Column k spans sequence lengths [col[k], col[k + 1]); the last column is one token wide. Two
  // prunes at one length (none in the presses' logs) share a column: the later one shows.
  std::vector<int64_t> col(ev.size() + 1, 0);
  for (size_t k = 0; k < ev.size(); ++k) col[k] = ev[k]->seen;
  if (!ev.empty()) col[ev.size()] = std::max(ev.back()->seen, log.max_seen) + 1;
  auto rect = [&](int64_t x_from, int64_t x_to, int64_t p, int64_t q, const char* color) {
    if (x_to <= x_from) return;
    o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", Num(px(x_from)), Num(py(p)),
                     Num(px(x_to) - px(x_from)), Num(py(q) - py(p)), color);
  };
  for (int64_t p = 0; p < rows && !ev.empty();) {
    const size_t b = born[static_cast<size_t>(p)], e = evicted_at[static_cast<size_t>(p)];
    int64_t q = p + 1;
    while (q < rows && born[static_cast<size_t>(q)] == b && evicted_at[static_cast<size_t>(q)] == e) ++q;
    if (b != kNever) {
      const size_t last = ev.size();
      if (e == kNever) {
        rect(col[b], col[last], p, q, kKeptColor);
      } else {
        rect(col[b], col[e], p, q, kKeptColor);
        rect(col[e], col[e + 1], p, q, kNowColor);
        rect(col[e + 1], col[last], p, q, kBeforeColor);
      }
    }
    p = q;
  }
  // Axis ends: position 0 and the last one; the first and last sequence length.
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>\n", Num(x0 - 4), Num(y0 + 9));
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n", Num(x0 - 4),
                   Num(y0 + h), rows - 1);
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>\n", Num(x0), Num(y0 + h + 12), x_lo);
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n", Num(x0 + w),
                   Num(y0 + h + 12), x_hi - 1);
  o += "</g>\n";
}

// One SVG with the panels of layers [l0, l1).
std::string RasterSvg(const EvictionLogData& log, int l0, int l1) {
  const int cols = std::max(1, log.n_heads);
  const double w = std::clamp(640.0 / cols - kGapX, 140.0, 320.0);
  const double width = kLeft + cols * (w + kGapX) + 10;
  const double height = kTop + (l1 - l0) * (kPanelHeight + kGapY) + 30;
  int64_t x_lo = std::numeric_limits<int64_t>::max();
  for (const EvictionEvent& e : log.events) x_lo = std::min(x_lo, e.seen);
  if (log.events.empty()) x_lo = 0;
  const int64_t x_hi = std::max(x_lo + 1, log.max_seen + 1);
  std::string o = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\" shape-rendering=\"crispEdges\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      Num(width), Num(height));
  o += fmt::format("<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                   Num(width / 2), "which token positions the cache holds, prune by prune");
  o += fmt::format(
      "<text x=\"{}\" y=\"38\" text-anchor=\"middle\" fill=\"#444444\">rows: token position (0 at top); columns: "
      "sequence length at each prune (tokens)</text>\n",
      Num(width / 2));
  // Legend.
  double lx = kLeft;
  for (const auto& [color, label] : {std::pair<const char*, const char*>{kKeptColor, "kept"},
                                     {kNowColor, "evicted at this prune"},
                                     {kBeforeColor, "evicted earlier"},
                                     {"#ffffff", "not generated yet"}}) {
    o += fmt::format("<rect x=\"{}\" y=\"50\" width=\"12\" height=\"12\" fill=\"{}\" stroke=\"#999999\"/>\n", Num(lx),
                     color);
    o += fmt::format("<text x=\"{}\" y=\"60\">{}</text>\n", Num(lx + 16), label);
    lx += 30 + 7.0 * static_cast<double>(std::char_traits<char>::length(label));
  }
  for (int l = l0; l < l1; ++l) {
    for (int h = 0; h < log.n_heads; ++h) {
      AppendPanel(log, l, h, kLeft + h * (w + kGapX), kTop + (l - l0) * (kPanelHeight + kGapY), w, kPanelHeight, x_lo,
                  x_hi, o);
    }
  }
  o += "</svg>\n";
  return o;
}

}  // namespace

std::vector<SvgFile> RenderEvictionPlots(const EvictionLogData& log) {
  std::vector<SvgFile> files;
  const int heads = std::max(1, log.n_heads), layers = std::max(1, log.n_layers);
  const int per_file = std::max(1, kMaxPanelsPerFile / heads);
  if (layers <= per_file) {
    files.push_back({"evictions__raster.svg", RasterSvg(log, 0, layers)});
  } else {
    for (int l0 = 0; l0 < layers; l0 += per_file) {
      const int l1 = std::min(layers, l0 + per_file);
      files.push_back({fmt::format("evictions__raster_layers{:02d}-{:02d}.svg", l0, l1 - 1), RasterSvg(log, l0, l1)});
    }
  }
  // Attention mass lost per prune: mean over the layer's heads at each sequence length.
  LinePlot p;
  p.title = "attention mass lost per prune";
  p.subtitle = "the current query's attention on the slots each prune evicted (mean over KV heads)";
  p.x_label = "sequence length at the prune (tokens)";
  p.y_label = "attention mass lost";
  p.footnote = fmt::format("{} prune events, {} layers x {} KV heads", log.events.size(), log.n_layers, log.n_heads);
  std::vector<std::map<int64_t, std::pair<double, int>>> by_layer(static_cast<size_t>(log.n_layers));
  for (const EvictionEvent& e : log.events) {
    if (!e.attn_loss) continue;
    auto& [sum, count] = by_layer[static_cast<size_t>(e.layer)][e.seen];
    sum += *e.attn_loss;
    ++count;
  }
  for (int l = 0; l < log.n_layers; ++l) {
    PlotSeries s;
    s.name = fmt::format("layer {}", l);
    for (const auto& [seen, sc] : by_layer[static_cast<size_t>(l)])
      s.points.emplace_back(static_cast<double>(seen), sc.first / sc.second);
    s.markers = s.points.size() <= 80;
    p.series.push_back(s);
  }
  files.push_back({"evictions__attention_loss.svg", RenderSvgLinePlot(p)});
  return files;
}

}  // namespace kvpress::eval
