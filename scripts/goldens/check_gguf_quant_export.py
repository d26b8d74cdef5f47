#!/usr/bin/env python3
"""Checks `kvpress convert --to gguf --dtype <quantized>` from outside: the `gguf` package reads every
file, each tensor has the type llama.cpp's quantizer would give it (the requested type, its fallback
for rows that are not whole blocks, f32 for 1-D tensors), general.file_type is llama.cpp's, every
tensor dequantizes (gguf.quants.dequantize) to finite values and — with llama.cpp's libggml-base
(scripts/build-llamacpp.sh) — holds exactly the bytes ggml_quantize_chunk writes for the same f32
tensor taken from an f32 export of the model.

Pinned: gguf==0.17.1, numpy; llama.cpp from llama-cpp-python==0.3.36 (scripts/build-llamacpp.sh).
usage: $REF/venv/bin/python scripts/goldens/check_gguf_quant_export.py --model M [--kvpress build/bin/kvpress]
       [--types q4_0,q4_k,...] [--ggml $REF/bin/libggml-base.so]      (exit 1 on any mismatch)
"""
import argparse
import ctypes
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

ROOT = pathlib.Path(__file__).resolve().parents[2]
REF = pathlib.Path(os.environ.get("KVPRESS_REF_DIR", pathlib.Path.home() / ".cache/kvpress-ref"))
TYPES = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]
# llama.cpp's tensor_type_fallback (llama-quant.cpp) and llama_ftype, as model/gguf_dtype.h states.
FALLBACK = {"q2_k": "q4_0", "q3_k": "q4_0", "q4_k": "q5_0", "q5_k": "q5_1", "q6_k": "q8_0", "iq4_xs": "iq4_nl"}
FILE_TYPE = {"q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q2_k": 10, "q3_k": 12, "q4_k": 15,
             "q5_k": 17, "q6_k": 18, "iq4_nl": 25, "iq4_xs": 30}


def qtype(name: str) -> T:
    return getattr(T, name.upper())


def expected_type(wanted: str, shape) -> str:
    if len(shape) == 1:
        return "f32"
    cols = int(shape[0])  # gguf-py shapes are ne order: ne[0] is the row length
    for t in (wanted, FALLBACK.get(wanted, wanted)):
        if cols % GGML_QUANT_SIZES[qtype(t)][0] == 0:
            return t
    return "f16"


def field(reader: GGUFReader, key: str):
    f = reader.fields[key]
    return f.parts[f.data[0]][0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--kvpress", default=str(ROOT / "build/bin/kvpress"))
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--ggml", default=str(REF / "bin/libggml-base.so"))
    a = ap.parse_args()
    ggml = None
    if pathlib.Path(a.ggml).exists():
        ggml = ctypes.CDLL(a.ggml)
        ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
        ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                             ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    else:
        print(f"note: {a.ggml} not found: byte comparison with llama.cpp skipped")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        def convert(dtype: str) -> GGUFReader:
            out = f"{tmp}/{dtype}.gguf"
            subprocess.run([a.kvpress, "convert", "--model", a.model, "--to", "gguf", "--dtype", dtype, "--out", out],
                           check=True, stderr=subprocess.DEVNULL)
            return GGUFReader(out)
        f32 = {t.name: np.array(t.data, dtype=np.float32) for t in convert("f32").tensors}
        for wanted in a.types.split(","):
            r = convert(wanted)
            bad = []
            if int(field(r, "general.file_type")) != FILE_TYPE[wanted]:
                bad.append(f"general.file_type {int(field(r, 'general.file_type'))}")
            counts = {}
            for t in r.tensors:
                got = t.tensor_type.name.lower()
                counts[got] = counts.get(got, 0) + 1
                want = expected_type(wanted, t.shape)
                if got != want:
                    bad.append(f"{t.name}: type {got}, expected {want}")
                    continue
                if not np.all(np.isfinite(dequantize(t.data, t.tensor_type))):
                    bad.append(f"{t.name}: non-finite values")
                if got == "f16":  # the fallback of last resort: numpy's round-to-nearest-even f16
                    if not np.array_equal(f32[t.name].astype(np.float16).reshape(-1), np.asarray(t.data).reshape(-1)):
                        bad.append(f"{t.name}: f16 values differ from numpy's rounding")
                elif ggml is not None and got != "f32":
                    src = np.ascontiguousarray(f32[t.name].reshape(-1, int(t.shape[0])))
                    buf = np.zeros(src.size * 4, dtype=np.uint8)
                    n = ggml.ggml_quantize_chunk(int(t.tensor_type), src.ctypes.data, buf.ctypes.data, 0,
                                                 src.shape[0], src.shape[1], None)
                    if not np.array_equal(buf[:n], np.asarray(t.data).reshape(-1).view(np.uint8)):
                        bad.append(f"{t.name}: bytes differ from ggml_quantize_chunk ({got})")
            verdict = "ok" if not bad else f"{len(bad)} problem(s): " + "; ".join(bad[:5])
            checked = "bytes == llama.cpp" if ggml is not None else "read + dequantized"
            print(f"{wanted:7s} {len(r.tensors)} tensors {counts} {checked}: {verdict}")
            failures += bool(bad)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
