#!/usr/bin/env python3
"""ZeroSCROLLS metric goldens from the benchmark's own scorer modules.

Imports the metric modules of the Hugging Face dataset repo tau/zero_scrolls (metrics/rouge.py,
accuracy.py, exp_similarity.py, concordance_index.py; revision 9af1d79992edc35db68c85db9bdc5d8aa4706a7c)
from --metrics-dir and runs them on the fixed cases below:

* per sample: compute_accuracy / compute_exp_similarity / compute_concordance_index([prediction],
  [references]) (x 100, the best over the references), and compute_rouge on every (prediction,
  reference) pair -> rouge1 / rouge2 / rougeL F x 100, the best over the references per key;
* per ROUGE task: the aggregation metrics/zero_scrolls.py applies (its _compute_helper with agg_fn=max
  and transform_aggregated_result_fn): the mean of the per-sample bests per key, then the geometric
  mean (rouge1 * rouge2 * rougeL) ** (1 / 3). zero_scrolls.py itself needs the `datasets` package and
  is not imported; its three steps are restated in task_rouge() below.

zero_scrolls.py first passes both sides through rouge.py's postprocess_text (nltk.sent_tokenize, one
sentence per line). That needs nltk's punkt data (not on PyPI) and only matters for rougeLsum: rouge1,
rouge2 and rougeL tokenize on [a-z0-9] runs, so line breaks between sentences change nothing. It is
skipped here. The reported values are not rounded (the scorer rounds its output to 4 decimals).

    # the metric files (with hub access):
    python3 -c "from huggingface_hub import hf_hub_download as d; [d('tau/zero_scrolls', 'metrics/' + f, \
        repo_type='dataset', revision='9af1d79992edc35db68c85db9bdc5d8aa4706a7c', local_dir='/tmp/zs') \
        for f in ('rouge.py', 'accuracy.py', 'exp_similarity.py', 'concordance_index.py')]"
    python3 -m venv /work/cache/zs16c-venv
    /work/cache/zs16c-venv/bin/pip install rouge-score==0.1.2 lifelines==0.30.3 nltk==3.10.4
    /work/cache/zs16c-venv/bin/python scripts/goldens/make_zeroscrolls_metric_goldens.py --metrics-dir /tmp/zs/metrics

Writes tests/fixtures/longctx/zeroscrolls_metric_goldens.json. Deterministic: no randomness.
"""
import argparse
import importlib.util
import json
import pathlib
import sys

REVISION = "9af1d79992edc35db68c85db9bdc5d8aa4706a7c"

# (metric, prediction, references)
SAMPLE_CASES = [
    ("zs_rouge", "The GAO found that the agency's oversight was weak.",
     ["GAO found that oversight of the agency was weak and recommends changes."]),
    ("zs_rouge", "", ["Some reference summary."]),
    ("zs_rouge", "Nothing in common here", ["entirely different words"]),
    ("zs_rouge", "the the the cat", ["the cat sat on the mat the end"]),
    ("zs_rouge", "Line one.\nLine two!\tAnd THREE, with 42 numbers.",
     ["line one line two and three with 42 numbers"]),
    ("zs_rouge", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 costs $5.00 (approx.)", ["cafe naive resume costs 5 00 approx"]),
    ("zs_rouge", "Sheldon and Leonard argue about the apartment.",
     ["Leonard argues with Sheldon.", "Sheldon and Leonard argue about their apartment rules.",
      "Penny visits the apartment."]),
    ("zs_rouge", "a b c d e f g h", ["a b c d x f g h i"]),
    ("zs_rouge", "...", ["Some summary."]),
    ("zs_accuracy", "A", ["(A) The captain"]),
    ("zs_accuracy", "The answer is (B).", ["(B) Because of the storm"]),
    ("zs_accuracy", "b", ["(B) lower case is not a letter choice"]),
    ("zs_accuracy", "Answer: C. Then D.", ["(C) x", "(D) y"]),
    ("zs_accuracy", "ABCD", ["(A) x"]),
    ("zs_accuracy", "D_ and then C", ["(C) x"]),
    ("zs_accuracy", "I do not know", ["(A) x"]),
    ("zs_accuracy", "Option\u00e9A is right, A", ["(A) x"]),
    ("zs_exp_similarity", "45%", ["45%"]),
    ("zs_exp_similarity", "I estimate 47.5% of the reviews are positive.", ["55%"]),
    ("zs_exp_similarity", "50 %", ["50%"]),
    ("zs_exp_similarity", "12.% then 80%", ["20%"]),
    ("zs_exp_similarity", "3.14.15% odd", ["14%"]),
    ("zs_exp_similarity", "100%", ["0%"]),
    ("zs_exp_similarity", "about 30%", ["10%", "33.3%"]),
    ("zs_exp_similarity", "no number", ["40%"]),
    ("zs_concordance_index", "1, 2, 3, 4", ["1, 2, 3, 4"]),
    ("zs_concordance_index", "4, 3, 2, 1", ["1, 2, 3, 4"]),
    ("zs_concordance_index", "Summary 3, Summary 1, Summary 2, Summary 4", ["1, 2, 3, 4"]),
    ("zs_concordance_index", "2 1 4 3 5", ["5, 4, 3, 2, 1"]),
    ("zs_concordance_index", "1, 2, 3", ["1, 2, 3, 4"]),
    ("zs_concordance_index", "1, 2, 2, 4", ["1, 2, 3, 4"]),
    ("zs_concordance_index", "2,1", ["1, 2"]),
    ("zs_concordance_index", "The order is: 3-1, 2", ["3, 1, 2"]),
    ("zs_concordance_index", "6, 1, 5, 2, 4, 3", ["3, 6, 1, 4, 2, 5"]),
    ("zs_concordance_index", "no ids", ["1, 2, 3"]),
    # the reference scorer fails on these golds (recorded with score null): one id, no percentage, no letter
    ("zs_concordance_index", "1", ["1"]),
    ("zs_exp_similarity", "40%", ["forty percent"]),
    ("zs_accuracy", "A", ["none of them"]),
]

# ROUGE tasks of several samples: (name, [(prediction, references), ...]).
TASK_CASES = [
    ("three_samples", [
        ("The report says costs rose.", ["The report finds that costs rose sharply."]),
        ("Nothing relevant", ["The meeting decided on the budget."]),
        ("The team discussed the remote control design.", ["The team discussed the design of the remote.",
                                                          "Remote control design was discussed."]),
    ]),
    ("one_zero_rouge2", [
        ("cat", ["cat sat"]),
        ("the dog barked loudly", ["a dog barked loudly at night"]),
    ]),
]


def load(metrics_dir, name):
    spec = importlib.util.spec_from_file_location(f"zs_{name}", metrics_dir / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_rouge(rouge, prediction, references):
    """compute_rouge over the (prediction, reference) pairs, F x 100, max per key over references."""
    scores = rouge.compute_rouge([prediction] * len(references), references, rouge_types=["rouge1", "rouge2", "rougeL"])
    return {key: max(s.fmeasure * 100 for s in scores[key]) for key in ("rouge1", "rouge2", "rougeL")}


def task_rouge(rouge, samples):
    """zero_scrolls.py's ROUGE score: per-key means of the per-sample bests, then their geometric mean."""
    bests = [best_rouge(rouge, p, refs) for p, refs in samples]
    means = {key: sum(b[key] for b in bests) / len(bests) for key in ("rouge1", "rouge2", "rougeL")}
    return means, (means["rouge1"] * means["rouge2"] * means["rougeL"]) ** (1.0 / 3.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics-dir", required=True, type=pathlib.Path,
                        help="tau/zero_scrolls's metrics/ folder at revision " + REVISION)
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/longctx/zeroscrolls_metric_goldens.json")
    args = parser.parse_args()
    rouge = load(args.metrics_dir, "rouge")
    scorers = {
        "zs_accuracy": load(args.metrics_dir, "accuracy").compute_accuracy,
        "zs_exp_similarity": load(args.metrics_dir, "exp_similarity").compute_exp_similarity,
        "zs_concordance_index": load(args.metrics_dir, "concordance_index").compute_concordance_index,
    }
    samples = []
    for metric, prediction, references in SAMPLE_CASES:
        case = {"metric": metric, "prediction": prediction, "references": references}
        if metric == "zs_rouge":
            case.update(best_rouge(rouge, prediction, references))
        else:
            try:
                case["score"] = float(scorers[metric]([prediction], [references]))
            except (ValueError, ZeroDivisionError, AssertionError, IndexError) as e:
                case["score"] = None  # the reference scorer fails on this case
                case["reference_error"] = f"{type(e).__name__}: {e}"
        samples.append(case)
    tasks = []
    for name, task_samples in TASK_CASES:
        means, score = task_rouge(rouge, task_samples)
        tasks.append({"name": name, "samples": [{"prediction": p, "references": r} for p, r in task_samples],
                      "rouge1": means["rouge1"], "rouge2": means["rouge2"], "rougeL": means["rougeL"], "score": score})
    import lifelines
    import rouge_score
    doc = {
        "source": f"tau/zero_scrolls metrics/ at {REVISION}, by scripts/goldens/make_zeroscrolls_metric_goldens.py",
        "versions": {"python": sys.version.split()[0], "lifelines": lifelines.__version__,
                     "rouge_score": getattr(rouge_score, "__version__", "0.1.2")},
        "samples": samples,
        "rouge_tasks": tasks,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(samples)} sample cases and {len(tasks)} ROUGE tasks to {args.out}")


if __name__ == "__main__":
    main()
