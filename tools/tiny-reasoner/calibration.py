"""Calibration text for `kvpress stats` on the tiny reasoner (expected_attention:stats=FILE and
qfilter:filters=FILE in study.sh): solved problems rendered exactly as the model sees them in a
chat, prompt and response, one JSON line {"text": ...} each.

The problems come from their own seed (not the held-out set's 20261129) at the test set's
difficulty, and any whose question is in test.jsonl is skipped, so the statistics never see a
held-out problem.

    python3 calibration.py --out calib.jsonl [--count 300] [--seed 20261206]
"""

import argparse
import json
import os

import tasks

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_FILE = os.path.join(HERE, "..", "..", "models", "tiny-reasoner", "test.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="JSONL file to write")
    ap.add_argument("--count", type=int, default=300, help="problems written")
    ap.add_argument("--seed", type=int, default=20261206, help="generator seed (not the test set's)")
    args = ap.parse_args()
    with open(TEST_FILE) as f:
        held_out = {json.loads(line)["question"] for line in f}
    written = 0
    attempt = 0
    with open(args.out, "w") as out:
        while written < args.count:
            # Same difficulty as the held-out set (5-8 facts, 1-3 lookups), a fresh seed per batch.
            for p in tasks.test_set(args.seed + attempt, args.count, 5, 8, 3):
                if written == args.count:
                    break
                if p.question in held_out:
                    continue
                out.write(json.dumps({"text": tasks.chat_text(p.question) + p.response}) + "\n")
                written += 1
            attempt += 1
    print(f"{written} calibration problems -> {args.out}")


if __name__ == "__main__":
    main()
