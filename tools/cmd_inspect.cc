// kvpress inspect: a model's configuration, tensors, dtypes and KV bytes per token.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

struct InspectFlags {
  std::string model;
  bool json = false;
};

void AddMatrix(nlohmann::json& out, const std::string& name, const MatrixView& m) {
  if (m.data == nullptr) return;
  const double bits_per_weight = 8.0 * static_cast<double>(m.Bytes()) / static_cast<double>(m.rows * m.cols);
  out.push_back({{"name", name},
                 {"shape", {m.rows, m.cols}},
                 {"dtype", DTypeName(m.dtype)},
                 {"bytes", m.Bytes()},
                 {"bits_per_weight", bits_per_weight}});
}

// dtype -> {tensors, bytes} over the matrices, in first-seen order.
nlohmann::json QuantizationSummary(const nlohmann::json& tensors) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& t : tensors) {
    nlohmann::json& e = out[t["dtype"].get<std::string>()];
    if (e.is_null()) e = {{"tensors", 0}, {"bytes", size_t{0}}};
    e["tensors"] = e["tensors"].get<int>() + 1;
    e["bytes"] = e["bytes"].get<size_t>() + t["bytes"].get<size_t>();
  }
  return out;
}

int RunInspect(const InspectFlags& f) {
  auto loaded = LoadModel(f.model);
  if (!loaded.ok()) return ReportError("inspect", loaded.status());
  const Model& model = **loaded;
  const ModelConfig& c = model.config;
  nlohmann::json tensors = nlohmann::json::array();
  const ModelWeights& w = model.weights;
  AddMatrix(tensors, "embed_tokens", w.embed);
  if (!c.tied_embeddings) AddMatrix(tensors, "lm_head", w.lm_head);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = fmt::format("layers.{}.", l);
    AddMatrix(tensors, p + "q_proj", L.wq);
    AddMatrix(tensors, p + "k_proj", L.wk);
    AddMatrix(tensors, p + "v_proj", L.wv);
    AddMatrix(tensors, p + "o_proj", L.wo);
    AddMatrix(tensors, p + "gate_proj", L.w_gate);
    AddMatrix(tensors, p + "up_proj", L.w_up);
    AddMatrix(tensors, p + "down_proj", L.w_down);
  }
  size_t params = 0;
  for (const auto& t : tensors) params += t["shape"][0].get<size_t>() * t["shape"][1].get<size_t>();
  nlohmann::json j = {
      {"path", model.path},
      {"format", FormatName(c.format)},
      {"architecture", c.architecture},
      {"family", FamilyName(c.family)},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_layers", c.n_layers},
      {"num_heads", c.n_heads},
      {"num_kv_heads", c.n_kv_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position", c.max_position},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"rope_style", c.rope_style == RopeStyle::kRotateHalf ? "rotate_half" : "interleaved"},
      {"rope_scaling", c.llama3_scaling ? "llama3" : (c.rope_freq_divisors.empty() ? "none" : "rope_freqs")},
      {"qkv_bias", c.qkv_bias},
      {"qk_norm", c.qk_norm},
      {"tied_embeddings", c.tied_embeddings},
      {"sliding_window", c.sliding_window},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_ids", c.eos_token_ids},
      {"matrix_parameters", params},
      {"weight_bytes_per_token", w.MatrixBytes()},
      {"quantization", QuantizationSummary(tensors)},
      {"kv_bytes_per_token_f32", c.KvBytesPerToken(4)},
      {"kv_bytes_per_token_bf16", c.KvBytesPerToken(2)},
      {"tensors", tensors},
  };
  if (f.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s\n", fmt::format("model          {} ({} format, {})", model.path, FormatName(c.format), c.architecture).c_str());
  std::printf("%s\n", fmt::format("layers         {}   hidden {}   intermediate {}   vocab {}", c.n_layers, c.hidden_size,
                                  c.intermediate_size, c.vocab_size).c_str());
  std::printf("%s\n", fmt::format("attention      {} heads, {} KV heads, head_dim {}{}{}", c.n_heads, c.n_kv_heads, c.head_dim,
                                  c.qkv_bias ? ", qkv bias" : "", c.qk_norm ? ", q/k norm" : "").c_str());
  std::printf("%s\n", fmt::format("rope           theta {}, {}{}", c.rope_theta, j["rope_style"].get<std::string>(),
                                  c.llama3_scaling ? ", llama3 scaling" : "").c_str());
  std::printf("%s\n", fmt::format("parameters     {} in matrices ({:.1f} MB read per token)", params, w.MatrixBytes() / 1e6).c_str());
  std::printf("%s\n", fmt::format("kv cache       {} bytes/token in f32, {} in bf16", c.KvBytesPerToken(4), c.KvBytesPerToken(2)).c_str());
  for (const auto& [dtype, e] : j["quantization"].items()) {
    std::printf("%s\n", fmt::format("weights        {:<7} {:>4} tensors, {:.1f} MB", dtype, e["tensors"].get<int>(),
                                    e["bytes"].get<size_t>() / 1e6).c_str());
  }
  for (const auto& t : tensors) {
    std::printf("%s\n", fmt::format("  {:<22} [{}, {}] {:<7} {:>5.2f} bits/weight  {:>10} bytes", t["name"].get<std::string>(),
                                    t["shape"][0].get<int64_t>(), t["shape"][1].get<int64_t>(), t["dtype"].get<std::string>(),
                                    t["bits_per_weight"].get<double>(), t["bytes"].get<size_t>()).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterInspect(CLI::App& app, RunFn& run) {
  auto flags = std::make_shared<InspectFlags>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a model's configuration, tensors and KV bytes per token");
  cmd->add_option("--model,-m", flags->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_flag("--json", flags->json, "Print one JSON object");
  cmd->callback([flags, &run] { run = [flags] { return RunInspect(*flags); }; });
}

}  // namespace kvpress::cli
