#!/usr/bin/env python3
"""Records Hugging Face math-verify's verdicts into tests/fixtures/scoring_cases.json.

For every case of a math dataset (gsm8k, math500, aime24, aime25, amc23, jsonl) it runs
    verify(parse("\\boxed{" + gold + "}"), parse(response))
with math-verify's default extraction configs (it extracts the answer from the raw response
itself) and stores the boolean as `math_verify`. Non-math cases get no `math_verify` key.
`justification` fields written by hand are kept. Prints the agreement with `expected`.

Usage (pinned version in requirements.txt):
    /opt/goldens-venv/bin/pip install math-verify==0.9.0
    /opt/goldens-venv/bin/python scripts/goldens/score_with_math_verify.py [FIXTURE]
"""
import json
import sys
from pathlib import Path

from math_verify import parse, verify

MATH_DATASETS = {"gsm8k", "math500", "aime24", "aime25", "amc23", "jsonl"}


def main() -> int:
    root = Path(__file__).resolve().parents[2]
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "tests/fixtures/scoring_cases.json"
    doc = json.loads(path.read_text())
    agree = total = 0
    for case in doc["cases"]:
        if case["dataset"] not in MATH_DATASETS:
            case.pop("math_verify", None)
            continue
        gold = parse("\\boxed{" + case["gold"] + "}")
        pred = parse(case["response"])
        verdict = bool(verify(gold, pred)) if gold and pred else False
        case["math_verify"] = verdict
        total += 1
        if verdict == case["expected"]:
            agree += 1
        elif not case.get("justification"):
            print(f"DISAGREE (unjustified) {case['id']}: expected={case['expected']} math_verify={verdict} "
                  f"response={case['response']!r} gold={case['gold']!r}")
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"math-verify agreement: {agree}/{total} = {agree / max(total, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
