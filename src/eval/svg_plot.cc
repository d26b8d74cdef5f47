#include "eval/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kvpress::eval {

namespace {

// Canvas and plot-area geometry (px).
constexpr double kWidth = 720, kHeight = 460;
constexpr double kLeft = 70, kRight = 540, kTop = 56, kBottom = 380;
constexpr double kLegendX = 556;
constexpr size_t kMaxLegendChars = 26;
constexpr size_t kMaxTitleChars = 90;

// Tableau 10: distinguishable, and fixed so that output is deterministic.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Reference lines: dark to light grey.
constexpr const char* kRefColors[] = {"#333333", "#777777", "#aaaaaa"};

std::string Num(double v) { return fmt::format("{:.2f}", v); }

// "64", "0.2", "1e+06": short and stable tick labels.
std::string TickLabel(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  if (std::fabs(v) < 1e15 && v == std::round(v)) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{:g}", v);
}

// 1, 2 or 5 times a power of ten, >= raw.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

// An axis: the value range mapped onto the pixel range, plus tick positions.
struct Axis {
  double lo = 0, hi = 1;
  bool log2 = false;
  std::vector<double> ticks;

  double Fraction(double v) const {
    if (log2) return (std::log2(v) - std::log2(lo)) / (std::log2(hi) - std::log2(lo));
    return (v - lo) / (hi - lo);
  }
};

Axis LinearAxis(double lo, double hi, bool expand) {
  if (!(hi > lo)) {  // one value: pad around it
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.5;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  const double step = NiceStep((hi - lo) / 5);
  if (expand) {
    lo = std::floor(lo / step + 1e-9) * step;
    hi = std::ceil(hi / step - 1e-9) * step;
  }
  a.lo = lo;
  a.hi = hi;
  const double first = std::ceil(lo / step - 1e-9);
  for (int i = 0; i < 100; ++i) {
    const double t = (first + i) * step;
    if (t > hi + step * 1e-9) break;
    a.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  }
  return a;
}

Axis Log2Axis(double lo, double hi) {
  Axis a;
  a.log2 = true;
  int k0 = static_cast<int>(std::floor(std::log2(lo) + 1e-9));
  int k1 = static_cast<int>(std::ceil(std::log2(hi) - 1e-9));
  if (k1 == k0) ++k1;
  a.lo = std::ldexp(1.0, k0);
  a.hi = std::ldexp(1.0, k1);
  const int stride = (k1 - k0 + 9) / 10;  // at most ~11 ticks
  for (int k = k0; k <= k1; k += stride) a.ticks.push_back(std::ldexp(1.0, k));
  return a;
}

double Px(const Axis& x, double v) { return kLeft + x.Fraction(v) * (kRight - kLeft); }
double Py(const Axis& y, double v) { return kBottom - y.Fraction(v) * (kBottom - kTop); }

// Shortens `s` to at most `n` bytes (on a UTF-8 boundary), marking the cut with "...".
std::string Ellipsize(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

}  // namespace

const char* PaletteColor(size_t i) { return kPalette[i % std::size(kPalette)]; }

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string SanitizeFileName(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::string RenderSvgLinePlot(const LinePlot& plot) {
  // Finite points, sorted by x, per series, each with its error bar (NaN ends when none).
  struct Point {
    double x, y, lo, hi;
  };
  std::vector<std::vector<Point>> pts;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  auto extend_y = [&](double v) {
    if (!std::isfinite(v)) return;
    ymin = std::min(ymin, v);
    ymax = std::max(ymax, v);
  };
  for (const PlotSeries& s : plot.series) {
    auto& p = pts.emplace_back();
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto [x, y] = s.points[i];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      const bool has_bar = i < s.errors.size() && std::isfinite(s.errors[i].first) && std::isfinite(s.errors[i].second);
      p.push_back({x, y, has_bar ? s.errors[i].first : NAN, has_bar ? s.errors[i].second : NAN});
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      extend_y(y);
      extend_y(p.back().lo);
      extend_y(p.back().hi);
    }
    std::stable_sort(p.begin(), p.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  }
  std::vector<ReferenceLine> refs;
  for (const ReferenceLine& r : plot.references) {
    if (!std::isfinite(r.y)) continue;
    refs.push_back(r);
    extend_y(r.y);
    if (r.band) extend_y(r.band->first), extend_y(r.band->second);
  }
  if (xmin > xmax) xmin = xmax = 0;
  if (ymin > ymax) ymin = ymax = 0;

  const Axis xa = plot.log2_x && xmin > 0 ? Log2Axis(xmin, xmax) : LinearAxis(xmin, xmax, true);
  const Axis ya = plot.y_range ? LinearAxis(plot.y_range->first, plot.y_range->second, false)
                               : LinearAxis(std::min(0.0, ymin), ymax, true);

  std::string o;
  o += fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      kWidth, kHeight);
  o += fmt::format("<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                   Num(kWidth / 2), XmlEscape(Ellipsize(plot.title, kMaxTitleChars)));
  if (!plot.subtitle.empty())
    o += fmt::format("<text x=\"{}\" y=\"38\" text-anchor=\"middle\" fill=\"#444444\">{}</text>\n", Num(kWidth / 2),
                   XmlEscape(Ellipsize(plot.subtitle, kMaxTitleChars)));

  // Grid, ticks and tick labels.
  o += "<g class=\"axes\" stroke=\"#000000\" stroke-width=\"1\">\n";
  for (double t : ya.ticks) {
    const std::string y = Num(Py(ya, t));
    o += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#e0e0e0\"/>\n", Num(kLeft),
                     Num(kRight), y);
    o += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>\n", Num(kLeft - 5), Num(kLeft), y);
  }
  for (double t : xa.ticks) {
    const std::string x = Num(Px(xa, t));
    o += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", x, Num(kBottom), Num(kBottom + 5));
  }
  o += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", Num(kLeft), Num(kTop), Num(kBottom));
  o += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>\n", Num(kLeft), Num(kRight), Num(kBottom));
  o += "</g>\n<g class=\"tick-labels\" fill=\"#000000\">\n";
  for (double t : ya.ticks) {
    o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", Num(kLeft - 8),
                     Num(Py(ya, t) + 4), XmlEscape(TickLabel(t)));
  }
  for (double t : xa.ticks) {
    o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", Num(Px(xa, t)),
                     Num(kBottom + 20), XmlEscape(TickLabel(t)));
  }
  o += "</g>\n";
  o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", Num((kLeft + kRight) / 2),
                   Num(kBottom + 45), XmlEscape(plot.x_label + (xa.log2 ? " (log scale)" : "")));
  if (!plot.footnote.empty())
    o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#444444\">{}</text>\n",
                     Num(kWidth / 2), Num(kBottom + 68), XmlEscape(Ellipsize(plot.footnote, 110)));
  o += fmt::format("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}</text>\n",
                   Num((kTop + kBottom) / 2), XmlEscape(plot.y_label));

  // Reference bands, then lines (their labels come after the series, so that they stay readable).
  for (size_t i = 0; i < refs.size(); ++i) {
    if (!refs[i].band) continue;
    const double top = Py(ya, std::max(refs[i].band->first, refs[i].band->second));
    const double bottom = Py(ya, std::min(refs[i].band->first, refs[i].band->second));
    o += fmt::format(
        "<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.12\"/>\n",
        Num(kLeft), Num(top), Num(kRight - kLeft), Num(bottom - top), kRefColors[i % std::size(kRefColors)]);
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    o += fmt::format(
        "<line class=\"reference\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
        "stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n",
        Num(kLeft), Num(kRight), Num(Py(ya, refs[i].y)), kRefColors[i % std::size(kRefColors)]);
  }

  // Series: error bars, polyline, markers.
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& series = plot.series[i];
    const std::string color = series.color.empty() ? kPalette[i % std::size(kPalette)] : series.color;
    o += "<g class=\"series\">\n";
    for (const Point& p : pts[i]) {
      if (!std::isfinite(p.lo)) continue;
      const std::string x = Num(Px(xa, p.x)), lo = Num(Py(ya, p.lo)), hi = Num(Py(ya, p.hi));
      o += fmt::format(
          "<path class=\"error-bar\" d=\"M{0},{1}V{2}M{3},{1}H{4}M{3},{2}H{4}\" stroke=\"{5}\" stroke-width=\"1.2\" "
          "fill=\"none\"/>\n",
          x, lo, hi, Num(Px(xa, p.x) - 4), Num(Px(xa, p.x) + 4), color);
    }
    if (series.connect) {
      std::string points;
      for (const Point& p : pts[i]) {
        if (!points.empty()) points += ' ';
        points += Num(Px(xa, p.x)) + "," + Num(Py(ya, p.y));
      }
      o += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n", color,
                       series.dashed ? " stroke-dasharray=\"5,3\"" : "", points);
    }
    if (series.markers) {
      for (const Point& p : pts[i]) {
        o += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>\n", Num(Px(xa, p.x)),
                         Num(Py(ya, p.y)), color);
      }
    }
    o += "</g>\n";
  }

  // Reference labels at the left end (curves usually approach the reference at large budgets),
  // over a white halo.
  for (size_t i = 0; i < refs.size(); ++i) {
    o += fmt::format(
        "<text x=\"{}\" y=\"{}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
        Num(kLeft + 6), Num(Py(ya, refs[i].y) - 5), kRefColors[i % std::size(kRefColors)],
        XmlEscape(refs[i].label));
  }

  // Legend: one entry per series, then the reference lines.
  o += "<g class=\"legend\">\n";
  double legend_y = kTop + 10;
  for (size_t i = 0; i < plot.series.size(); ++i, legend_y += 18) {
    const PlotSeries& series = plot.series[i];
    const std::string color = series.color.empty() ? kPalette[i % std::size(kPalette)] : series.color;
    if (series.connect) {
      o += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>\n",
                       Num(kLegendX), Num(kLegendX + 22), Num(legend_y), color,
                       series.dashed ? " stroke-dasharray=\"5,3\"" : "");
    }
    if (series.markers) {
      o += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>\n", Num(kLegendX + 11), Num(legend_y),
                       color);
    }
    o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", Num(kLegendX + 28), Num(legend_y + 4),
                     XmlEscape(Ellipsize(plot.series[i].name, kMaxLegendChars)));
  }
  for (size_t i = 0; i < refs.size(); ++i, legend_y += 18) {
    o += fmt::format(
        "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"6,4\"/>\n",
        Num(kLegendX), Num(kLegendX + 22), Num(legend_y), kRefColors[i % std::size(kRefColors)]);
    o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", Num(kLegendX + 28), Num(legend_y + 4),
                     XmlEscape(Ellipsize(refs[i].label, kMaxLegendChars)));
  }
  o += "</g>\n</svg>\n";
  return o;
}

}  // namespace kvpress::eval
