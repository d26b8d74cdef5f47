"""Load test of `kvpress serve` on loopback: 64 concurrent streamed chat requests (the bundled
tiny-reasoner, questions from models/tiny-reasoner/test.jsonl, greedy, presses and budgets mixed:
none, snapkv, streaming_llm, knorm, h2o, tova, with budgets 8-24) against --parallel 8 with continuous batching.
Every request is first run alone (one at a time); under load each answer must be identical to its
alone answer, with 0 errors, all within a time bound. Prints requests, errors, p50/p95 latency and
aggregate tokens/s (and writes them as JSON to --out DIR/serve_load.json when given)."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_util import Server, arguments, check, streamed_text  # noqa: E402

ARGS = arguments(__doc__, extra=lambda p: (
    p.add_argument("--model", default="", help="serve this model instead of the bundled tiny-reasoner"),
    p.add_argument("--max-tokens", type=int, default=64),
    p.add_argument("--time-bound", type=float, default=120)))
N = 64
PARALLEL = 8
TIME_BOUND_S = ARGS.time_bound
PRESSES = [(None, 0), ("snapkv", 16), ("streaming_llm", 8), ("knorm", 24), ("h2o", 12), ("tova", 16)]


def requests():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "models", "tiny-reasoner", "test.jsonl")
    with open(path) as f:
        rows = [json.loads(line) for line in f][:N]
    out = []
    for i, row in enumerate(rows):
        press, budget = PRESSES[i % len(PRESSES)]
        body = {"messages": [{"role": "user", "content": row["question"]}], "max_tokens": ARGS.max_tokens, "temperature": 0,
                "seed": i, "stream_options": {"include_usage": True}}
        if press:
            body.update(press=press, cache_budget=budget)
        out.append(body)
    return out


def run_one(srv, body):
    t0 = time.time()
    status, _, events, done = srv.stream("/v1/chat/completions", body, timeout=TIME_BOUND_S)
    latency = time.time() - t0
    if status != 200 or not done:
        return {"error": "status %d done %s: %r" % (status, done, events[-1:])}
    finals = [e for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
    usage = events[-1].get("usage") or {}
    return {"text": streamed_text(events), "latency": latency, "tokens": usage.get("completion_tokens", 0),
            "finish": finals[0]["choices"][0]["finish_reason"] if finals else None}


def main():
    bodies = requests()
    check(len(bodies) == N, "test.jsonl has fewer than %d rows" % N)
    srv = Server(ARGS.kvpress, "--parallel", str(PARALLEL), "--max-queue", str(2 * N),
                 *(["--model", ARGS.model] if ARGS.model else []))
    try:
        alone = [run_one(srv, b) for b in bodies]
        errors = [a["error"] for a in alone if "error" in a]
        check(not errors, "requests alone failed: %s" % errors[:3])

        results = [None] * N
        start = threading.Event()

        def worker(i):
            start.wait()
            try:
                results[i] = run_one(srv, bodies[i])
            except Exception as e:  # noqa: BLE001 - counted as an error
                results[i] = {"error": repr(e)}
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        t0 = time.time()
        start.set()
        for t in threads:
            t.join(TIME_BOUND_S)
        wall = time.time() - t0
        hung = sum(t.is_alive() for t in threads)
        errors = [r["error"] for r in results if r is None or "error" in r] if not hung else ["%d hung" % hung]
        ok = [r for r in results if r and "error" not in r]
        mismatches = [i for i, r in enumerate(results) if r and "error" not in r and r["text"] != alone[i]["text"]]
        lat = sorted(r["latency"] for r in ok)
        tokens = sum(r["tokens"] for r in ok)
        figures = {
            "model": ARGS.model or "tiny-reasoner", "requests": N, "parallel": PARALLEL, "errors": len(errors), "mismatches_vs_alone": len(mismatches),
            "wall_s": round(wall, 3), "latency_p50_s": round(lat[len(lat) // 2], 3) if lat else None,
            "latency_p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 3) if lat else None,
            "completion_tokens": tokens, "aggregate_tokens_per_s": round(tokens / wall, 1),
            "alone_tokens_per_s": round(sum(a["tokens"] for a in alone) / sum(a["latency"] for a in alone), 1),
            "kv_bytes_peak": int(srv.metric("kvpress_kv_bytes_peak")),
            "server_decode_tokens_per_s": srv.metric("kvpress_tokens_per_second_mean"),
        }
        print(json.dumps(figures, indent=1), flush=True)
        if ARGS.out:
            with open(os.path.join(ARGS.out, "serve_load.json"), "w") as f:
                json.dump(figures, f, indent=1)
        check(not errors, "errors: %s" % errors[:3])
        check(not mismatches, "answers under load differ from alone for requests %s, e.g. %r vs %r" % (
            mismatches[:5], results[mismatches[0]]["text"] if mismatches else "", alone[mismatches[0]]["text"] if mismatches else ""))
        check(wall < TIME_BOUND_S, "took %.1fs" % wall)
        check(srv.metric("kvpress_active_sequences") == 0 and srv.metric("kvpress_queue_length") == 0, "work left over")
        check(srv.stop() == 0, "the server did not exit 0 on SIGTERM")
    finally:
        srv.close()
    print("PASS load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
