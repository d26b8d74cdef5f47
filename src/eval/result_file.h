// The per-sample result file of an eval run (JSONL, one object per finished sample), written so that
// a run killed at any moment — even mid-line by kill -9 — resumes with nothing lost or duplicated:
// rows are appended whole and flushed to disk one by one, and reading repairs a torn last line.
#pragma once

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress::eval {

// The key that identifies a sample's row across runs (the dataset's id or "<dataset>-<index>").
inline constexpr char kSampleIdKey[] = "sample_id";

// Reads every complete row of `path`. A torn last line (no trailing newline, or not valid JSON
// at the end of the file) is dropped and, when `repair` is set, cut from the file so appends start
// on a clean line. A missing file is an empty result. Invalid JSON on an earlier line, a row nested
// deeper than kMaxJsonDepth, or a known field of the wrong type ("response": 5, "correct": 5) is
// DataLoss naming the file and line (the file is not ours to fix).
StatusOr<std::vector<nlohmann::json>> ReadResultRows(const std::string& path, bool repair);

// Appends rows to a result file; each Append is written, flushed and fsync'ed before it returns.
class ResultAppender {
 public:
  ResultAppender() = default;
  ResultAppender(const ResultAppender&) = delete;
  ResultAppender& operator=(const ResultAppender&) = delete;
  ~ResultAppender();

  // Opens `path` for appending (created when missing).
  Status Open(const std::string& path);
  // One row as one line.
  Status Append(const nlohmann::json& row);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// `rows` as JSON Lines: one compact object per line, each ending in '\n' (invalid UTF-8 replaced).
std::string JsonLinesText(const std::vector<nlohmann::json>& rows);

// Rewrites `path` atomically with `rows` (one per line).
Status WriteResultRows(const std::string& path, const std::vector<nlohmann::json>& rows);

// The ids of the rows (their kSampleIdKey values; rows without one are ignored).
std::set<std::string> RowIds(const std::vector<nlohmann::json>& rows);

}  // namespace kvpress::eval
