// A small SVG heatmap writer for the needle-in-a-haystack grid in `kvpress report`: one cell per
// (prompt length, needle depth), coloured from red (score 0) through yellow to green (score 1), the
// score printed in the cell, lengths as rows and depths as columns, a colour legend. Deterministic
// output (same grid, same bytes). Empty cells (no sample) are drawn grey.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kvpress::eval {

struct Heatmap {
  std::string title;
  std::string subtitle;           // "" for none
  std::string x_label = "needle depth (%)";
  std::string y_label = "prompt length (tokens)";
  std::vector<std::string> columns;  // x labels, left to right
  std::vector<std::string> rows;     // y labels, top to bottom
  // values[r][c] in [0, 1], nullopt for a cell without data: [rows.size()][columns.size()].
  std::vector<std::vector<std::optional<double>>> values;
};

// Renders `map` as a standalone SVG 1.1 document; the canvas grows with the grid (cells 48x32 px at
// least). Text is XML-escaped. Values are clamped to [0, 1] for the colour.
std::string RenderSvgHeatmap(const Heatmap& map);

// The colour of a score in [0, 1] as "#rrggbb": red 0 -> yellow 0.5 -> green 1.
std::string HeatColor(double score);

}  // namespace kvpress::eval
