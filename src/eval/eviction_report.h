// `kvpress report --evictions FILE`: pictures of what a press kept, from the CSV that
// `kvpress generate --eviction-log FILE` writes (src/press/eviction_log.h: one row per prune event
// and KV head). Per layer and KV head a raster of position (rows) x sequence length (columns) —
// kept, evicted at this prune, evicted before, not yet generated — and a line plot of the attention
// mass each prune removed; plus a Markdown summary table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/report.h"

namespace kvpress::eval {

// One row of the eviction log.
struct EvictionEvent {
  int64_t prune_step = 0;    // the log's running counter over all rows
  int layer = 0;
  int head = 0;               // KV head
  int64_t kv_len_pre = 0;     // slots before the prune
  int64_t kept = 0;           // slots after it (attn_len)
  std::optional<double> attn_loss;  // attention mass of the last query on the evicted slots
  std::vector<int64_t> evicted;     // token positions evicted, as logged
  // Tokens the sequence held at this prune (derived): kv_len_pre plus every position this (layer,
  // head) evicted before; positions 0 .. seen-1 existed.
  int64_t seen = 0;
};

// A parsed eviction log: events in file order, and the model shape they cover.
struct EvictionLogData {
  std::string path;
  std::vector<EvictionEvent> events;
  int n_layers = 0;  // 1 + the largest layer_idx
  int n_heads = 0;   // 1 + the largest head_idx
  int64_t max_seen = 0;

  // The events of (layer, head), in log order.
  std::vector<const EvictionEvent*> Of(int layer, int head) const;
};

// Reads `path` (the header of press/eviction_log.h, then one row per prune). NotFound when it
// cannot be read; DataLoss naming the line for a wrong header, a bad number, a layer/head/position
// out of range (more than 4096 layers or heads, positions beyond 2^31) or an unterminated quote.
// An ok result may hold zero events (the press never pruned).
StatusOr<EvictionLogData> ReadEvictionLog(const std::string& path);

// Markdown: the file, then one row per (layer, KV head): prunes, positions evicted, slots kept at
// the end, total and largest attention mass lost in one prune.
std::string RenderEvictionSummary(const EvictionLogData& log);

// The pictures: "evictions__raster.svg" (all (layer, head) panels when there are at most 32, else
// "evictions__raster_layersAA-BB.svg" per block of layers) and "evictions__attention_loss.svg"
// (attention mass lost per prune against sequence length, one series per layer, mean over heads).
std::vector<SvgFile> RenderEvictionPlots(const EvictionLogData& log);

// Summary and pictures into `out_dir` ("evictions.md" + RenderEvictionPlots); the paths written.
StatusOr<std::vector<std::string>> WriteEvictionReport(const EvictionLogData& log, const std::string& out_dir);

}  // namespace kvpress::eval
