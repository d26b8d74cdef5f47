"""A Llama-architecture decoder (RMSNorm, rotate-half RoPE, GQA, SwiGLU, tied embeddings) in
plain torch, with the parameter names of Hugging Face's LlamaForCausalLM so the exporter writes
the state dict as is. Also the character vocabulary shared by trainer and exporter."""

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

SPECIALS = ["<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
UNK, BOS, EOS, USER, ASSISTANT = range(5)
CHARS = ["\n"] + [chr(c) for c in range(32, 127)]
# One BPE merge per fact name: "k" + "=" -> "k=". A fact "k=9" is then two tokens, the value right
# after its name token, so recalling it is the classic one-step induction pattern (find the earlier
# "k=" token, copy what follows). With plain characters the value sits two tokens after the name and
# the 0.75 M model stayed at chance recall for 1250 steps (see MODEL_CARD.md).
NAMES = "abcdefghjkmnpqrs"
MERGED = [n + "=" for n in NAMES]
VOCAB = SPECIALS + CHARS + MERGED
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}


def encode_text(text: str):
    """Text -> ids as the exported tokenizer.json does: <|user|> / <|assistant|> as single tokens,
    "x=" for a fact name x, else one token per character."""
    ids, i = [], 0
    while i < len(text):
        for tag, tid in (("<|user|>", USER), ("<|assistant|>", ASSISTANT)):
            if text.startswith(tag, i):
                ids.append(tid)
                i += len(tag)
                break
        else:
            pair = text[i:i + 2]
            if pair in TOKEN_ID and len(pair) == 2:
                ids.append(TOKEN_ID[pair])
                i += 2
            else:
                ids.append(TOKEN_ID.get(text[i], UNK))
                i += 1
    return ids


def decode_ids(ids):
    return "".join(VOCAB[i] if i >= len(SPECIALS) else "" for i in ids)


@dataclass
class Config:
    vocab_size: int = len(VOCAB)
    hidden_size: int = 128
    intermediate_size: int = 352
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 512

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(cfg: Config, n: int, device):
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, device=device).float() / cfg.head_dim))
    ang = torch.outer(torch.arange(n, device=device).float(), inv)  # [n, hd/2]
    ang = torch.cat([ang, ang], dim=-1)  # [n, hd]
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):  # x: [b, h, n, hd]
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * hd, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=False)
        self.o_proj = nn.Linear(cfg.num_attention_heads * hd, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin):
        b, n, _ = x.shape
        c, hd = self.cfg, self.cfg.head_dim
        q = self.q_proj(x).view(b, n, c.num_attention_heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, c.num_key_value_heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, c.num_key_value_heads, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = c.num_attention_heads // c.num_key_value_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(b, n, -1))


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class TinyLlama(nn.Module):
    """LlamaForCausalLM-compatible names: model.embed_tokens, model.layers.N..., model.norm;
    lm_head is tied to the embedding."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.num_hidden_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids):  # ids: [b, n] -> logits [b, n, vocab]
        cos, sin = rope_tables(self.cfg, ids.shape[1], ids.device)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.model.norm(x) @ self.model.embed_tokens.weight.T
