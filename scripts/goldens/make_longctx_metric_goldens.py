#!/usr/bin/env python3
"""Per-sample long-context metric goldens from upstream kvpress's own evaluation code.

Runs the reference metric functions of NVIDIA/kvpress's `evaluation/benchmarks/` (RULER:
ruler/calculate_metrics.py, whole-DataFrame path with its control-character clean-up; InfiniteBench:
infinite_bench/calculate_metrics.py get_score_one, itself adapted from OpenBMB/InfiniteBench) on the
fixed cases below, and LongBench's (longbench/calculate_metrics.py scorer, the metrics of
THUDM/LongBench) and LongBench-v2's (longbenchv2/calculate_metrics.py score), and writes
tests/fixtures/longctx/metric_goldens.json. The evaluation code is not
part of the kvpress wheel, so it is imported from a checkout:

    git clone https://github.com/NVIDIA/kvpress /tmp/kvpress-src
    git -C /tmp/kvpress-src checkout 8bb29b9c3078452a86d692f29123fa6c793e2b05
    python3 -m venv /work/cache/lc16-venv
    /work/cache/lc16-venv/bin/pip install pandas==2.3.3 numpy==2.4.6 tqdm==4.70.1 rouge==1.0.1 \
        fuzzywuzzy==0.18.0 jieba==0.42.1       # no python-Levenshtein: fuzz.ratio is difflib's
    /work/cache/lc16-venv/bin/python scripts/goldens/make_longctx_metric_goldens.py --kvpress-src /tmp/kvpress-src

Deterministic: no randomness.
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
    # LongBench: (task, prediction, answers, all_classes)
    ("longbench", "hotpotqa", "The Eiffel Tower, in Paris!", (["Eiffel Tower"], None)),
    ("longbench", "narrativeqa", "  he went to the market with an apple", (["He went to market", "apples"], None)),
    ("longbench", "qasper", "no overlap here", (["entirely different"], None)),
    ("longbench", "triviaqa", "Answer: London\nParis is wrong", (["London"], None)),
    ("longbench", "gov_report", "The cat sat on the mat. It was happy.", (["The cat was on the mat. The cat was happy."], None)),
    ("longbench", "qmsum", "a b c d. e f", (["a c e. b d f. a"], None)),
    ("longbench", "multi_news", "...", (["Something here."], None)),
    ("longbench", "samsum", "\nJohn will come at 5 pm.\nMary agrees.", (["John will come at five. Mary agrees"], None)),
    ("longbench", "trec", "Type: Location\nmore", (["Location"], ["Location", "Description", "Entity", "Cation"])),
    ("longbench", "trec", "Description or Entity", (["Entity"], ["Location", "Description", "Entity"])),
    ("longbench", "trec", "Numeric value", (["Numeric value"], ["Numeric", "Numeric value", "value"])),
    ("longbench", "passage_retrieval_en", "Paragraph 12, maybe 3", (["Paragraph 12"], None)),
    ("longbench", "passage_count", "There are 7 unique paragraphs, 7 in total", (["7"], None)),
    ("longbench", "passage_count", "none", (["7"], None)),
    ("longbench", "lcc", "# comment\n    return self.value + 1\n", (["    return self.value + 2"], None)),
    ("longbench", "repobench-p", "```python\nx = compute(a, b)", (["y = compute(a, c)"], None)),
    ("longbench", "lcc", "for i in range(len(items)):", (["for item in items:"], None)),
    ("longbench", "lcc", "".join("ab" if i % 3 else "c" for i in range(150)), (["".join("ba" if i % 5 else "c" for i in range(140))], None)),
    ("longbench_v2", "longbench_v2", "**The correct answer is (B)**", "B"),
    ("longbench_v2", "longbench_v2", "The correct answer is C.", "C"),
    ("longbench_v2", "longbench_v2", "I think (B)", "B"),
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
    longbench = load(bench / "longbench" / "calculate_metrics.py", "longbench_metrics")
    longbench_v2 = load(bench / "longbenchv2" / "calculate_metrics.py", "longbench_v2_metrics")
    out = []
    for benchmark, task, prediction, answer in CASES:
        if benchmark == "ruler":
            df = pd.DataFrame({"predicted_answer": [prediction], "answer": [answer], "task": [task]})
            score = ruler.calculate_metrics(df)[task]["string_match"]  # x100, 2 decimals
        elif benchmark == "infinite_bench":
            score = 100.0 * infinite.get_score_one(prediction, answer, task, "dummy_model")
        elif benchmark == "longbench":
            answers, classes = answer
            score = longbench.scorer(task, [prediction], [answers], classes)  # x100, 2 decimals
            answer = {"answers": answers, "all_classes": classes}
        else:
            score = 100.0 * float(longbench_v2.score(prediction, answer))
        out.append({"benchmark": benchmark, "task": task, "prediction": prediction, "answer": answer,
                    "score_x100": score})
    doc = {"source": f"NVIDIA/kvpress@{KVPRESS_COMMIT} evaluation/benchmarks/{{ruler,infinite_bench,longbench,longbenchv2}}/calculate_metrics.py",
           "cases": out}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
