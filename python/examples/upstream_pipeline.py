"""A study script written for upstream kvpress, run on kvpress.cpp.

Only the two marked lines differ from the upstream version (docs/PYTHON.md shows both side by
side): the import, and the model to load. Everything else, including upstream's pipeline call
with its device/dtype arguments, is left as upstream's documentation writes it.

    python3 python/examples/upstream_pipeline.py [MODEL]   # default: the bundled tiny-reasoner
"""

import json
import sys

# upstream: from transformers import pipeline
#           from kvpress import KnormPress, SnapKVPress, StreamingLLMPress, TOVAPress
from kvpress_cpp import KnormPress, SnapKVPress, StreamingLLMPress, TOVAPress, pipeline  # changed: the import

# upstream: model = "Qwen/Qwen3-8B"
model = sys.argv[1] if len(sys.argv) > 1 else "tiny-reasoner"  # changed: the model to load
device = "cuda:0"
pipe = pipeline("kv-press-text-generation", model=model, device=device, torch_dtype="auto")

context = "k=4, c=2, q=3, a=0, g=1. "
question = "Find a+c."
presses = {
    "no_press": None,
    "knorm": KnormPress(compression_ratio=0.5),
    "snapkv": SnapKVPress(compression_ratio=0.4, window_size=4),
    "streaming_llm": StreamingLLMPress(compression_ratio=0.5, n_sink=2),
    "tova": TOVAPress(compression_ratio=0.3),
}
for name, press in presses.items():
    answer = pipe(context, question=question, press=press)["answer"]
    print(json.dumps({"press": name, "question": question, "answer": answer}))

questions = ["Find a+c.", "Find k+q.", "Find g."]
answers = pipe(context, questions=questions, press=KnormPress(compression_ratio=0.3))["answers"]
for q, a in zip(questions, answers):
    print(json.dumps({"press": "knorm_multi", "question": q, "answer": a}))
