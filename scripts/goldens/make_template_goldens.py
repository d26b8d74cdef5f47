#!/usr/bin/env python3
"""Writes the chat-template goldens under tests/fixtures/template_goldens/.

Two files:
  jinja_cases.json   interpreter conformance cases (jinja_cases.py): template + JSON context ->
                     output, or the error jinja2 raised.
  chat_goldens.json  real chat templates from ../shared/data/tokenizers (Llama-3.1, Llama-3
                     tokenizer_config, Qwen2.5, Qwen3 with enable_thinking true/false,
                     DeepSeek-R1-Distill-Qwen) over the conversations in conversations.py, with
                     add_generation_prompt false/true -> the exact prompt string.

Every string is rendered twice and the two must agree: once by transformers itself
(`tokenizer.apply_chat_template(..., tokenize=False)` where a full tokenizer directory exists,
otherwise transformers' `render_jinja_template`), and once by a jinja2 environment built here the
way transformers builds it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
loopcontrols, tojson with ensure_ascii=False, raise_exception, strftime_now). strftime_now is
pinned to FIXED_NOW in both so that the goldens are deterministic.

Run from the repository root with the goldens venv (transformers + jinja2, requirements.txt):
  /opt/goldens-venv/bin/python scripts/goldens/make_template_goldens.py [--out DIR] [--shared DIR]
"""
import argparse
import copy
import datetime as _dt
import hashlib
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
import transformers
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from transformers.utils import chat_template_utils as ctu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conversations import CONVERSATIONS  # noqa: E402
from jinja_cases import CASES  # noqa: E402

FIXED_NOW = _dt.datetime(2024, 7, 26, 13, 5, 9)


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


# transformers' strftime_now calls chat_template_utils.datetime.now(): pin it.
ctu.datetime = _FixedDatetime


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker without the tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    """jinja2 configured exactly as transformers' _cached_compile_jinja_template does."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = ctu._cached_compile_jinja_template("").environment.globals["dict"]
    env.globals["namespace"] = ctu._cached_compile_jinja_template("").environment.globals["namespace"]
    return env


ENV = make_env()


def render_case(source, context):
    """(output, error) from both transformers' environment and ours; they must agree."""
    results = []
    for compile_fn in (ctu._compile_jinja_template, ENV.from_string):
        try:
            results.append((compile_fn(source).render(**copy.deepcopy(context)), None))
        except Exception as e:  # noqa: BLE001 - any jinja2 failure is a recorded outcome
            results.append((None, f"{type(e).__name__}: {e}"))
    if results[0] != results[1]:
        raise SystemExit(f"transformers and the local jinja2 env disagree on {source!r}: {results}")
    return results[0]


def jinja_cases():
    out = []
    names = set()
    for name, source, context in CASES:
        assert name not in names, name
        names.add(name)
        output, error = render_case(source, context)
        expect_error = name.startswith("e_")
        if expect_error != (error is not None):
            raise SystemExit(f"case {name}: expected {'an error' if expect_error else 'success'}, got {error!r}")
        case = {"name": name, "template": source, "context": context}
        if error is None:
            case["output"] = output
        else:
            case["error"] = error
        out.append(case)
    return out


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_specs(shared):
    tok = os.path.join(shared, "tokenizers")
    with open(os.path.join(tok, "qwen3/tokenizer_config.json"), encoding="utf-8") as f:
        qwen3_template = json.load(f)["chat_template"]
    with open(os.path.join(tok, "llama3/tokenizer_config.json"), encoding="utf-8") as f:
        llama3_template = json.load(f)["chat_template"]

    def read(rel):
        with open(os.path.join(tok, rel), encoding="utf-8") as f:
            return f.read()

    llama_tokens = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    qwen_tokens = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    # deepseek-r1-distill-qwen/SOURCES.md: bos 151646, eos = pad 151643.
    deepseek_tokens = {
        "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>",
        "eos_token": "<\uff5cend\u2581of\u2581sentence\uff5c>",
        "pad_token": "<\uff5cend\u2581of\u2581sentence\uff5c>",
    }
    return [
        # id, source (relative to shared/data), template text, special tokens, tokenizer dir for
        # apply_chat_template (None: render_jinja_template), enable_thinking values.
        ("llama3.1", {"path": "tokenizers/llama3/chat_template.Llama-3.1-8B-Instruct.llama.cpp.jinja"},
         read("llama3/chat_template.Llama-3.1-8B-Instruct.llama.cpp.jinja"), llama_tokens, None, [None]),
        ("llama3_tokenizer_config", {"path": "tokenizers/llama3/tokenizer_config.json", "field": "chat_template"},
         llama3_template, llama_tokens, os.path.join(tok, "llama3"), [None]),
        ("qwen2.5", {"path": "tokenizers/qwen2/chat_template.Qwen2.5-7B-Instruct.llama.cpp.jinja"},
         read("qwen2/chat_template.Qwen2.5-7B-Instruct.llama.cpp.jinja"), qwen_tokens, None, [None]),
        ("qwen3", {"path": "tokenizers/qwen3/tokenizer_config.json", "field": "chat_template"},
         qwen3_template, qwen_tokens, os.path.join(tok, "qwen3"), [True, False]),
        ("deepseek-r1-distill-qwen",
         {"path": "tokenizers/deepseek-r1-distill-qwen/chat_template.DeepSeek-R1-Distill-Qwen-32B.llama.cpp.jinja"},
         read("deepseek-r1-distill-qwen/chat_template.DeepSeek-R1-Distill-Qwen-32B.llama.cpp.jinja"),
         deepseek_tokens, None, [None]),
    ]


def render_chat(source, tokens, tokenizer, conv, add_generation_prompt, enable_thinking):
    kwargs = {}
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    tools = conv.get("tools")

    def via_transformers():
        if tokenizer is not None:
            return tokenizer.apply_chat_template(copy.deepcopy(conv["messages"]), tools=copy.deepcopy(tools),
                                                 add_generation_prompt=add_generation_prompt, tokenize=False,
                                                 **kwargs)
        chat = ctu._normalize_chat_messages(copy.deepcopy(conv["messages"]))
        rendered, _ = ctu.render_jinja_template(conversations=[chat], tools=copy.deepcopy(tools),
                                                chat_template=source,
                                                add_generation_prompt=add_generation_prompt, **tokens, **kwargs)
        return rendered[0]

    def via_local_env():
        chat = ctu._normalize_chat_messages(copy.deepcopy(conv["messages"]))
        chat = ctu._alias_reasoning_fields(ctu._plain_template_data(chat))
        context = dict(tokens)
        context.update(kwargs)
        return ENV.from_string(source).render(messages=chat, tools=copy.deepcopy(tools), documents=None,
                                              add_generation_prompt=add_generation_prompt, **context)

    results = []
    for fn in (via_transformers, via_local_env):
        try:
            results.append((fn(), None))
        except Exception as e:  # noqa: BLE001
            results.append((None, f"{type(e).__name__}: {e}"))
    if results[0] != results[1]:
        raise SystemExit(f"transformers and the local env disagree on {conv['id']}: {results}")
    return results[0]


def chat_goldens(shared):
    templates = []
    for tid, src, text, tokens, tok_dir, thinking_values in template_specs(shared):
        tokenizer = None
        if tok_dir is not None:
            tokenizer = transformers.AutoTokenizer.from_pretrained(tok_dir)
            if tokenizer.special_tokens_map != tokens:
                raise SystemExit(f"{tid}: special tokens {tokenizer.special_tokens_map} != {tokens}")
        cases = []
        for conv in CONVERSATIONS:
            for thinking in thinking_values:
                for agp in (False, True):
                    output, error = render_chat(text, tokens, tokenizer, conv, agp, thinking)
                    case = {"conversation": conv["id"], "add_generation_prompt": agp}
                    if thinking is not None:
                        case["enable_thinking"] = thinking
                    if error is None:
                        case["expected"] = output
                    else:
                        case["error"] = error
                    cases.append(case)
        n_ok = sum("expected" in c for c in cases)
        print(f"{tid}: {len(cases)} renders ({n_ok} ok, {len(cases) - n_ok} template errors)")
        templates.append({"id": tid, "source": src, "sha256": sha256_text(text), "special_tokens": tokens,
                          "cases": cases})
    return templates


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(repo, "tests/fixtures/template_goldens"))
    ap.add_argument("--shared", default=os.path.join(repo, "../shared/data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    versions = {"jinja2": jinja2.__version__, "transformers": transformers.__version__,
                "python": sys.version.split()[0]}
    meta = {"generator": "scripts/goldens/make_template_goldens.py", "versions": versions,
            "strftime_now": FIXED_NOW.isoformat()}

    cases = jinja_cases()
    with open(os.path.join(args.out, "jinja_cases.json"), "w", encoding="utf-8") as f:
        json.dump({**meta, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"jinja_cases.json: {len(cases)} cases")

    conversations = {**meta, "conversations": CONVERSATIONS, "templates": chat_goldens(args.shared)}
    with open(os.path.join(args.out, "chat_goldens.json"), "w", encoding="utf-8") as f:
        json.dump(conversations, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
