"""The model card's per-press tables from `kvpress report`'s report.json over study.sh's sweeps.

    python3 card_tables.py REPORT_JSON --presses PRESSES_TXT > tables.md

Writes three Markdown tables: accuracy per cache budget (every budget-taking press), accuracy per
compression ratio (upstream's ratio mode), and the presses whose cache size their own options set.
A cell is the accuracy with its 95% interval as the report gives it (percentile bootstrap, or
Wilson above the report's bootstrap limit). PRESSES_TXT is `kvpress presses`' output: every press
it lists must appear in a table or in NOT_RUN below, else this script fails, so the card cannot
silently drop a press.
"""

import argparse
import json
import sys
from collections import defaultdict

# Presses that cannot run on this model, with the one-line reason the card prints.
NOT_RUN = {
    "kvzap": "needs a trained KVzap surrogate (weights=FILE); published weights are for other models, none exists for this one",
    "lukv": "needs a LU-KV budget curve (curve=FILE) computed offline by upstream's procedure; none exists for this model",
    "fastkvzip": "needs trained FastKVzip gates (gates=FILE); published gates are for other models, none exists for this one",
}


def press_name(spec: str) -> str:
    """`adakv(snapkv):alpha=0.2` -> `adakv`."""
    for i, c in enumerate(spec):
        if c in "(:":
            return spec[:i]
    return spec


def listed_presses(path: str) -> list:
    """The names `kvpress presses` lists (lines starting in column 0, before the upstream section)."""
    names = []
    with open(path) as f:
        for line in f:
            if line.startswith("Upstream") or line.startswith("Use:"):
                break
            if line and not line[0].isspace():
                names.append(line.split()[0])
    return names


def cell(row: dict) -> str:
    return f"{row['accuracy']:.3f} ({row['accuracy_ci_lo']:.3f}–{row['accuracy_ci_hi']:.3f})"


def grid_table(rows: list, key: str, columns: list, label, full: dict, extra=None) -> list:
    """One row per press spec, one column per budget/ratio, best mean accuracy first."""
    by_spec = defaultdict(dict)
    for r in rows:
        by_spec[r["press_spec"]][r[key]] = r
    order = sorted(by_spec, key=lambda s: (-sum(r["accuracy"] for r in by_spec[s].values()) / len(by_spec[s]), s))
    head = ["press"] + [label(c) for c in columns] + ([extra[0]] if extra else [])
    out = ["| " + " | ".join(head) + " |", "|:---|" + "---:|" * (len(head) - 1)]
    out.append("| full (no compression) | " + cell(full) + " |" + " |" * (len(head) - 2))
    for s in order:
        cells = [cell(by_spec[s][c]) if c in by_spec[s] else "" for c in columns]
        if extra:
            cells.append(extra[1](by_spec[s]))
        out.append(f"| `{s}` | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", help="report.json written by `kvpress report`")
    ap.add_argument("--presses", required=True, help="output of `kvpress presses` (completeness check)")
    args = ap.parse_args()
    with open(args.report) as f:
        rows = json.load(f)
    for r in rows:  # the ratio of a ratio-mode run is in its score file, not in the report row
        with open(r["score_file"]) as f:
            ratio = json.load(f).get("compression_ratio", 0.0) or 0.0
        r["ratio"] = ratio if 0 < ratio < 1 else 0.0
        r["fixed"] = "/fixed/" in r["score_file"]
    fulls = [r for r in rows if r["press_spec"] == "full"]
    if not fulls:
        sys.exit("card_tables.py: no full-cache run in the report")
    full = fulls[0]
    n = {r["num_samples"] for r in rows}
    budget_rows = [r for r in rows if r["press_spec"] != "full" and r["ratio"] == 0 and not r["fixed"]]
    ratio_rows = [r for r in rows if r["press_spec"] != "full" and r["ratio"] > 0]
    fixed_rows = [r for r in rows if r["fixed"]]
    budgets = sorted({r["cache_budget"] for r in budget_rows})
    ratios = sorted({r["ratio"] for r in ratio_rows})
    peak = full["avg_kv_bytes_peak"]
    probe = 32 if 32 in budgets else budgets[len(budgets) // 2]

    def peak_at_probe(cells: dict) -> str:
        return f"{cells[probe]['avg_kv_bytes_peak'] / peak:.2f}" if probe in cells else ""

    print(f"n = {', '.join(str(x) for x in sorted(n))} problems per cell; full cache "
          f"{full['accuracy']:.3f}, mean KV peak {peak / 1024:.1f} KiB.\n")
    print("### Accuracy per cache budget\n")
    print("\n".join(grid_table(budget_rows, "cache_budget", budgets, str, full,
                               (f"KV peak @{probe} / full", peak_at_probe))))
    for name, why in NOT_RUN.items():
        print(f"| `{name}` | n/a: {why} |" + " |" * len(budgets))
    print("\n### Accuracy per compression ratio (ratio mode)\n")
    print("\n".join(grid_table(ratio_rows, "ratio", ratios, lambda x: f"{x:.2f}", full)))
    print("\n### Presses without a budget (their options set the cache size)\n")
    print("| press | accuracy (95% CI) | kept fraction | KV peak / full |")
    print("|:---|---:|---:|---:|")
    for r in sorted(fixed_rows, key=lambda r: -r["accuracy"]):
        print(f"| `{r['press_spec']}` | {cell(r)} | {r['avg_compression']:.2f} | "
              f"{r['avg_kv_bytes_peak'] / peak:.2f} |")
    covered = {press_name(r["press_spec"]) for r in rows} | set(NOT_RUN)
    missing = [p for p in listed_presses(args.presses) if p not in covered]
    if missing:
        sys.exit(f"card_tables.py: presses listed by `kvpress presses` but in no table: {', '.join(missing)}")


if __name__ == "__main__":
    main()
