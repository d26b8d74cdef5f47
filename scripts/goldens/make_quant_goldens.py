#!/usr/bin/env python3
"""Goldens for the quantized GGUF weight types (tests/fixtures/quant_goldens/).

Input rows are real weights: the first ROWS rows of SmolLM2-135M-Instruct's blk.0.ffn_down.weight
(1536 wide, a multiple of 256), dequantized from its Q4_1 file by gguf-py. Each type is quantized by
llama.cpp's own ggml_quantize_chunk (libggml-base from scripts/build-llamacpp.sh, called through
ctypes), then dequantized by gguf.quants.dequantize: kvpress must reproduce those floats bit for
bit. A fixed activation matrix and numpy's f32-activation product W·x are stored for the matmul
tests. Also records, for the real Q4_1/Q8_0 tensors of the SmolLM2 file, the SHA-256 of gguf-py's
dequantization (the model-labelled test compares ours against it).

Pinned: gguf==0.17.1, numpy; llama.cpp from llama-cpp-python==0.3.36 (scripts/build-llamacpp.sh).
usage: KVPRESS_REF_DIR=~/.cache/kvpress-ref $REF/venv/bin/python scripts/goldens/make_quant_goldens.py
"""
import ctypes
import hashlib
import json
import os
import pathlib

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf.quants import dequantize

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/quant_goldens"
SMOL = ROOT.parent / "shared/data/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
REF = pathlib.Path(os.environ.get("KVPRESS_REF_DIR", pathlib.Path.home() / ".cache/kvpress-ref"))
ROWS, TOKENS = 8, 5
TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def main() -> None:
    ggml = ctypes.CDLL(str(REF / "bin/libggml-base.so"))
    ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
    ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    reader = GGUFReader(str(SMOL))
    tensors = {t.name: t for t in reader.tensors}
    src = tensors["blk.0.ffn_down.weight"]
    w = dequantize(src.data, src.tensor_type)[:ROWS].astype(np.float32)  # [ROWS, 1536]
    cols = w.shape[1]
    rng = np.random.default_rng(42)
    x = rng.standard_normal((TOKENS, cols)).astype(np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "input_f32.bin").write_bytes(w.tobytes())
    (OUT / "activations_f32.bin").write_bytes(x.tobytes())
    manifest = {"source": "SmolLM2-135M-Instruct.Q4_1.gguf blk.0.ffn_down.weight rows 0..%d" % (ROWS - 1),
                "rows": ROWS, "cols": cols, "tokens": TOKENS, "types": {}, "model_tensors": {}}
    for name in TYPES:
        qtype = getattr(T, name)
        buf = np.zeros(ROWS * cols * 4, dtype=np.uint8)  # generous
        size = ggml.ggml_quantize_chunk(int(qtype), w.ctypes.data, buf.ctypes.data, 0, ROWS, cols, None)
        q = buf[:size].copy()
        deq = dequantize(q.reshape(ROWS, -1), qtype).astype(np.float32)
        y = (x.astype(np.float64) @ deq.astype(np.float64).T).astype(np.float32)  # [TOKENS, ROWS]
        (OUT / f"{name.lower()}.bin").write_bytes(q.tobytes())
        manifest["types"][name.lower()] = {
            "ggml_type": int(qtype), "bytes": int(size), "dequant_sha256": sha(deq),
            "first_values": [float(v) for v in deq.reshape(-1)[:4]],
            "matmul_f32": [float(v) for v in y.reshape(-1)],
        }
    for tname in ["blk.0.attn_q.weight", "blk.3.ffn_up.weight", "token_embd.weight"]:
        t = tensors[tname]
        deq = dequantize(t.data, t.tensor_type).astype(np.float32)
        manifest["model_tensors"][tname] = {"type": t.tensor_type.name.lower(),
                                            "shape": [int(s) for s in deq.shape], "dequant_sha256": sha(deq)}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
