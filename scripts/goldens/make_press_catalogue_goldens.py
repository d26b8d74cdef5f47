#!/usr/bin/env python3
"""Goldens of the upstream kvpress wrappers on a real model (tests/fixtures/press_catalogue_goldens/).

Run from the repository root with the kvpress venv (requirements-kvpress.txt):

    ./build/bin/kvpress convert -m ../shared/data/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \\
        -o /work/cache/smollm2-hf-f32 --to hf --dtype f32
    /work/cache/kvpress-venv/bin/python scripts/goldens/make_press_catalogue_goldens.py /work/cache/smollm2-hf-f32

The dms cases (issue 15) are kept in their own file, which the test appends to the list:

    GOLDEN_OUT=tests/fixtures/press_catalogue_goldens/smollm2_135m_dms.json \
        /work/cache/kvpress-venv/bin/python scripts/goldens/make_press_catalogue_goldens.py /work/cache/smollm2-hf-f32 dms

(a full run without the filter writes them into smollm2_135m.json too; keep one copy). Issue 14's
criticalkv/criticaladakv, key_rerotation and finch cases likewise (smollm2_135m_critical.json with the
filter `critical`, smollm2_135m_rerotation.json with `key_rerotation`, smollm2_135m_finch.json with
`finch`).

FinchPress (query-aware): the question is prefilled with the context. Upstream's input is
context + <delimiter> + question text, the delimiter removed again by its embedding hook; the
question text is tokenized on its own (the special token splits it off) and the template's suffix
follows as the "question" (upstream's evaluation with compress_questions). Here the delimiter id is
set directly to an id absent from the input instead of adding a token and resizing the embeddings
(update_model_and_tokenizer): its embedding is dropped before the first layer either way, and the
LM head keeps its vocabulary. Each finch case stores query_ids (the question text, the window) and
suffix_ids; kept masks are over the context + query positions.

Model: SmolLM2-135M-Instruct, its Q4_1 GGUF dequantized to f32 by our converter (the test converts the
same file the same way), float32, CPU, one thread, sdpa attention. Text: the first LSAT-LR passages
of ../shared/data/datasets/lsat-lr joined until the context has >= 550 tokens (BOS + text), then
one question. The context and question ids are stored (the test needs no tokenizer).

Each case runs upstream's pipeline logic (kvpress/pipeline.py _forward + generate_answer, re-done
here so that ids, not text, come out): prefill presses compress the context forward only; decoding
presses (DecodingPress, PrefillDecodingPress) are active from the question on; then greedy decoding of
MAX_NEW tokens (stopping at EOS). Recorded per case:
  * kept[layer][kv_head]: hex bitmask over context positions (bit p of the little-endian byte
    string = position p kept) after the context prefill (prefill presses only). AdaKV keeps full
    tensors and masks keys (module.masked_key_indices); kept = not masked.
  * band[layer][kv_head]: positions whose deciding score lies within TIE_REL * scale of the cut
    (either choice correct), from the captured upstream scores; empty for most heads.
    Composed: each stage's band at its own cut, as positions, and tie_heads = [layer, kv_head] where
    a stage before the last cut inside a band (the later stages then follow from either choice).
  * channels[layer][kv_head] (ThinK): the key channels that are zero over every context key.
  * cache_lengths: per-layer cache length after generation (what step counting changes);
  * ids: the greedy ids.
Layers of different lengths (pyramidkv, per_layer) get the question one token per forward (see
run_case); everything else exactly as upstream's pipeline.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from kvpress import (AdaKVPress, BlockPress, KeyRerotationPress, CriticalAdaKVPress, CriticalKVPress, ExpectedAttentionPress, ChunkKVPress, ChunkPress, ComposedPress, CompressionRatioDecodingPress, DecodingPress,
                     DMSPress, EntropyGatedChunkKVPress, FinchPress,
                     KeyDiffPress, KnormPress,
                     PerLayerCompressionPress, PrefillDecodingPress, PyramidKVPress, SnapKVPress,
                     SimLayerKVPress, StreamingLLMPress, ThinKPress)

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(os.environ.get("GOLDEN_OUT", ROOT / "tests/fixtures/press_catalogue_goldens/smollm2_135m.json"))
DATA = ROOT.parent / "shared/data/datasets/lsat-lr/lsat-lr.jsonl"
PINNED = {"kvpress": "0.5.5", "transformers": "5.2.0", "torch": "2.15.0"}
RATIOS = [0.25, 0.5, 0.75]
MAX_NEW = 32
MIN_CONTEXT = 550
TIE_REL = 1e-5
CHUNK = 128
BLOCK = 128


def per_layer_ratios(r, n_layers):
    # A fixed non-uniform pattern around r: even layers r, odd layers r/2.
    return [r if l % 2 == 0 else r / 2 for l in range(n_layers)]


def fmt(x):
    return f"{x:g}"


def cases(n_layers):
    """(spec, builder(ratio) -> (press, scorer presses to capture, group), kind, ratios)."""
    out = []
    for r in RATIOS:
        def adakv(r=r, inner="snapkv"):
            base = SnapKVPress(compression_ratio=r) if inner == "snapkv" else KnormPress(compression_ratio=r)
            return AdaKVPress(base), [base], "layer"
        out.append(("adakv(snapkv)", r, "prefill", adakv))
        out.append(("adakv(knorm)", r, "prefill", lambda r=r: adakv(r, "knorm")))
        def pyramid(r=r):
            p = PyramidKVPress(compression_ratio=r)
            return p, [p], "head"
        out.append(("pyramidkv", r, "prefill", pyramid))
        def per_layer(r=r):
            k = KnormPress()
            return PerLayerCompressionPress(k, per_layer_ratios(r, n_layers)), [k], "head"
        spec = "per_layer(knorm):ratios=" + "/".join(fmt(x) for x in per_layer_ratios(r, n_layers))
        out.append((spec, r, "prefill", per_layer))
        # Upstream gathers kept slots in score order (topk indices are not sorted), so a second press
        # that reads slot order (streaming_llm's "first n_sink / most recent") sees knorm's ranking,
        # not positions; ours keeps position order. Cases whose second press is order-independent:
        def composed(r=r):
            s, k = StreamingLLMPress(compression_ratio=r), KnormPress(compression_ratio=r)
            return ComposedPress([s, k]), [s, k], "composed"
        out.append(("composed(streaming_llm,knorm)", r, "prefill", composed))
        def composed2(r=r):
            k, d = KnormPress(compression_ratio=r), KeyDiffPress(compression_ratio=r)
            return ComposedPress([k, d]), [k, d], "composed"
        out.append(("composed(knorm,keydiff)", r, "prefill", composed2))
        def prefill_decoding(r=r):
            s = SnapKVPress(compression_ratio=r)
            d = DecodingPress(base_press=KnormPress(), compression_interval=8, target_size=256)
            return PrefillDecodingPress(prefilling_press=s, decoding_press=d), [s], "head"
        out.append(("prefill_decoding(snapkv,decoding(knorm):target=256,interval=8)", r, "prefill_decoding",
                    prefill_decoding))
        def crd(r=r):
            return CompressionRatioDecodingPress(base_press=KnormPress(), target_compression_ratio=r,
                                                 compression_interval=8), [], "none"
        out.append((f"compression_ratio_decoding(knorm):target_ratio={fmt(r)},interval=8", r, "decoding", crd))
    for r in RATIOS:
        def chunk(r=r):
            k = KnormPress(compression_ratio=r)
            return ChunkPress(k, chunk_length=CHUNK), [k], "chunk"
        out.append((f"chunk(knorm):length={CHUNK}", r, "prefill", chunk))
        def chunkkv(r=r):
            return ChunkKVPress(KnormPress(compression_ratio=r), chunk_length=20), [], "none"
        out.append(("chunkkv(knorm):length=20", r, "prefill", chunkkv))
    for r in RATIOS:
        def block(r=r):  # KeyDiff's setting: the anchor is re-computed on every block's sub-cache
            return BlockPress(KeyDiffPress(compression_ratio=r), block_size=BLOCK), [], "none"
        out.append((f"block(keydiff):block_size={BLOCK}", r, "prefill", block))
    for r in RATIOS:
        def egc(r=r):
            return EntropyGatedChunkKVPress(KnormPress(compression_ratio=r)), [], "none"
        out.append(("entropy_gated_chunkkv(knorm)", r, "prefill", egc))
    for r in RATIOS:
        def think(r=r):  # the ratio is the fraction of key channels pruned
            return ThinKPress(key_channel_compression_ratio=r, window_size=32), [], "think"
        out.append((f"think:key_channel_ratio={fmt(r)}", r, "prefill", think))
    # CriticalKV / CriticalAdaKV (issue 14): the W_o-projected value norms. criticalkv is a scorer, so
    # its final scores are captured for the tie bands; criticaladakv masks keys like AdaKV.
    for r in RATIOS:
        def critical(r=r, inner="snapkv"):
            base = SnapKVPress(compression_ratio=r) if inner == "snapkv" else KnormPress(compression_ratio=r)
            p = CriticalKVPress(base)
            return p, [base, p], "critical"
        out.append(("criticalkv(snapkv)", r, "prefill", critical))
        out.append(("criticalkv(knorm)", r, "prefill", lambda r=r: critical(r, "knorm")))
        def critical_ada(r=r):
            base = ExpectedAttentionPress(compression_ratio=r, use_vnorm=False)
            return CriticalAdaKVPress(base), [], "none"
        out.append(("criticaladakv(expected_attention:use_vnorm=0)", r, "prefill", critical_ada))
        def critical_ada_snap(r=r):
            return CriticalAdaKVPress(SnapKVPress(compression_ratio=r)), [], "none"
        out.append(("criticaladakv(snapkv)", r, "prefill", critical_ada_snap))
    # KeyRerotation (issue 14): kept slots re-numbered 0..k-1 with re-rotated keys; the question then
    # starts at the cache length (upstream pipeline). Kept sets come from the indices it gathers.
    for r in RATIOS:
        def rerot(r=r, inner="knorm"):
            base = SnapKVPress(compression_ratio=r) if inner == "snapkv" else KnormPress(compression_ratio=r)
            return KeyRerotationPress(base), [base], "rerotation"
        out.append(("key_rerotation(knorm)", r, "prefill", rerot))
        out.append(("key_rerotation(snapkv)", r, "prefill", lambda r=r: rerot(r, "snapkv")))
    # FinchPress (issue 14): query-aware; run by run_finch (the question is prefilled with the context).
    for r in RATIOS:
        out.append(("finch", r, "finch", lambda r=r: FinchPress(compression_ratio=r)))
        out.append(("finch:chunk_length=256", r, "finch", lambda r=r: FinchPress(compression_ratio=r, chunk_length=256)))
    out.append(("finch:rerotate_keys=0,normalize_scores=0", 0.5, "finch",
                lambda: FinchPress(compression_ratio=0.5, rerotate_keys=False, normalize_scores=False)))
    for t in (0.5, 0.7, 0.9):
        def simlayer(t=t):
            return SimLayerKVPress(lazy_threshold=t, n_recent=256), [], "none"
        out.append((f"simlayerkv:threshold={fmt(t)},n_recent=256", 0.0, "prefill", simlayer))
    for target in (256, 384):
        def dec(target=target):
            return DecodingPress(base_press=KnormPress(), compression_interval=8, target_size=target), [], "none"
        out.append((f"decoding(knorm):target={target},interval=8", 0.0, "decoding", dec))
    # DMSPress (issue 15): a threshold instead of a ratio; knorm thresholds at the 75th/50th/25th
    # percentile of SmolLM2's key norms on this context (19.2 / 17.5 / 15.7), so about 25/50/75% of
    # the tokens outside the window score below them. Masked keys = evicted (kept = not masked).
    for t in (-19.2, -17.5, -15.7):
        def dms(t=t):
            return DMSPress(KnormPress(), threshold=t, sliding_window_size=128), [], "none"
        out.append((f"dms(knorm):threshold={fmt(t)},window=128", 0.0, "prefill", dms))
        if t == -17.5:  # decoding=1 once (upstream's masked decoding is slow on CPU)
            def dms_decoding(t=t):
                return DMSPress(KnormPress(), threshold=t, sliding_window_size=64, decoding=True), [], "none"
            out.append((f"dms(knorm):threshold={fmt(t)},window=64,decoding=1", 0.0, "prefill_decoding", dms_decoding))
    return out


def build_text(tok):
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    text, i = "", 0
    while len(tok(text, add_special_tokens=False)["input_ids"]) + 1 < MIN_CONTEXT:
        text += rows[i]["passage"] + "\n\n"
        i += 1
    # Upstream pipeline preprocess (kvpress/pipeline.py): the chat template around context + SEP, split
    # at SEP; the question gets the template's suffix.
    sep = "#" * (len(text) + 10)
    rendered = tok.apply_chat_template([{"role": "user", "content": text + sep}], add_generation_prompt=True,
                                       tokenize=False)
    prefix, suffix = rendered.split(sep)
    question = "\n\nQuestion: Summarize the first passage in one sentence." + suffix
    ctx = tok(prefix, add_special_tokens=False)["input_ids"]
    q = tok(question, add_special_tokens=False)["input_ids"]
    return ctx, q, i


def finch_ids(tok):
    """FinchPress's split of the question: its text alone (the window), then the template's suffix."""
    sep = "#" * 20
    rendered = tok.apply_chat_template([{"role": "user", "content": "x" + sep}], add_generation_prompt=True,
                                       tokenize=False)
    suffix = rendered.split(sep)[1]
    query = tok("\n\nQuestion: Summarize the first passage in one sentence.", add_special_tokens=False)["input_ids"]
    return query, tok(suffix, add_special_tokens=False)["input_ids"]


@torch.no_grad()
def run_finch(model, ctx, query, suffix, press):
    """Upstream FinchPress as its evaluation runs it (compress_questions): context + delimiter + query
    prefilled with the press, then the suffix and greedy decoding at the compacted cache length."""
    n_layers = model.config.num_hidden_layers
    n = len(ctx) + len(query)
    captured = {}
    orig = press.score

    def score(module, hidden_states, keys, values, attentions, kwargs):
        s = orig(module, hidden_states, keys, values, attentions, kwargs)
        captured[module.layer_idx] = s.detach().clone()[0]
        return s
    press.score = score
    gathered = {}
    rerotate = KeyRerotationPress.rerotate_keys

    def record(module, indices, keys):
        gathered[module.layer_idx] = indices[0].clone()
        return rerotate(module, indices, keys)
    KeyRerotationPress.rerotate_keys = staticmethod(record)
    present = set(ctx) | set(query)
    press.delimiter_token_id = next(t for t in range(model.config.vocab_size - 1, -1, -1) if t not in present)
    cache = DynamicCache()
    try:
        with press(model):
            model.model(input_ids=torch.tensor([ctx + [press.delimiter_token_id] + query]), past_key_values=cache)
    finally:
        KeyRerotationPress.rerotate_keys = staticmethod(rerotate)
    assert press.window_size == len(query), (press.window_size, len(query))
    full_keys = None
    if not press.rerotate_keys:
        full = DynamicCache()
        model.model(input_ids=torch.tensor([ctx + query]), past_key_values=full)
        full_keys = [full.layers[l].keys[0] for l in range(n_layers)]
    kept, bands = [], []
    r = press.compression_ratio
    for l in range(n_layers):
        keys = cache.layers[l].keys[0]
        rows, brow = [], []
        for h in range(keys.shape[0]):
            pos = gathered[l][h].tolist() if press.rerotate_keys else positions_of(full_keys[l][h], keys[h])
            rows.append(hexmask(pos, n))
            sc = captured[l][h]
            if press.chunk_length is None:
                brow.append(band_of(sc, len(pos)))
            else:
                b = []
                for start in range(0, n, press.chunk_length):
                    seg = sc[start:start + press.chunk_length]
                    b += [start + j for j in band_of(seg, max(1, int(seg.numel() * (1 - r))))]
                brow.append(b)
        kept.append(rows)
        bands.append(brow)
    start = cache.get_seq_length() if press.rerotate_keys else n
    pos = torch.arange(start, start + len(suffix)).unsqueeze(0)
    out = model(input_ids=torch.tensor([suffix]), past_key_values=cache, position_ids=pos, logits_to_keep=1)
    pos = pos[:, -1:] + 1
    ids = [int(out.logits[0, -1].argmax())]
    eos = model.generation_config.eos_token_id
    eos = eos if isinstance(eos, list) else [eos]
    for i in range(MAX_NEW - 1):
        if ids[-1] in eos:
            break
        out = model(input_ids=torch.tensor([[ids[-1]]]), past_key_values=cache, position_ids=pos + i)
        ids.append(int(out.logits[0, -1].argmax()))
    lengths = [int(cache.layers[l].keys.shape[2]) for l in range(n_layers)]
    return {"kept": kept, "band": bands, "cache_lengths": lengths, "ids": ids, "query_ids": query,
            "suffix_ids": suffix}


def positions_of(full, kept):
    """Index in full [n, d] of each row of kept [k, d] (bit-exact)."""
    eq = (kept[:, None, :] == full[None, :, :]).all(-1)
    hits = eq.sum(1)
    if not bool((hits == 1).all()):
        raise RuntimeError(f"kept keys match {hits.tolist()} cached keys")
    return eq.float().argmax(1).tolist()


def hexmask(positions, n):
    b = bytearray((n + 7) // 8)
    for p in positions:
        b[p // 8] |= 1 << (p % 8)
    return b.hex()


def band_of(scores, n_kept):
    """Positions (indices into scores) within TIE_REL*scale of the cut at n_kept (descending)."""
    s = scores.double()
    fin = s[torch.isfinite(s) & (s < torch.finfo(torch.float32).max / 2)]
    below = fin[fin < fin.max()] if fin.numel() else fin
    scale = float(below.abs().max()) if below.numel() else 1.0
    scale = scale or 1.0
    if n_kept <= 0 or n_kept >= s.numel():
        return []
    srt = torch.sort(s, descending=True).values
    s_in, s_out = float(srt[n_kept - 1]), float(srt[n_kept])
    if (s_in - s_out) / scale > TIE_REL:
        return []
    tol = TIE_REL * scale
    return [j for j in range(s.numel()) if s_out - tol <= float(s[j]) <= s_in + tol]


@torch.no_grad()
def run_case(model, ctx, q, press, scorers, group, kind, full_keys):
    n_layers = model.config.num_hidden_layers
    captured = {}
    stages = {}  # composed: layer -> [(scores [H, k], positions [H][k], ratio)] per stage
    for sp in scorers:
        orig = sp.score

        def score(module, hidden_states, keys, values, attentions, kwargs, orig=orig, sp=sp):
            s = orig(module, hidden_states, keys, values, attentions, kwargs)
            captured.setdefault(module.layer_idx, []).append(s.detach().clone()[0])  # ChunkPress: one per chunk
            if group == "composed":  # every stage: its scores, the positions its slots hold, its ratio
                pos = [positions_of(full_keys[module.layer_idx][h], keys[0, h]) for h in range(keys.shape[1])]
                stages.setdefault(module.layer_idx, []).append((s.detach().clone()[0], pos, sp.compression_ratio))
            return s
        sp.score = score
    for layer in model.model.layers:
        if hasattr(layer.self_attn, "masked_key_indices"):
            layer.self_attn.masked_key_indices = None
    gathered = {}  # key_rerotation: layer -> kept indices [H, k] (its keys no longer match the originals)
    rerotate = KeyRerotationPress.rerotate_keys
    if group == "rerotation":
        def record(module, indices, keys):
            gathered[module.layer_idx] = indices[0].clone()
            return rerotate(module, indices, keys)
        KeyRerotationPress.rerotate_keys = staticmethod(record)
    cache = DynamicCache()
    ctx_ids = torch.tensor([ctx])
    prefill_press = kind in ("prefill", "prefill_decoding")
    with press(model) if prefill_press else _null():
        model.model(input_ids=ctx_ids, past_key_values=cache)
    KeyRerotationPress.rerotate_keys = staticmethod(rerotate)
    n = len(ctx)
    kept, bands, tie_heads = None, None, []
    channels = None
    if group == "think":  # keys keep their slots; the pruned channels are all zero over the context
        channels = [[[int(c) for c in torch.nonzero((cache.layers[l].keys[0, h] == 0).all(0)).flatten()]
                     for h in range(cache.layers[l].keys.shape[1])] for l in range(n_layers)]
    if prefill_press and group != "think":
        kept, bands = [], []
        for l in range(n_layers):
            keys = cache.layers[l].keys[0]  # [H, k, d]
            attn = model.model.layers[l].self_attn
            masked = getattr(attn, "masked_key_indices", None)
            rows, brow = [], []
            layer_sets = []
            for h in range(keys.shape[0]):
                if group == "rerotation":
                    pos = gathered[l][h].tolist()
                else:
                    pos = positions_of(full_keys[l][h], keys[h])
                if masked is not None:
                    _, hi, si = masked
                    gone = set(si[hi == h].tolist())
                    pos = [p for p in pos if p not in gone]
                layer_sets.append(sorted(pos))
                rows.append(hexmask(pos, n))
            kept.append(rows)
            sc = torch.cat(captured[l], dim=-1) if l in captured else None
            if sc is None or group == "none":
                bands.append([[] for _ in rows])
            elif group == "critical":  # criticalkv: stage 1's cut on the inner scores, then the final cut
                base_s, final_s = captured[l][0], captured[l][1]
                r = scorers[0].compression_ratio
                n1 = max(1, int((1 - r) * n * 0.5))
                bands.append([sorted(set(band_of(base_s[h], n1)) | set(band_of(final_s[h], len(layer_sets[h]))))
                              for h in range(base_s.shape[0])])
            elif group == "layer":  # adakv: safeguard then global cut
                r = scorers[0].compression_ratio
                n_kept = max(1, int(n * (1 - r)))
                n_safe = max(1, int(n_kept * 0.2))
                s = sc.clone()
                top = torch.topk(s, n_safe, dim=-1).indices
                s.scatter_(-1, top, torch.finfo(s.dtype).max)
                flat = band_of(s.reshape(-1), n_kept * s.shape[0])
                bands.append([[j % n for j in flat if j // n == h] for h in range(s.shape[0])])
            elif group == "chunk":  # per head and chunk of CHUNK slots
                r = scorers[0].compression_ratio
                brow = []
                for h in range(sc.shape[0]):
                    b = []
                    for start in range(0, n, CHUNK):
                        seg = sc[h, start:start + CHUNK]
                        b += [start + j for j in band_of(seg, max(1, int(seg.numel() * (1 - r))))]
                    brow.append(b)
                bands.append(brow)
            elif group == "composed":
                # Each stage's band at its own cut, as positions. A tie at a stage that is not the last
                # changes the set every later stage sees (keydiff's anchor is the mean of the surviving
                # keys), so such heads are listed in tie_heads: either upstream choice is correct there
                # and the later stages follow from it.
                brow = []
                for h in range(len(rows)):
                    b = set()
                    for si, (s_st, p_st, r_st) in enumerate(stages[l]):
                        k = max(1, int(len(p_st[h]) * (1 - r_st)))
                        hb = band_of(s_st[h], k)
                        b |= {p_st[h][j] for j in hb}
                        if hb and si + 1 < len(stages[l]):
                            tie_heads.append([l, h])
                    brow.append(sorted(b))
                bands.append(brow)
            else:  # per head, cut at the head's kept count
                brow = []
                for h in range(sc.shape[0]):
                    brow.append(band_of(sc[h], len(layer_sets[h])))
                bands.append(brow)
    decode_press = kind in ("decoding", "prefill_decoding")
    ids = []
    with press(model) if decode_press else _null():
        # Upstream's pipeline: after KeyRerotation the question starts at the cache length.
        start = cache.get_seq_length() if group == "rerotation" else n
        pos = torch.arange(start, start + len(q)).unsqueeze(0)
        lengths = {int(cache.layers[l].keys.shape[2]) for l in range(n_layers)}
        if len(lengths) == 1:
            out = model(input_ids=torch.tensor([q]), past_key_values=cache, position_ids=pos, logits_to_keep=1)
        else:
            # Layers of different lengths (pyramidkv, per_layer): transformers builds one sdpa mask from
            # layer 0's length, which does not fit the others for a multi-token forward (upstream: "flash
            # attention only"). One token per forward needs no mask and is the same causal computation.
            for i, t in enumerate(q):
                out = model(input_ids=torch.tensor([[t]]), past_key_values=cache, position_ids=pos[:, i:i + 1])
        pos = pos[:, -1:] + 1
        ids.append(int(out.logits[0, -1].argmax()))
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        for i in range(MAX_NEW - 1):
            if ids[-1] in eos:
                break
            out = model(input_ids=torch.tensor([[ids[-1]]]), past_key_values=cache, position_ids=pos + i)
            ids.append(int(out.logits[0, -1].argmax()))
    lengths = [int(cache.layers[l].keys.shape[2]) for l in range(n_layers)]
    rec = {"kept": kept, "band": bands, "cache_lengths": lengths, "ids": ids}
    if group == "composed":
        rec["tie_heads"] = tie_heads
    if channels is not None:
        rec["channels"] = channels
    return rec


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2-hf-f32"
    only = sys.argv[2].split("|") if len(sys.argv) > 2 else None  # "composed|simlayerkv": rerun those
    versions = {k: importlib.metadata.version(k) for k in PINNED}
    if versions != PINNED:
        print(f"warning: versions {versions} differ from the pinned {PINNED}", flush=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    ctx, q, n_passages = build_text(tok)
    print(f"context {len(ctx)} tokens ({n_passages} passages), question {len(q)}", flush=True)
    with torch.no_grad():
        base = run_case(model, ctx, q, None, [], "none", "none", None)
        print("no press: ids", base["ids"], flush=True)
        result_base = base
        cache = DynamicCache()
        model.model(input_ids=torch.tensor([ctx]), past_key_values=cache)
        full_keys = [cache.layers[l].keys[0].clone() for l in range(model.config.num_hidden_layers)]
    result = {"note": __doc__.split("\n\n")[0], "versions": versions, "model": "SmolLM2-135M-Instruct Q4_1 -> f32",
              "context_ids": ctx, "question_ids": q, "max_new_tokens": MAX_NEW, "tie_rel": TIE_REL,
              "no_press_ids": result_base["ids"], "cases": []}
    if OUT.exists() and only:
        result["cases"] = [c for c in json.loads(OUT.read_text())["cases"]
                           if not any(o in c["spec"] for o in only)]
    for spec, r, kind, build in cases(model.config.num_hidden_layers):
        if only and not any(o in spec for o in only):
            continue
        t0 = time.time()
        if kind == "finch":
            query, suffix = finch_ids(tok)
            rec = run_finch(model, ctx, query, suffix, build())
            rec.update({"spec": spec, "compression_ratio": r, "kind": kind})
            result["cases"].append(rec)
            print(spec, r, f"{time.time() - t0:.1f}s", "lengths", rec["cache_lengths"][:3], "ids", rec["ids"][:8], flush=True)
            continue
        press, scorers, group = build()
        rec = run_case(model, ctx, q, press, scorers, group, kind, full_keys)
        rec.update({"spec": spec, "compression_ratio": r, "kind": kind})
        result["cases"].append(rec)
        print(spec, r, f"{time.time() - t0:.1f}s", "lengths", rec["cache_lengths"][:3], "ids", rec["ids"][:8], flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
