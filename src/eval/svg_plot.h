// A small, dependency-free SVG line-chart writer for `kvpress report`: axes with ticks and labels,
// a title, a legend, one polyline with markers per series, and optional dashed horizontal
// reference lines (e.g. the full-cache accuracy). Output is deterministic: the same plot always
// renders to the same bytes (fixed palette, fixed number formatting, series in the given order).
// No plotting library is used because none is packaged for C++ on Debian that writes plain SVG
// without a GUI toolkit; a line chart is ~250 lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvpress::eval {

// One line of the chart. Points are drawn in ascending x order (the writer sorts a copy).
struct PlotSeries {
  std::string name;                              // legend entry
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are dropped
  // Vertical error bars: (lo, hi) per point, same index as `points`; empty for none. A bar whose
  // ends are not finite is not drawn.
  std::vector<std::pair<double, double>> errors;
  bool connect = true;      // false: markers only (a scatter)
  bool dashed = false;      // dashed polyline (e.g. a Pareto frontier)
  bool markers = true;      // false: the line only
  std::string color;        // "" = the palette colour of the series' index
};

// A dashed horizontal line across the plot area with a label at its left end, optionally over a
// shaded band (e.g. the full-cache accuracy and its confidence interval).
struct ReferenceLine {
  std::string label;
  double y = 0;
  std::optional<std::pair<double, double>> band;  // (lo, hi), drawn translucent
};

// Everything the writer needs for one chart.
struct LinePlot {
  std::string title;
  std::string subtitle;  // second line under the title ("" for none)
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
  std::vector<ReferenceLine> references;  // usually zero or one; each gets a legend entry
  std::string footnote;  // one line under the x-axis label ("" for none): sample counts, what bars mean
  // Base-2 logarithmic x axis with ticks at powers of two (for cache budgets 64, 128, ...).
  // Ignored (linear axis used) when some x <= 0.
  bool log2_x = false;
  // Fixed y range (e.g. 0..1 for accuracy); otherwise 0 (or the data minimum when negative) up
  // to a rounded maximum of the data and the reference lines.
  std::optional<std::pair<double, double>> y_range;
};

// Renders `plot` as a standalone SVG 1.1 document (UTF-8, 720x460 px). Text is XML-escaped.
// A plot without any point still renders axes, title and reference lines.
std::string RenderSvgLinePlot(const LinePlot& plot);

// The i-th colour of the fixed palette (Tableau 10, cycling): series i is drawn in it by default.
const char* PaletteColor(size_t i);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view text);

// Replaces every character outside [A-Za-z0-9._-] by '_' (file names built from dataset/model
// names such as "org/model"); "" becomes "_".
std::string SanitizeFileName(std::string_view name);

}  // namespace kvpress::eval
