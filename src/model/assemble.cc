// Turns a TensorSet (canonical HF names) into ModelWeights, validating every shape and dtype.
#include <fmt/format.h>

#include <cstring>

#include "model/model.h"

namespace kvpress {
namespace {

class Assembler {
 public:
  Assembler(const TensorSet& t, const std::string& origin, ModelWeights& w)
      : tensors_(t), origin_(origin), weights_(w) {}

  Status Matrix(const std::string& name, int64_t rows, int64_t cols, MatrixView& out) {
    const TensorInfo* t = nullptr;
    RETURN_IF_ERROR(Find(name, &t));
    if (t->shape != std::vector<int64_t>{rows, cols}) {
      return FailedPrecondition(fmt::format("{}: tensor '{}' has shape {}, expected [{}, {}]",
                                            origin_, name, ShapeString(t->shape), rows, cols));
    }
    if (cols % BlockElems(t->dtype) != 0) {
      return FailedPrecondition(fmt::format("{}: {} tensor '{}' has {} columns, not a multiple of its "
                                            "{}-value blocks",
                                            origin_, DTypeName(t->dtype), name, cols, BlockElems(t->dtype)));
    }
    out.dtype = t->dtype;
    out.rows = rows;
    out.cols = cols;
    out.row_bytes = RowBytes(t->dtype, static_cast<size_t>(cols));
    const size_t align = t->dtype == DType::kF32 ? 4 : 2;
    if (reinterpret_cast<uintptr_t>(t->data) % align != 0) {  // unpadded writer: copy once
      auto buf = std::make_shared<std::vector<uint8_t>>(t->data, t->data + t->nbytes);
      weights_.owned.push_back(buf);
      out.data = buf->data();
    } else {
      out.data = t->data;
    }
    return Status::Ok();
  }

  Status Vector(const std::string& name, int64_t len, std::vector<float>& out) {
    const TensorInfo* t = nullptr;
    RETURN_IF_ERROR(Find(name, &t));
    if (t->shape != std::vector<int64_t>{len}) {
      return FailedPrecondition(fmt::format("{}: tensor '{}' has shape {}, expected [{}]", origin_,
                                            name, ShapeString(t->shape), len));
    }
    out.resize(static_cast<size_t>(len));
    if (t->dtype == DType::kF32) {
      std::memcpy(out.data(), t->data, out.size() * 4);  // memcpy: alignment-safe
    } else if (IsQuantized(t->dtype)) {
      if (len % BlockElems(t->dtype) != 0) {
        return FailedPrecondition(fmt::format("{}: {} vector '{}' of {} values is not whole blocks",
                                              origin_, DTypeName(t->dtype), name, len));
      }
      DequantizeRow(t->dtype, t->data, out.data(), out.size());
    } else {
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t bits;
        std::memcpy(&bits, t->data + 2 * i, 2);
        out[i] = t->dtype == DType::kBF16 ? BF16ToF32(bits) : F16ToF32(bits);
      }
    }
    return Status::Ok();
  }

  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }

 private:
  Status Find(const std::string& name, const TensorInfo** t) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) return NotFound(fmt::format("{}: missing tensor '{}'", origin_, name));
    *t = &it->second;
    return Status::Ok();
  }

  const TensorSet& tensors_;
  const std::string& origin_;
  ModelWeights& weights_;
};

}  // namespace

Status ValidateConfig(const ModelConfig& c, const std::string& origin) {
  if (c.hidden_size <= 0 || c.intermediate_size <= 0 || c.n_layers <= 0 || c.n_heads <= 0 ||
      c.n_kv_heads <= 0 || c.head_dim <= 0 || c.vocab_size <= 0) {
    return FailedPrecondition(fmt::format(
        "{}: invalid dimensions (hidden {}, intermediate {}, layers {}, heads {}, kv heads {}, "
        "head_dim {}, vocab {})",
        origin, c.hidden_size, c.intermediate_size, c.n_layers, c.n_heads, c.n_kv_heads,
        c.head_dim, c.vocab_size));
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    return FailedPrecondition(fmt::format("{}: {} attention heads are not a multiple of {} KV heads",
                                          origin, c.n_heads, c.n_kv_heads));
  }
  if (c.head_dim % 2 != 0) {
    return FailedPrecondition(fmt::format("{}: head_dim {} is odd (RoPE needs pairs)", origin, c.head_dim));
  }
  if (c.hidden_size > (1 << 20) || c.intermediate_size > (1 << 22) || c.n_layers > 4096 ||
      c.n_heads > 1024 || c.head_dim > 4096 || c.vocab_size > (1 << 24)) {
    return FailedPrecondition(origin + ": dimensions are implausibly large");
  }
  if (!(c.rms_norm_eps > 0.0f) || !(c.rope_theta > 0.0f)) {
    return FailedPrecondition(origin + ": rms_norm_eps and rope_theta must be positive");
  }
  return Status::Ok();
}

Status AssembleWeights(const ModelConfig& c, const TensorSet& tensors, const std::string& origin,
                       ModelWeights& w) {
  RETURN_IF_ERROR(ValidateConfig(c, origin));
  Assembler a(tensors, origin, w);
  const int64_t d = c.hidden_size, f = c.intermediate_size, hd = c.head_dim;
  const int64_t q_dim = c.n_heads * hd, kv_dim = c.n_kv_heads * hd;
  RETURN_IF_ERROR(a.Matrix("model.embed_tokens.weight", c.vocab_size, d, w.embed));
  RETURN_IF_ERROR(a.Vector("model.norm.weight", d, w.final_norm));
  if (c.tied_embeddings || !a.Has("lm_head.weight")) {
    w.lm_head = w.embed;
  } else {
    RETURN_IF_ERROR(a.Matrix("lm_head.weight", c.vocab_size, d, w.lm_head));
  }
  w.layers.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& L = w.layers[static_cast<size_t>(l)];
    const std::string p = fmt::format("model.layers.{}.", l);
    RETURN_IF_ERROR(a.Vector(p + "input_layernorm.weight", d, L.attn_norm));
    RETURN_IF_ERROR(a.Matrix(p + "self_attn.q_proj.weight", q_dim, d, L.wq));
    RETURN_IF_ERROR(a.Matrix(p + "self_attn.k_proj.weight", kv_dim, d, L.wk));
    RETURN_IF_ERROR(a.Matrix(p + "self_attn.v_proj.weight", kv_dim, d, L.wv));
    RETURN_IF_ERROR(a.Matrix(p + "self_attn.o_proj.weight", d, q_dim, L.wo));
    if (c.qkv_bias) {
      RETURN_IF_ERROR(a.Vector(p + "self_attn.q_proj.bias", q_dim, L.bq));
      RETURN_IF_ERROR(a.Vector(p + "self_attn.k_proj.bias", kv_dim, L.bk));
      RETURN_IF_ERROR(a.Vector(p + "self_attn.v_proj.bias", kv_dim, L.bv));
    }
    if (c.qk_norm) {
      RETURN_IF_ERROR(a.Vector(p + "self_attn.q_norm.weight", hd, L.q_norm));
      RETURN_IF_ERROR(a.Vector(p + "self_attn.k_norm.weight", hd, L.k_norm));
    }
    RETURN_IF_ERROR(a.Vector(p + "post_attention_layernorm.weight", d, L.ffn_norm));
    RETURN_IF_ERROR(a.Matrix(p + "mlp.gate_proj.weight", f, d, L.w_gate));
    RETURN_IF_ERROR(a.Matrix(p + "mlp.up_proj.weight", f, d, L.w_up));
    RETURN_IF_ERROR(a.Matrix(p + "mlp.down_proj.weight", d, f, L.w_down));
  }
  return Status::Ok();
}

}  // namespace kvpress
