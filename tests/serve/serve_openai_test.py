"""`kvpress serve` driven by the official `openai` Python client (PyPI) on loopback: models.list, chat
and text completions, streaming with usage, stop strings, the kvpress extension fields through
extra_body and the kvpress metrics in the response, and an API error raised as openai.BadRequestError.

Runs with the first interpreter that has `openai`: this one, $KVPRESS_OPENAI_PYTHON, or the venv
scripts/install-deps.sh makes ($KVPRESS_PYENV, default ~/.cache/kvpress/pyenv); skipped (exit 77) when
none has it."""
import os
import sys

try:
    import openai
except ImportError:
    pyenv = os.environ.get("KVPRESS_PYENV", os.path.expanduser("~/.cache/kvpress/pyenv"))
    for candidate in [os.environ.get("KVPRESS_OPENAI_PYTHON", ""), os.path.join(pyenv, "bin", "python3")]:
        if candidate and os.path.exists(candidate) and not os.environ.get("KVPRESS_OPENAI_REEXEC"):
            os.environ["KVPRESS_OPENAI_REEXEC"] = "1"
            os.execv(candidate, [candidate] + sys.argv)
    print("SKIP: the `openai` Python package is not installed (pip install openai, or scripts/install-deps.sh)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(__file__))
from serve_util import Server, arguments, check, run_tests  # noqa: E402

ARGS = arguments(__doc__)
QUESTION = "k=4, c=2, q=3, a=0, g=1. Find a+c."


def main():
    srv = Server(ARGS.kvpress)
    client = openai.OpenAI(base_url="http://127.0.0.1:%d/v1" % srv.port, api_key="unused", max_retries=0)
    try:
        return run_tests([
            ("models", lambda: test_models(client)),
            ("chat", lambda: test_chat(client)),
            ("chat_stream", lambda: test_chat_stream(client)),
            ("press_per_request", lambda: test_press(client)),
            ("completions_stop", lambda: test_completions(client)),
            ("errors", lambda: test_errors(client)),
        ])
    finally:
        srv.close()


def chat(client, **kw):
    return client.chat.completions.create(model="tiny-reasoner", messages=[{"role": "user", "content": QUESTION}],
                                          max_tokens=40, temperature=0, seed=0, **kw)


def test_models(client):
    ids = [m.id for m in client.models.list()]
    check(ids == ["tiny-reasoner"], ids)


def test_chat(client):
    r = chat(client)
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", r)
    check("\\boxed{2}" in r.choices[0].message.content, r.choices[0].message.content)
    check(r.choices[0].finish_reason == "stop", r.choices[0].finish_reason)
    check(r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage)
    metrics = r.model_extra["kvpress"]["metrics"]
    check(metrics["total_decoding_tokens"] == r.usage.completion_tokens and metrics["kv_bytes_peak"] > 0, metrics)


def test_chat_stream(client):
    whole = chat(client).choices[0].message.content
    text, usage, finish = "", None, None
    for chunk in chat(client, stream=True, stream_options={"include_usage": True}):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    check(text == whole, "streamed %r != %r" % (text, whole))
    check(finish == "stop" and usage and usage.completion_tokens > 0, (finish, usage))


def test_press(client):
    full = chat(client)
    pressed = chat(client, extra_body={"press": "streaming_llm", "cache_budget": 8})
    kv_full = full.model_extra["kvpress"]["metrics"]["kv_bytes_peak"]
    kv_pressed = pressed.model_extra["kvpress"]["metrics"]["kv_bytes_peak"]
    check(pressed.model_extra["kvpress"]["press"] == "streaming_llm", pressed.model_extra)
    check(kv_pressed < kv_full, "streaming_llm budget 8 KV peak %d not below the full cache's %d" % (kv_pressed, kv_full))


def test_completions(client):
    r = client.completions.create(model="tiny-reasoner", prompt=QUESTION, max_tokens=16, temperature=0)
    check(r.object == "text_completion" and r.choices[0].text, r)
    text = r.choices[0].text
    stop = text[3:5]
    cut = client.completions.create(model="tiny-reasoner", prompt=QUESTION, max_tokens=16, temperature=0, stop=[stop])
    check(cut.choices[0].text == text[:text.find(stop)] and cut.choices[0].finish_reason == "stop", cut.choices[0])


def test_errors(client):
    try:
        chat(client, n=2)
    except openai.BadRequestError as e:
        check(e.status_code == 400 and "n:" in str(e), str(e))
    else:
        raise AssertionError("n=2 was accepted")
    try:
        chat(client, extra_body={"press": "no_such_press", "cache_budget": 8})
    except openai.BadRequestError as e:
        check("unknown press" in str(e), str(e))
    else:
        raise AssertionError("an unknown press was accepted")


if __name__ == "__main__":
    sys.exit(main())
