#include "eval/heatmap_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "eval/svg_plot.h"

namespace kvpress::eval {

std::string HeatColor(double score) {
  const double s = std::clamp(std::isfinite(score) ? score : 0.0, 0.0, 1.0);
  // Two linear ramps: (215, 48, 39) red -> (254, 224, 139) yellow -> (26, 152, 80) green.
  const double lo[3] = {215, 48, 39}, mid[3] = {254, 224, 139}, hi[3] = {26, 152, 80};
  const double t = s < 0.5 ? s / 0.5 : (s - 0.5) / 0.5;
  const double* a = s < 0.5 ? lo : mid;
  const double* b = s < 0.5 ? mid : hi;
  int c[3];
  for (int i = 0; i < 3; ++i) c[i] = static_cast<int>(std::lround(a[i] + (b[i] - a[i]) * t));
  return fmt::format("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
}

std::string RenderSvgHeatmap(const Heatmap& m) {
  constexpr int kCellW = 48, kCellH = 32, kLeft = 110, kTop = 70, kRight = 110, kBottom = 60;
  const int cols = static_cast<int>(m.columns.size()), rows = static_cast<int>(m.rows.size());
  const int width = std::max(640, kLeft + cols * kCellW + kRight);
  const int height = kTop + std::max(1, rows) * kCellH + kBottom;
  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"Helvetica, Arial, sans-serif\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      width, height);
  s += fmt::format("<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                   width / 2, XmlEscape(m.title));
  if (!m.subtitle.empty()) {
    s += fmt::format("<text x=\"{}\" y=\"44\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444444\">{}</text>\n",
                     width / 2, XmlEscape(m.subtitle));
  }
  for (int r = 0; r < rows; ++r) {
    const int y = kTop + r * kCellH;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>\n", kLeft - 8,
                     y + kCellH / 2 + 4, XmlEscape(m.rows[static_cast<size_t>(r)]));
    for (int c = 0; c < cols; ++c) {
      const int x = kLeft + c * kCellW;
      std::optional<double> v;
      if (static_cast<size_t>(r) < m.values.size() && static_cast<size_t>(c) < m.values[static_cast<size_t>(r)].size()) {
        v = m.values[static_cast<size_t>(r)][static_cast<size_t>(c)];
      }
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ffffff\"/>\n", x, y,
                       kCellW, kCellH, v ? HeatColor(*v) : std::string("#dddddd"));
      if (v) {
        s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:.2f}</text>\n",
                         x + kCellW / 2, y + kCellH / 2 + 4, std::clamp(*v, 0.0, 1.0));
      }
    }
  }
  const int grid_bottom = kTop + rows * kCellH;
  for (int c = 0; c < cols; ++c) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
                     kLeft + c * kCellW + kCellW / 2, grid_bottom + 18, XmlEscape(m.columns[static_cast<size_t>(c)]));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\">{}</text>\n",
                   kLeft + cols * kCellW / 2, grid_bottom + 42, XmlEscape(m.x_label));
  s += fmt::format("<text x=\"18\" y=\"{0}\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}</text>\n",
                   kTop + rows * kCellH / 2, XmlEscape(m.y_label));
  // Legend: a vertical ramp from 1 (top) to 0 (bottom) right of the grid.
  const int lx = kLeft + cols * kCellW + 30, steps = 10, lh = std::max(rows * kCellH, 100);
  for (int i = 0; i < steps; ++i) {
    const double v = 1.0 - (i + 0.5) / steps;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"{}\"/>\n", lx, kTop + i * lh / steps,
                     lh / steps + 1, HeatColor(v));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">1.0</text>\n", lx + 22, kTop + 10);
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">0.0</text>\n", lx + 22, kTop + lh);
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">score</text>\n", lx - 4, kTop - 8);
  s += "</svg>\n";
  return s;
}

}  // namespace kvpress::eval
