// The statistics of `kvpress report` (src/eval/stats.h applied to score files): a 95% interval for
// every accuracy, paired comparisons against a baseline run (McNemar exact p, paired bootstrap of
// the accuracy difference, Holm across each table), and the order of a table's rows.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/report.h"
#include "eval/stats.h"

namespace kvpress::eval {

// Per-sample outcomes of a run: sample id -> correct, read from its result file (the score file's
// "result_file", relative to the score file's directory). Rows without "sample_id" are keyed by
// "id", else by their line number. NotFound when the score file names no result file or it is
// missing; DataLoss when it cannot be read.
StatusOr<std::map<std::string, bool>> LoadOutcomes(const ScoreRow& row);

// Runs over this many samples get the Wilson interval in place of the bootstrap (resampling n values
// B times would take minutes and gigabytes); their intervals agree closely at such n anyway.
inline constexpr int64_t kMaxBootstrapSamples = 100000;

// Sets every row's `stats`: n = num_samples (rows without it get none), correct = round(accuracy * n),
// the Wilson interval and the percentile bootstrap of the mean of n outcomes. The bootstrap of a
// 0/1 mean depends only on (correct, n), so it resamples `correct` ones and `n - correct` zeros
// with the same seed for every row: equal counts get equal intervals, whatever the row order.
// Above kMaxBootstrapSamples the bootstrap interval is the Wilson one.
void AddAccuracyIntervals(std::vector<ReportGroup>& groups, const BootstrapOptions& options);

// Compares each row with the baseline run of `baseline` (a press name or PressLabel, e.g. "full"):
// the baseline row of the same group and variant (protocol, scoring, seed), at the same budget when
// the baseline press has budgets. On the samples both result files hold (matched by id, in id
// order): McNemar's exact test and the paired bootstrap interval of the difference (above
// kMaxBootstrapSamples pairs, the normal-approximation interval of the paired difference); then Holm's
// correction over the group's computed comparisons and significance at `alpha`. Rows without a
// baseline or result file get a Comparison whose `unavailable` says why. Sets compare_to/alpha on
// every group.
void AddComparisons(std::vector<ReportGroup>& groups, const std::string& baseline, const BootstrapOptions& options,
                    double alpha);

// How rows are ordered inside a table: the full cache first; then presses in `order` when it lists
// them (PressLabel or press name), then the others by mean accuracy over their runs, best first
// (ties by name), or by name when `by_name`; budgets ascending within a press; then protocol,
// scoring, seed and path.
void OrderRows(std::vector<ReportGroup>& groups, const std::vector<std::string>& order, bool by_name);

}  // namespace kvpress::eval
