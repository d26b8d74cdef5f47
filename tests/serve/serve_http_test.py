"""`kvpress serve` over real HTTP on loopback (the bundled tiny-reasoner; SmolLM2 from ../shared/data for
the tests that need a slow model, skipped when it is absent): every route, the OpenAI response shapes,
SSE, stop strings, the same answers as `kvpress generate`, 4xx JSON errors for bad input with the
server still up, 429 when the queue is full, disconnect cancels, graceful SIGTERM."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_util import Server, arguments, check, run_tests, streamed_text  # noqa: E402

ARGS = arguments(__doc__)
QUESTION = "k=4, c=2, q=3, a=0, g=1. Find a+c."
CHAT = {"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 40, "temperature": 0}
SMOLLM = os.path.join(ARGS.data, "models", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")


def generate_json(*flags):
    out = subprocess.run([ARGS.kvpress, "generate", "--json", *flags], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    srv = Server(ARGS.kvpress, "--parallel", "4")
    try:
        status = run_tests([
            ("routes", lambda: test_routes(srv)),
            ("completion_matches_generate", lambda: test_completion_matches_generate(srv)),
            ("chat_stream", lambda: test_chat_stream(srv)),
            ("stop_strings", lambda: test_stop_strings(srv)),
            ("bad_requests", lambda: test_bad_requests(srv)),
            ("sigterm_finishes_in_flight", lambda: test_sigterm_finishes_in_flight()),
            ("queue_full_429", lambda: test_queue_full()),
            ("disconnect_cancels", lambda: test_disconnect_cancels()),
            ("sigterm_grace_0_cancels", lambda: test_sigterm_grace_0_cancels()),
            ("timeout_and_non_stream_disconnect", lambda: test_timeout_and_non_stream_disconnect()),
        ])
    finally:
        srv.close()
    return status


def test_routes(srv):
    status, hdrs, body = srv.request("GET", "/health")
    check(status == 200 and json.loads(body) == {"status": "ok"}, "/health: %d %r" % (status, body))
    status, _, body = srv.request("GET", "/v1/models")
    models = json.loads(body)
    check(status == 200 and models["object"] == "list" and models["data"][0]["id"] == "tiny-reasoner", body)
    check(models["data"][0]["context_length"] == 512, body)
    status, _, body = srv.request("GET", "/v1/presses")
    names = [p["name"] for p in json.loads(body)["data"]]
    check(status == 200 and "snapkv" in names and "streaming_llm" in names, names)
    status, hdrs, body = srv.request("GET", "/")
    check(status == 200 and hdrs["content-type"].startswith("text/html") and b"/v1/chat/completions" in body,
          "/ is not the page")
    status, hdrs, body = srv.request("GET", "/metrics")
    text = body.decode()
    check(status == 200 and hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs)
    for name in ["kvpress_requests_total", "kvpress_completion_tokens_total", "kvpress_prompt_tokens_total",
                 "kvpress_tokens_per_second", "kvpress_kv_bytes_live", "kvpress_kv_bytes_peak",
                 "kvpress_queue_length", "kvpress_active_sequences"]:
        check("# TYPE %s " % name in text, "/metrics lacks " + name)


def test_completion_matches_generate(srv):
    # The server's /v1/completions (BOS + prompt) against `kvpress generate --prompt`, with and without a
    # press: same text, same token count, same KV peak.
    for press in [[], ["--press", "snapkv", "--cache-budget", "8"], ["--press", "streaming_llm", "--cache-budget", "8"]]:
        ref = generate_json("--prompt", QUESTION, "-n", "24", *press)
        body = {"prompt": QUESTION, "max_tokens": 24, "temperature": 0}
        if press:
            body.update(press=press[1], cache_budget=int(press[3]))
        status, got = srv.post("/v1/completions", body)
        check(status == 200, got)
        check(got["object"] == "text_completion", got)
        choice = got["choices"][0]
        check(choice["text"] == ref["text"], "%s: %r != generate's %r" % (press, choice["text"], ref["text"]))
        check(got["usage"]["completion_tokens"] == len(ref["tokens"]), got["usage"])
        check(got["usage"]["prompt_tokens"] == ref["prompt_tokens"], got["usage"])
        m, rm = got["kvpress"]["metrics"], ref["metrics"]
        check(m["kv_bytes_peak"] == rm["kv_bytes_peak"] and m["evictions"] == rm["evictions"],
              "%s: KV peak %d / evictions %d, generate %d / %d" % (press, m["kv_bytes_peak"], m["evictions"],
                                                                    rm["kv_bytes_peak"], rm["evictions"]))
        check(got["kvpress"]["press"] == (press[1] if press else "none"), got["kvpress"])


def test_chat_stream(srv):
    status, whole = srv.post("/v1/chat/completions", CHAT)
    check(status == 200 and whole["object"] == "chat.completion", whole)
    msg = whole["choices"][0]["message"]
    check(msg["role"] == "assistant" and msg["content"], msg)
    check(whole["usage"]["total_tokens"] == whole["usage"]["prompt_tokens"] + whole["usage"]["completion_tokens"],
          whole["usage"])
    status, ctype, events, done = srv.stream("/v1/chat/completions", dict(CHAT, stream_options={"include_usage": True}))
    check(status == 200 and ctype.startswith("text/event-stream") and done, (status, ctype, done))
    check(events[0]["object"] == "chat.completion.chunk" and events[0]["choices"][0]["delta"]["role"] == "assistant",
          events[0])
    check(streamed_text(events) == msg["content"], "stream %r != %r" % (streamed_text(events), msg["content"]))
    final = [e for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
    check(len(final) == 1 and final[0]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"], final)
    check(final[0]["kvpress"]["metrics"]["total_decoding_tokens"] == whole["usage"]["completion_tokens"], final)
    check(events[-1]["choices"] == [] and events[-1]["usage"] == whole["usage"], events[-1])
    check(len({e["id"] for e in events}) == 1, "chunk ids differ")


def test_stop_strings(srv):
    status, full = srv.post("/v1/chat/completions", CHAT)
    text = full["choices"][0]["message"]["content"]
    check("=" in text, "the answer has no '=' to stop at: %r" % text)
    for stop in ["=", ["boxed", ". "]]:
        status, got = srv.post("/v1/chat/completions", dict(CHAT, stop=stop))
        stops = [stop] if isinstance(stop, str) else stop
        cut = min(text.find(s) for s in stops if s in text)
        check(got["choices"][0]["message"]["content"] == text[:cut], "%r: %r" % (stop, got["choices"][0]))
        check(got["choices"][0]["finish_reason"] == "stop", got["choices"][0])
        _, _, events, _ = srv.stream("/v1/chat/completions", dict(CHAT, stop=stop))
        check(streamed_text(events) == text[:cut], "stream with stop %r: %r" % (stop, streamed_text(events)))


def test_bad_requests(srv):
    ok_chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    cases = [
        ("/v1/chat/completions", b"{not json", 400, "invalid JSON"),
        ("/v1/chat/completions", b"", 400, "invalid JSON"),
        ("/v1/chat/completions", b"[1, 2]", 400, "JSON object"),
        ("/v1/chat/completions", b"[" * 100000, 400, "nested deeper"),
        ("/v1/chat/completions", b'{"messages": "hi"}', 400, "messages"),
        ("/v1/chat/completions", b'{"messages": []}', 400, "messages"),
        ("/v1/chat/completions", b'{"messages": [{"role": "robot", "content": "x"}]}', 400, "messages[0].role"),
        ("/v1/chat/completions", b'{"messages": [{"role": "user"}]}', 400, "messages[0].content"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, max_tokens="ten")).encode(), 400, "max_tokens"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, max_tokens=-1)).encode(), 400, "max_tokens"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, max_tokens=10 ** 30)).encode(), 400, "max_tokens"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, temperature="hot")).encode(), 400, "temperature"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, temperature=9)).encode(), 400, "temperature"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, top_p=0)).encode(), 400, "top_p"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, stream="yes")).encode(), 400, "stream"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, stop=[1])).encode(), 400, "stop"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, stop=["a", "b", "c", "d", "e"])).encode(), 400, "stop"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, n=2)).encode(), 400, "n:"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, seed="x")).encode(), 400, "seed"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, press="nope", cache_budget=8)).encode(), 400, "unknown press"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, press="snapkv:window=x", cache_budget=8)).encode(), 400, "press"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, press=7)).encode(), 400, "press"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, cache_budget=8)).encode(), 400, "need press"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, press="snapkv", cache_budget=-3)).encode(), 400, "cache_budget"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, press="snapkv", compression_ratio=1.5)).encode(), 400,
         "compression_ratio"),
        ("/v1/chat/completions", json.dumps(dict(ok_chat, max_tokens=510)).encode(), 400, "context"),
        ("/v1/completions", b'{"prompt": 5}', 400, "prompt"),
        ("/v1/completions", b'{"max_tokens": 5}', 400, "prompt"),
        ("/v1/completions", json.dumps({"prompt": "x" * 600}).encode(), 400, "context"),
        ("/v1/completions", b"{" + b'"prompt": "' + b"a" * (2 << 20) + b'"}', 413, "larger than"),
        ("/v1/nothing", b"{}", 404, "no route"),
    ]
    for path, body, want, words in cases:
        status, hdrs, data = srv.request("POST", path, body)
        check(status == want, "%s %.60r: status %d, want %d" % (path, body, status, want))
        check(hdrs.get("content-type", "").startswith("application/json"), "%.60r: not JSON (%s)" % (body, hdrs))
        err = json.loads(data)["error"]
        check(words in err["message"] and err["type"], "%.60r: %r lacks %r" % (body, err, words))
    # Still up, still right.
    status, _ = srv.post("/v1/chat/completions", ok_chat)
    check(status == 200, "a good request after the bad ones failed")
    status, _, _ = srv.request("GET", "/health")
    check(status == 200, "/health after the bad requests")


def test_sigterm_finishes_in_flight():
    # A stream in flight when SIGTERM arrives still gets all its tokens; the server then exits 0.
    srv = Server(ARGS.kvpress)
    try:
        result = {}
        body = {"prompt": QUESTION, "max_tokens": 480, "temperature": 1.0, "seed": 5}
        t = threading.Thread(target=lambda: result.update(r=srv.stream("/v1/completions", body)))
        t.start()
        deadline = time.time() + 10
        while srv.metric("kvpress_active_sequences") < 1 and time.time() < deadline and t.is_alive():
            time.sleep(0.002)
        code = srv.stop(signal.SIGTERM)
        t.join(30)
        status, _, events, done = result["r"]
        final = [e for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
        check(status == 200 and done and final, "stream did not end cleanly: %r" % events[-1:])
        check(code == 0, "exit status %d after SIGTERM" % code)
    finally:
        srv.close()


def test_queue_full():
    # One slot and one queue place: of 12 simultaneous requests some are refused with 429 + JSON error
    # + Retry-After, the others answered; none fails otherwise.
    srv = Server(ARGS.kvpress, "--parallel", "1", "--max-queue", "1")
    try:
        results = []
        lock = threading.Lock()

        def one(i):
            r = srv.request("POST", "/v1/completions", {"prompt": QUESTION, "max_tokens": 300, "temperature": 1, "seed": i})
            with lock:
                results.append(r)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = sorted(r[0] for r in results)
        check(len(results) == 12 and set(codes) <= {200, 429}, codes)
        check(codes.count(429) >= 1 and codes.count(200) >= 2, codes)
        for status, hdrs, data in results:
            if status == 429:
                check(hdrs.get("retry-after") == "1" and "max-queue" in json.loads(data)["error"]["message"], data)
        check(srv.metric('kvpress_requests_total{code="429"}') == codes.count(429), "429 not counted")
    finally:
        srv.close()
    # --max-queue 0: nothing waits, but free places are still taken.
    srv = Server(ARGS.kvpress, "--parallel", "2", "--max-queue", "0")
    try:
        status, got = srv.post("/v1/completions", {"prompt": QUESTION, "max_tokens": 4})
        check(status == 200, got)
    finally:
        srv.close()


def slow_server(*args):
    if not os.path.exists(SMOLLM):
        print("SKIP: %s is absent (../shared/data)" % SMOLLM)
        return None
    return Server(ARGS.kvpress, "--model", SMOLLM, "--threads", "1", *args)


def test_disconnect_cancels():
    srv = slow_server()
    if srv is None:
        return
    try:
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "stream": True, "temperature": 0}).encode()
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body)
        got = b""
        while got.count(b"data: ") < 3:
            got += s.recv(4096)
        s.close()  # the client goes away after 3 events
        deadline = time.time() + 20
        while srv.metric('kvpress_generations_total{finish_reason="cancelled"}') < 1 and time.time() < deadline:
            time.sleep(0.1)
        check(srv.metric('kvpress_generations_total{finish_reason="cancelled"}') == 1, "the sequence was not cancelled")
        tokens = srv.metric("kvpress_completion_tokens_total")
        check(tokens < 400, "the cancelled sequence ran to the end (%d tokens)" % tokens)
        check(srv.metric("kvpress_active_sequences") == 0, "a sequence is still active")
        status, _ = srv.post("/v1/completions", {"prompt": "Hi", "max_tokens": 2})
        check(status == 200, "the server is not serving after the disconnect")
    finally:
        srv.close()


def test_sigterm_grace_0_cancels():
    srv = slow_server("--shutdown-grace", "0")
    if srv is None:
        return
    try:
        result = {}
        body = {"prompt": "Once upon a time", "max_tokens": 400, "temperature": 0}
        t = threading.Thread(target=lambda: result.update(r=srv.stream("/v1/completions", body)))
        t.start()
        deadline = time.time() + 20
        while srv.metric("kvpress_active_sequences") < 1 and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # a few tokens out
        code = srv.stop(signal.SIGTERM)
        t.join(30)
        status, _, events, done = result["r"]
        final = [e for e in events if e["choices"] and e["choices"][0]["finish_reason"]]
        check(status == 200 and done and final and final[0]["choices"][0]["finish_reason"] == "cancelled",
              "stream did not end with finish_reason cancelled: %r" % events[-1:])
        check(code == 0, "exit status %d after SIGTERM" % code)
    finally:
        srv.close()


def test_timeout_and_non_stream_disconnect():
    srv = slow_server("--timeout", "1.5")
    if srv is None:
        return
    try:
        # A request longer than --timeout ends with finish_reason "timeout" and the tokens it had.
        t0 = time.time()
        status, got = srv.post("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 400, "temperature": 0})
        check(status == 200 and got["choices"][0]["finish_reason"] == "timeout", got)
        check(0 < got["usage"]["completion_tokens"] < 400 and time.time() - t0 < 10, got["usage"])
        check(srv.metric('kvpress_generations_total{finish_reason="timeout"}') == 1, "timeouts not counted")
    finally:
        srv.close()
    srv = slow_server()
    try:
        # A non-streamed request whose client goes away is cancelled too (the server's whitespace
        # keep-alive write fails): the generation ends "cancelled", well before its timeout.
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 400, "temperature": 0}).encode()
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        deadline = time.time() + 10
        while srv.metric("kvpress_active_sequences") < 1 and time.time() < deadline:
            time.sleep(0.01)
        s.close()
        deadline = time.time() + 10
        while srv.metric('kvpress_generations_total{finish_reason="cancelled"}') < 1 and time.time() < deadline:
            time.sleep(0.1)
        check(srv.metric('kvpress_generations_total{finish_reason="cancelled"}') == 1,
              "the non-streamed request was not cancelled")
        check(srv.metric("kvpress_completion_tokens_total") < 400, "it ran to the end")
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
