#!/usr/bin/env python3
"""Per-sample LooGLE metric goldens from upstream kvpress's own LooGLE scorer.

Calls the metric functions of NVIDIA/kvpress's evaluation/benchmarks/loogle/calculate_metrics.py (adapted
there from bigai-nlco/LooGLE Evaluation/automatic_metrics.py): get_bleu_score (nltk sentence_bleu, BLEU-1
and BLEU-4), get_rouge_score (the `rouge` package's recall of ROUGE-1/2/L), get_exact_match and
get_partial_match (the cloze task: both sides eval'd as Python dict literals), each wrapped as
calculate_metrics wraps it (try_except_metric for BLEU/ROUGE), on the fixed cases below, and writes
tests/fixtures/longctx/loogle_metric_goldens.json.

METEOR (upstream scores sets of words: the value depends on PYTHONHASHSEED) and BERTScore (needs
roberta-large) are not recorded: kvpress.cpp does not implement them. The module imports bert_score at load time, so a stand-in
module whose `score` raises is put in sys.modules first; it is never called here.

    git clone https://github.com/NVIDIA/kvpress /tmp/kvpress-src
    git -C /tmp/kvpress-src checkout 8bb29b9c3078452a86d692f29123fa6c793e2b05
    python3 -m venv /work/cache/lc16-venv
    /work/cache/lc16-venv/bin/pip install pandas==2.3.3 numpy==2.4.6 rouge==1.0.1 nltk==3.9.1
    /work/cache/lc16-venv/bin/python scripts/goldens/make_loogle_metric_goldens.py --kvpress-src /tmp/kvpress-src

Deterministic: no randomness.
"""
import argparse
import importlib.util
import json
import pathlib
import sys
import types
import warnings

KVPRESS_COMMIT = "8bb29b9c3078452a86d692f29123fa6c793e2b05"

# (task, prediction, answer): the answer as simonjegou/loogle stores it (cloze answers are json.dumps of
# the mask -> entity dict).
CASES = [
    ("shortdep_qa", "The treaty was signed in Paris in 1783.", "It was signed in Paris."),
    ("shortdep_qa", "Paris", "The treaty was signed in Paris in 1783 by the delegates."),
    ("longdep_qa", "He moved to the city to study law and then medicine", "He moved to the city to study medicine"),
    ("longdep_qa", "", "Something"),
    ("longdep_qa", "nothing in common", "entirely different words here"),
    ("longdep_qa", "a b c d e f g h", "a b c d x f g h i"),
    ("longdep_summarization", "The paper studies caches. It proposes a press. Results are good.",
     "This paper proposes a new press for KV caches. The results show good accuracy at high compression."),
    ("longdep_summarization", "the the the the", "the cat sat on the mat"),
    ("longdep_summarization", "Line one\nline two. And\tthree", "line one line two and three"),
    ("longdep_summarization", "...", "Some summary."),
    ("shortdep_qa", "A. B. C", "A B C"),
    ("shortdep_cloze", "{'<mask-0>': 'Bob', '<mask-1>': 'Gorrosion Magazine'}",
     json.dumps({"<mask-0>": "Bob", "<mask-1>": "Gorrosion Magazine"})),
    ("shortdep_cloze", " {\"<mask-0>\": \"Bob Smith\", \"<mask-1>\": \"Paris\"}",
     json.dumps({"<mask-0>": "Bob", "<mask-1>": "Paris, France", "<mask-2>": "NASA"})),
    ("shortdep_cloze", "The masks are Bob and Paris", json.dumps({"<mask-0>": "Bob", "<mask-1>": "Paris"})),
    ("shortdep_cloze", "{'<mask-0>': 'Bob',}\n", json.dumps({"<mask-0>": "Bob", "<mask-1>": "Paris"})),
    ("shortdep_cloze", "{'<mask-0>': 7, '<mask-1>': 'Paris'}", json.dumps({"<mask-0>": "7", "<mask-1>": "Paris"})),
    ("shortdep_cloze", "{'<mask-0>': None, '<mask-1>': 'Paris'}", json.dumps({"<mask-0>": "Bob", "<mask-1>": "Paris"})),
    ("shortdep_cloze", "['Bob', 'Paris']", json.dumps({"<mask-0>": "Bob", "<mask-1>": "Paris"})),
    ("shortdep_cloze", "{'<mask-0>': 'Bob', '<mask-0>': 'Alice'}", json.dumps({"<mask-0>": "Alice"})),
    ("shortdep_cloze", "{'<mask-0>': 'O\\'Neil', \"<mask-1>\": \"the \\\"Times\\\"\"}",
     json.dumps({"<mask-0>": "O'Neil", "<mask-1>": "The \"Times\" daily"})),
    ("shortdep_cloze", "\t{'<mask-0>': 'Jos\\u00e9'}", json.dumps({"<mask-0>": "José"}, ensure_ascii=False)),
    ("shortdep_cloze", "{'<mask-0>': 'Bob'} and more text", json.dumps({"<mask-0>": "Bob"})),
    ("shortdep_cloze", "{}", json.dumps({"<mask-0>": "Bob"})),
]


def load(path: pathlib.Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvpress-src", required=True, type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path,
                    default=pathlib.Path("tests/fixtures/longctx/loogle_metric_goldens.json"))
    args = ap.parse_args()
    stand_in = types.ModuleType("bert_score")

    def no_bert(*_args, **_kwargs):
        raise RuntimeError("BERTScore is not recorded")

    stand_in.score = no_bert
    sys.modules["bert_score"] = stand_in
    warnings.simplefilter("ignore")  # nltk warns on zero n-gram overlaps
    loogle = load(args.kvpress_src / "evaluation" / "benchmarks" / "loogle" / "calculate_metrics.py", "loogle_metrics")
    out = []
    for task, prediction, answer in CASES:
        case = {"task": task, "prediction": prediction, "answer": answer}
        if task == "shortdep_cloze":
            case["exact"] = list(loogle.get_exact_match(answer, prediction))
            case["partial"] = list(loogle.get_partial_match(answer, prediction))
        else:
            case.update(loogle.try_except_metric(loogle.get_bleu_score)(answer, prediction))
            case.update(loogle.try_except_metric(loogle.get_rouge_score)(answer, prediction))
        out.append(case)
    doc = {"source": f"NVIDIA/kvpress@{KVPRESS_COMMIT} evaluation/benchmarks/loogle/calculate_metrics.py, "
                     "nltk 3.9.1, rouge 1.0.1", "cases": out}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
