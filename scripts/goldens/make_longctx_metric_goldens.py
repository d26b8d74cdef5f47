#!/usr/bin/env python3
"""Per-sample long-context metric goldens from upstream kvpress's own evaluation code.

Runs the reference metric functions of NVIDIA/kvpress's `evaluation/benchmarks/` (RULER:
ruler/calculate_metrics.py, whole-DataFrame path with its control-character clean-up; InfiniteBench:
infinite_bench/calculate_metrics.py get_score_one, itself adapted from OpenBMB/InfiniteBench) on the
fixed cases below and writes tests/fixtures/longctx/metric_goldens.json. The evaluation code is not
part of the kvpress wheel, so it is imported from a checkout:

    git clone https://github.com/NVIDIA/kvpress /tmp/kvpress-src
    git -C /tmp/kvpress-src checkout 8bb29b9c3078452a86d692f29123fa6c793e2b05
    python3 -m venv /work/cache/kvpress-venv    # pandas 2.3.3, tqdm 4.70.1 (requirements-kvpress.txt)
    /work/cache/kvpress-venv/bin/python scripts/goldens/make_longctx_metric_goldens.py --kvpress-src /tmp/kvpress-src

Only pandas and tqdm are needed. Deterministic: no randomness.
"""
import argparse
import importlib.util
import json
import pathlib

import pandas as pd

KVPRESS_COMMIT = "8bb29b9c3078452a86d692f29123fa6c793e2b05"

# (benchmark, task, prediction, answer). RULER answers are lists of strings; InfiniteBench labels
# are as the kvpress dataset stores them (strings, or numbers for math_find).
CASES = [
    ("ruler", "niah_single_1", " 8955865.", ["8955865"]),
    ("ruler", "niah_single_1", "The number is 8955866", ["8955865"]),
    ("ruler", "niah_multivalue", "1234567, 7654321 and 1111111", ["1234567", "7654321", "2222222", "1111111"]),
    ("ruler", "niah_multikey_3", " 735589D1-6129-468a-A35F-294ea3193e79.", ["735589d1-6129-468a-a35f-294ea3193e79"]),
    ("ruler", "vt", " KZZNY HLGRA \nThe grass", ["KZZNY", "HLGRA", "BOZEM", "PCLZH", "YBYZH"]),
    ("ruler", "cwe", "\x01 1. mountain 2. River\t3. dry", ["dry", "river", "mountain", "window"]),
    ("ruler", "fwe", "", ["phcyux", "kjsecs", "qprqtd"]),
    ("ruler", "fwe", "ph\x02cyux kjsecs", ["phcyux", "kjsecs", "qprqtd"]),
    ("ruler", "qa_1", "Paris, France", ["London", "paris"]),
    ("ruler", "qa_2", "Berlin", ["London", "paris"]),
    ("ruler", "niah_single_2", "  \n\n  ", ["1"]),
    ("infinite_bench", "passkey", "The pass key is 71432. Remember it.", "71432"),
    ("infinite_bench", "passkey", "71432", "71433"),
    ("infinite_bench", "passkey", "no digits here", "71432"),
    ("infinite_bench", "number_string", "abc 0012 3456", "0012"),
    ("infinite_bench", "number_string", "12,345", "12345"),
    ("infinite_bench", "kv_retrieval", 'The value is "a1b2-c3d4".', "a1b2-c3d4"),
    ("infinite_bench", "kv_retrieval", "value:a1b2-c3d4x", "a1b2-c3d4"),
    ("infinite_bench", "kv_retrieval", "{a1b2-c3d4}", ["a1b2-c3d4"]),
    ("infinite_bench", "math_find", "The answer is 42.", 42),
    ("infinite_bench", "math_find", "-17 is smallest", 17),
    ("infinite_bench", "math_find", "3.25 then 4", 3.25),
    ("infinite_bench", "math_find", "It is 3.", 3.0),
    ("infinite_bench", "math_find", "none", 5),
]


def load(path: pathlib.Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvpress-src", required=True, type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("tests/fixtures/longctx/metric_goldens.json"))
    args = ap.parse_args()
    bench = args.kvpress_src / "evaluation" / "benchmarks"
    ruler = load(bench / "ruler" / "calculate_metrics.py", "ruler_metrics")
    infinite = load(bench / "infinite_bench" / "calculate_metrics.py", "infinite_metrics")
    out = []
    for benchmark, task, prediction, answer in CASES:
        if benchmark == "ruler":
            df = pd.DataFrame({"predicted_answer": [prediction], "answer": [answer], "task": [task]})
            score = ruler.calculate_metrics(df)[task]["string_match"]  # x100, 2 decimals
        else:
            score = 100.0 * infinite.get_score_one(prediction, answer, task, "dummy_model")
        out.append({"benchmark": benchmark, "task": task, "prediction": prediction, "answer": answer,
                    "score_x100": score})
    doc = {"source": f"NVIDIA/kvpress@{KVPRESS_COMMIT} evaluation/benchmarks/{{ruler,infinite_bench}}/calculate_metrics.py",
           "cases": out}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
