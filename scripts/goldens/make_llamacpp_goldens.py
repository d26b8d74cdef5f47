#!/usr/bin/env python3
"""Greedy goldens from llama.cpp itself for SmolLM2-135M-Instruct (tests/fixtures/llamacpp_goldens/).

For the shared Q4_1 GGUF and for an F16 copy of it (every tensor dequantized by gguf-py, matrices
stored as f16, the rest as f32 — `kvpress convert --to gguf --dtype f16` writes the same values),
llama.cpp (llama-cpp-python 0.3.36 over the reference build of scripts/build-llamacpp.sh, 2
threads, full f16 KV cache) tokenizes each prompt and decodes greedily; for every step we record
the chosen id and the gap between its logit and the runner-up's. kvpress must produce the same ids;
a flip is forgiven only where llama.cpp's own top-2 gap is below the tolerance stated in the test
(llama.cpp rounds activations to 8 bits in its quantized dot products, as kvpress does; the
Q8_0 LM head is the one place where we keep f32 activations).

usage: $REF/venv/bin/python scripts/goldens/make_llamacpp_goldens.py   (REF: KVPRESS_REF_DIR)
"""
import json
import os
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/llamacpp_goldens"
SMOL = ROOT.parent / "shared/data/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
REF = pathlib.Path(os.environ.get("KVPRESS_REF_DIR", pathlib.Path.home() / ".cache/kvpress-ref"))
STEPS = 24
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
PLAIN = ["The capital of France is", "def fibonacci(n):\n", "Once upon a time, there was a little",
         "The three primary colors are"]
CHAT = ["What is 12*7?", "Name three colors.", "Write a haiku about the sea."]


def chatml(question: str) -> str:
    # tokenizer.chat_template of the file, rendered for one user turn with add_generation_prompt.
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            "<|im_start|>assistant\n")


def write_f16_copy(src: pathlib.Path, dst: pathlib.Path) -> None:
    from gguf import GGUFReader, GGUFWriter, GGUFValueType, GGMLQuantizationType
    from gguf.quants import dequantize
    r = GGUFReader(str(src))
    w = GGUFWriter(str(dst), arch=r.fields["general.architecture"].contents())
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key == "general.file_type":
            w.add_uint32(key, 1)  # MOSTLY_F16
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            w.add_array(key, field.contents())
        else:
            w.add_key_value(key, field.contents(), vtype)
    for t in r.tensors:
        values = dequantize(t.data, t.tensor_type).astype(np.float32)
        if values.ndim == 2:
            w.add_tensor(t.name, values.astype(np.float16), raw_dtype=GGMLQuantizationType.F16)
        else:
            w.add_tensor(t.name, values)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def greedy(model_path: pathlib.Path):
    import llama_cpp
    llm = llama_cpp.Llama(str(model_path), n_ctx=1024, n_threads=2, n_batch=512, logits_all=True,
                          verbose=False, seed=0)
    cases = []
    for kind, texts in (("plain", PLAIN), ("chat", CHAT)):
        for text in texts:
            prompt = chatml(text) if kind == "chat" else text
            ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            out, gaps = [], []
            for _ in range(STEPS):
                logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
                top = np.argsort(logits)[-2:]
                out.append(int(top[1]))
                gaps.append(round(float(logits[top[1]] - logits[top[0]]), 4))
                llm.eval([out[-1]])
            cases.append({"kind": kind, "text": text, "prompt_ids": ids, "greedy_ids": out, "top2_gap": gaps})
    return cases


def main() -> None:
    import llama_cpp
    f16 = REF / "SmolLM2-135M-Instruct.F16.gguf"
    if not f16.exists():
        write_f16_copy(SMOL, f16)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in (("q4_1", SMOL), ("f16", f16)):
        doc = {"model": path.name, "llama_cpp_python": llama_cpp.__version__, "threads": 2, "steps": STEPS,
               "cases": greedy(path)}
        (OUT / f"smollm2_{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
