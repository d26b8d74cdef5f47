// Hugging Face model directories: config.json + model.safetensors (or a sharded index).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/file_util.h"
#include "model/architecture.h"
#include "model/model.h"
#include "model/safetensors.h"

namespace kvpress {
namespace {

using nlohmann::json;

// Reads an integer field; `required` fields that are absent or non-integers are errors.
Status GetInt(const json& j, const char* key, int& out, const std::string& path, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) return FailedPrecondition(fmt::format("{}: missing field '{}'", path, key));
    return Status::Ok();
  }
  if (!j[key].is_number_integer()) {
    return FailedPrecondition(fmt::format("{}: field '{}' must be an integer", path, key));
  }
  const int64_t v = j[key].get<int64_t>();
  if (v < 0 || v > (1ll << 31) - 1) {
    return FailedPrecondition(fmt::format("{}: field '{}' = {} is out of range", path, key, v));
  }
  out = static_cast<int>(v);
  return Status::Ok();
}

Status GetFloat(const json& j, const char* key, float& out, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return Status::Ok();
  if (!j[key].is_number()) {
    return FailedPrecondition(fmt::format("{}: field '{}' must be a number", path, key));
  }
  out = j[key].get<float>();
  return Status::Ok();
}

void AddEosIds(const json& v, std::vector<int>& out) {
  auto add = [&](const json& e) {
    if (e.is_number_integer()) {
      const int id = e.get<int>();
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
  };
  if (v.is_array()) {
    for (const auto& e : v) add(e);
  } else {
    add(v);
  }
}

Status ParseRope(const json& j, ModelConfig& c, const std::string& path) {
  // Newer transformers put theta and scaling together in `rope_parameters`.
  const json* scaling = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    RETURN_IF_ERROR(GetFloat(j["rope_parameters"], "rope_theta", c.rope_theta, path));
    scaling = &j["rope_parameters"];
  }
  RETURN_IF_ERROR(GetFloat(j, "rope_theta", c.rope_theta, path));
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) scaling = &j["rope_scaling"];
  if (scaling == nullptr) return Status::Ok();
  std::string type = "default";
  if (scaling->contains("rope_type") && (*scaling)["rope_type"].is_string()) {
    type = (*scaling)["rope_type"].get<std::string>();
  } else if (scaling->contains("type") && (*scaling)["type"].is_string()) {
    type = (*scaling)["type"].get<std::string>();
  }
  if (type == "default") return Status::Ok();
  if (type != "llama3") {
    return Unimplemented(fmt::format("{}: rope scaling type '{}' is not supported (llama3 only)", path, type));
  }
  Llama3RopeScaling s;
  RETURN_IF_ERROR(GetFloat(*scaling, "factor", s.factor, path));
  RETURN_IF_ERROR(GetFloat(*scaling, "low_freq_factor", s.low_freq_factor, path));
  RETURN_IF_ERROR(GetFloat(*scaling, "high_freq_factor", s.high_freq_factor, path));
  RETURN_IF_ERROR(GetFloat(*scaling, "original_max_position_embeddings", s.original_max_position, path));
  if (!(s.factor > 0) || !(s.high_freq_factor > s.low_freq_factor) || !(s.original_max_position > 0)) {
    return FailedPrecondition(path + ": invalid llama3 rope_scaling parameters");
  }
  c.llama3_scaling = s;
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Model>> LoadHuggingFaceModel(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  if (!FileExists(config_path)) return NotFound(dir + ": no config.json in the model directory");
  ASSIGN_OR_RETURN(json j, ReadJsonFile(config_path));
  if (!j.is_object()) return DataLoss(config_path + ": expected a JSON object");

  auto model = std::make_unique<Model>();
  model->path = dir;
  ModelConfig& c = model->config;
  c.format = SourceFormat::kHuggingFace;
  c.rope_style = RopeStyle::kRotateHalf;
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    arch = j["architectures"][0].get<std::string>();
  }
  c.architecture = arch;
  const Architecture* a = FindHfArchitecture(arch);
  if (a == nullptr) {
    return Unimplemented(fmt::format("{}: unsupported architecture '{}' (supported: {})",
                                     config_path, arch.empty() ? "<none>" : arch,
                                     SupportedArchitectureNames(/*hf=*/true)));
  }
  c.family = a->family;
  c.qkv_bias = a->qkv_bias;
  c.qk_norm = a->qk_norm;
  RETURN_IF_ERROR(GetInt(j, "hidden_size", c.hidden_size, config_path, true));
  RETURN_IF_ERROR(GetInt(j, "intermediate_size", c.intermediate_size, config_path, true));
  RETURN_IF_ERROR(GetInt(j, "num_hidden_layers", c.n_layers, config_path, true));
  RETURN_IF_ERROR(GetInt(j, "num_attention_heads", c.n_heads, config_path, true));
  c.n_kv_heads = c.n_heads;
  RETURN_IF_ERROR(GetInt(j, "num_key_value_heads", c.n_kv_heads, config_path, false));
  RETURN_IF_ERROR(GetInt(j, "vocab_size", c.vocab_size, config_path, true));
  c.max_position = 2048;
  RETURN_IF_ERROR(GetInt(j, "max_position_embeddings", c.max_position, config_path, false));
  if (c.n_heads > 0) c.head_dim = c.hidden_size / c.n_heads;
  RETURN_IF_ERROR(GetInt(j, "head_dim", c.head_dim, config_path, false));
  RETURN_IF_ERROR(GetFloat(j, "rms_norm_eps", c.rms_norm_eps, config_path));
  RETURN_IF_ERROR(ParseRope(j, c, config_path));
  if (j.contains("attention_bias") && j["attention_bias"].is_boolean()) {
    c.qkv_bias = c.qkv_bias || j["attention_bias"].get<bool>();
  }
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean()) {
    c.tied_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (a->sliding_window == SlidingWindowKey::kRead) {
    RETURN_IF_ERROR(GetInt(j, "sliding_window", c.sliding_window, config_path, false));
  } else if (a->sliding_window == SlidingWindowKey::kRejectIfSet) {
    // Released Qwen models set use_sliding_window=false; honour it only when true.
    if (j.contains("use_sliding_window") && j["use_sliding_window"].is_boolean() &&
        j["use_sliding_window"].get<bool>()) {
      return Unimplemented(fmt::format("{}: use_sliding_window=true is not supported for {}",
                                       config_path, a->hf_class));
    }
  }
  RETURN_IF_ERROR(GetInt(j, "bos_token_id", c.bos_token_id, config_path, false));
  if (j.contains("eos_token_id")) AddEosIds(j["eos_token_id"], c.eos_token_ids);
  const std::string gen_path = dir + "/generation_config.json";
  if (FileExists(gen_path)) {
    ASSIGN_OR_RETURN(json g, ReadJsonFile(gen_path));
    if (g.is_object() && g.contains("eos_token_id")) AddEosIds(g["eos_token_id"], c.eos_token_ids);
  }

  // Weights: a single file or a sharded index.
  std::vector<std::string> files;
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (FileExists(index_path)) {
    ASSIGN_OR_RETURN(json idx, ReadJsonFile(index_path));
    if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object()) {
      return DataLoss(index_path + ": missing 'weight_map' object");
    }
    std::set<std::string> seen;
    for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
      if (!it.value().is_string()) return DataLoss(index_path + ": weight_map values must be file names");
      const std::string f = it.value().get<std::string>();
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos) {
        return DataLoss(index_path + ": shard name '" + f + "' must be a plain file name");
      }
      if (seen.insert(f).second) files.push_back(dir + "/" + f);
    }
  } else if (FileExists(dir + "/model.safetensors")) {
    files.push_back(dir + "/model.safetensors");
  } else {
    return NotFound(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  TensorSet tensors;
  for (const std::string& f : files) {
    ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(f));
    RETURN_IF_ERROR(ReadSafetensors(*mapped, tensors));
    model->weights.files.push_back(std::move(mapped));
  }
  RETURN_IF_ERROR(AssembleWeights(c, tensors, dir, model->weights));
  return model;
}

}  // namespace kvpress
