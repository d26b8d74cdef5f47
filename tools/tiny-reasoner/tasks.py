"""Synthetic recall-and-add problems for the tiny reasoning model.

A problem lists facts (one-letter names bound to digits), then asks for the sum of a few of
them. The answer needs facts from far back in the prompt; the response is a short trace that
recalls each fact, adds step by step, and ends with \\boxed{answer}:

    question: "g=4, c=9, m=1, a=7, k=0, e=5. Find c+a+e."
    response: "c=9, a=7, e=5. 9+7=16. 16+5=21. \\boxed{21}"

The model sees the question verbatim (the harness's generic jsonl dataset uses the question as the
whole prompt) wrapped in the model's chat template, exactly what `kvpress eval --dataset jsonl`
feeds it.

Training also mixes in an auxiliary "list" task that recalls several facts in one response
("... List e, k." -> "e=5, k=9."): one recall per sample gave too weak a signal for the model to
learn name->value binding in the time we have (issue 7's probe; our first run sat at chance
recall for 500 steps). The held-out test set has only sum problems.

Difficulty knobs: number of facts, number of lookups. Train and test problems come from
independent seeds, and the trainer also skips any problem whose question is in the test set.
"""

import json
import random
from dataclasses import dataclass

# Fewer distinct names make name->value binding easier to learn (see issue 7's probe); the
# tokenizer has one "x=" token per name (model.py).
NAMES = "abcdefghjkmnpqrs"
USER_TAG = "<|user|>"
ASSISTANT_TAG = "<|assistant|>"


@dataclass
class Problem:
    question: str
    response: str
    answer: str


def make_problem(rng: random.Random, n_facts: int, n_lookups: int) -> Problem:
    """One problem with `n_facts` facts and `n_lookups` (<= n_facts) distinct names to add."""
    names = rng.sample(NAMES, n_facts)
    values = {n: rng.randrange(10) for n in names}
    asked = rng.sample(names, min(n_lookups, n_facts))
    facts = ", ".join(f"{n}={values[n]}" for n in names)
    question = f"{facts}. Find {'+'.join(asked)}."
    recalls = ", ".join(f"{n}={values[n]}" for n in asked) + "."
    steps = []
    total = values[asked[0]]
    for n in asked[1:]:
        steps.append(f"{total}+{values[n]}={total + values[n]}.")
        total += values[n]
    response = " ".join([recalls] + steps + [f"\\boxed{{{total}}}"])
    return Problem(question, response, str(total))


def make_list_problem(rng: random.Random, n_facts: int, n_recalls: int) -> Problem:
    """Auxiliary training task: recall `n_recalls` facts by name, no arithmetic."""
    names = rng.sample(NAMES, n_facts)
    values = {n: rng.randrange(10) for n in names}
    asked = rng.sample(names, min(n_recalls, n_facts))
    facts = ", ".join(f"{n}={values[n]}" for n in names)
    response = ", ".join(f"{n}={values[n]}" for n in asked) + "."
    return Problem(f"{facts}. List {', '.join(asked)}.", response, "")


def prompt_for(question: str) -> str:
    """What the harness's jsonl dataset turns a question into (before the chat template)."""
    return question


def chat_text(question: str) -> str:
    """The chat-template rendering with the generation prompt (matches tokenizer_config.json)."""
    return USER_TAG + prompt_for(question) + ASSISTANT_TAG


def sample_difficulty(rng: random.Random, progress: float, max_facts: int, max_lookups: int):
    """Curriculum: at progress 0 only 2-3 facts and one lookup; the ranges widen linearly until
    `progress` 0.5, after which the full range is sampled (easy problems stay in the mix)."""
    grow = min(1.0, progress / 0.5)
    hi_facts = max(3, round(3 + (max_facts - 3) * grow))
    hi_lookups = max(1, round(1 + (max_lookups - 1) * min(1.0, progress / 0.35)))
    n_facts = rng.randint(2, hi_facts)
    n_lookups = rng.randint(1, min(hi_lookups, n_facts))
    return n_facts, n_lookups


def test_set(seed: int, count: int, min_facts: int, max_facts: int, max_lookups: int):
    """The held-out problems: full difficulty, from their own seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n_facts = rng.randint(min_facts, max_facts)
        out.append(make_problem(rng, n_facts, rng.randint(1, max_lookups)))
    return out


def write_jsonl(problems, path: str) -> None:
    with open(path, "w") as f:
        for i, p in enumerate(problems):
            f.write(json.dumps({"id": f"tiny-{i}", "question": p.question, "answer": p.answer,
                                "response": p.response}) + "\n")


if __name__ == "__main__":
    rng = random.Random(0)
    for progress in (0.0, 0.25, 1.0):
        p = make_problem(rng, *sample_difficulty(rng, progress, 8, 3))
        print(chat_text(p.question) + p.response)
