#!/usr/bin/env bash
# The RULER 4k study of docs/long-context-study.md, end to end: the budget-mode KNorm check (with and
# without chunked prefill, and ratio 0.5 with the question compressed; results/ruler4k_study), the ratio
# grid (results/ruler4k_grid), then `kvpress report` on each into its report/ folder.
# Resumable: rerun it after an interruption and finished cells are skipped, unfinished ones resume.
# Usage: scripts/studies/ruler4k_study.sh [KVPRESS_BINARY]   (from the repository root; default build/bin/kvpress)
set -euo pipefail
KVPRESS=${1:-build/bin/kvpress}
DIR=scripts/studies
nice -n 10 "$KVPRESS" sweep --config "$DIR/ruler4k_knorm_budget.yaml" --prefill-chunk 512
nice -n 10 "$KVPRESS" sweep --config "$DIR/ruler4k_knorm_budget.yaml"
nice -n 10 "$KVPRESS" sweep --config "$DIR/ruler4k_knorm_query_aware.yaml"
nice -n 10 "$KVPRESS" sweep --config "$DIR/ruler4k_smollm2.yaml"
"$KVPRESS" report results/ruler4k_grid --output-dir results/ruler4k_grid/report --compare full
"$KVPRESS" report results/ruler4k_study --output-dir results/ruler4k_study/report
