#!/usr/bin/env bash
# Runs `BINARY bench --model MODEL ARGS` for kvpress binaries A, B, ... in turn, ROUNDS times
# (A B A B ...), and prints per binary the median over rounds of the decode tokens/s (per-step
# median) and, unless ARGS has --no-bandwidth or --batch, of the windowed roofline fraction, with
# every round's "tok/s/fraction/probe GB/s": on a shared, noisy machine two builds are only
# comparable interleaved like this, and rounds whose probes caught a bandwidth burst show as such.
#   usage: bench/interleave_bench.sh ROUNDS MODEL "ARGS" BINARY...
#   e.g.   cp build/bin/kvpress /tmp/kv_old; (change, rebuild)
#          bench/interleave_bench.sh 4 m.gguf "--prompt-tokens 16 --decode-tokens 64 --threads 2" \
#              /tmp/kv_old build/bin/kvpress
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,10p "$0" >&2; exit 2; }
rounds=$1 model=$2 args=$3
shift 3
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    # shellcheck disable=SC2086  # ARGS is a list of options
    "$bin" bench --model "$model" $args 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(sys.argv[1], j["decode_tokens_per_second_median"], j.get("decode_fraction_of_roofline", -1),
      j.get("read_bandwidth_bytes_per_second", 0) / 1e9)' "$bin" >>"$raw"
  done
done
python3 - "$raw" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, tps, frac, gbs = line.split()
    runs[binary].append((float(tps), float(frac), float(gbs)))
for binary, r in runs.items():
    tps = statistics.median(x[0] for x in r)
    frac = statistics.median(x[1] for x in r)
    each = " ".join(f"{x[0]:.1f}/{x[1]:.2f}/{x[2]:.0f}" for x in r)
    shown = f"fraction {frac:.3f}" if frac >= 0 else "fraction -"
    print(f"{binary:28s} tok/s {tps:8.1f}  {shown}  rounds {each}")
PY
