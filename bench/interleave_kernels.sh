#!/usr/bin/env bash
# Runs kernels_bench binaries A, B, ... in turn, ROUNDS times (A B A B ...), and prints per
# benchmark and binary the min and the median real time over all repetitions: on a shared, noisy
# machine two builds are only comparable interleaved like this, never from runs minutes apart.
#   usage: bench/interleave_kernels.sh ROUNDS FILTER BINARY...
#   e.g.   cp build/bin/kernels_bench /tmp/kb_old; (change, rebuild)
#          bench/interleave_kernels.sh 3 'BM_MatMulPrefill/q8_0_cold/.*/1/2' /tmp/kb_old build/bin/kernels_bench
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,7p "$0" >&2; exit 2; }
rounds=$1 filter=$2
shift 2
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    "$bin" --benchmark_filter="$filter" --benchmark_repetitions=2 --benchmark_format=csv 2>/dev/null |
      grep '^"' | grep -v '_mean"\|_median"\|_stddev"\|_cv"' | awk -F, -v b="$bin" '{print b "\t" $1 "\t" $3}' >>"$raw"
  done
done
python3 - "$raw" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, name, real_time = line.rstrip("\n").split("\t")
    runs[(name.strip('"'), binary)].append(float(real_time))
for (name, binary), t in sorted(runs.items()):
    print(f"{name:60s} {binary:28s} min {min(t):12.0f}  median {statistics.median(t):12.0f}  (n={len(t)})")
PY
