// Every malformed model file must come back as a non-ok Status naming the file and the problem,
// never a crash. Each test writes a tiny valid model (HF directory, GGUF v3, llama2.c) into a temp
// dir, checks that it loads and runs a forward pass, then breaks one thing about it.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/transformer.h"
#include "test_util.h"

namespace kvpress {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The tiny model: hidden 8, intermediate 16, 1 layer, 2 heads, 1 KV head (head_dim 4), vocab 16.
constexpr int kHidden = 8, kInter = 16, kHeads = 2, kKvHeads = 1, kVocab = 16, kHeadDim = 4;
constexpr int kSeqLen = 32;

struct TinyTensor {
  std::string hf_name;
  std::string gguf_name;
  std::vector<int64_t> shape;  // row-major
  std::vector<float> values;
  int rope_heads = 0;  // q: kHeads, k: kKvHeads (rows permuted to Meta order for GGUF/llama2.c)
};

std::vector<TinyTensor> TinyTensors() {
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;  // [-0.5, 0.5)
  };
  auto make = [&](std::string hf, std::string gg, std::vector<int64_t> shape, bool norm, int rope = 0) {
    TinyTensor t{std::move(hf), std::move(gg), std::move(shape), {}, rope};
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    for (int64_t i = 0; i < n; ++i) t.values.push_back(norm ? 1.0f + 0.2f * next() : next());
    return t;
  };
  const int64_t d = kHidden, f = kInter, kv = kKvHeads * kHeadDim;
  return {
      make("model.embed_tokens.weight", "token_embd.weight", {kVocab, d}, false),
      make("model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight", {d}, true),
      make("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", {d, d}, false, kHeads),
      make("model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight", {kv, d}, false, kKvHeads),
      make("model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight", {kv, d}, false),
      make("model.layers.0.self_attn.o_proj.weight", "blk.0.attn_output.weight", {d, d}, false),
      make("model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight", {d}, true),
      make("model.layers.0.mlp.gate_proj.weight", "blk.0.ffn_gate.weight", {f, d}, false),
      make("model.layers.0.mlp.up_proj.weight", "blk.0.ffn_up.weight", {f, d}, false),
      make("model.layers.0.mlp.down_proj.weight", "blk.0.ffn_down.weight", {d, f}, false),
      make("model.norm.weight", "output_norm.weight", {d}, true),
      make("lm_head.weight", "output.weight", {kVocab, d}, false),
  };
}

// HF row order -> Meta (interleaved-RoPE) row order, model-formats.md §3.
std::vector<float> ToMetaOrder(const TinyTensor& t) {
  if (t.rope_heads == 0) return t.values;
  const int64_t cols = t.shape[1], half = kHeadDim / 2;
  std::vector<float> out(t.values.size());
  for (int64_t h = 0; h < t.rope_heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t s = 0; s < 2; ++s) {
        const int64_t meta = h * kHeadDim + 2 * j + s, hf = h * kHeadDim + s * half + j;
        std::memcpy(&out[static_cast<size_t>(meta * cols)], &t.values[static_cast<size_t>(hf * cols)],
                    static_cast<size_t>(cols) * 4);
      }
    }
  }
  return out;
}

const TinyTensor& Find(const std::vector<TinyTensor>& ts, const std::string& hf) {
  for (const auto& t : ts) {
    if (t.hf_name == hf) return t;
  }
  ADD_FAILURE() << "no tiny tensor " << hf;
  return ts.front();
}

// ---------------------------------------------------------------------------------------------
// Byte helpers.
template <typename T>
void Put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void PutFloats(std::string& b, const std::vector<float>& v) {
  b.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}
void PutString(std::string& b, const std::string& s) {
  Put<uint64_t>(b, s.size());
  b += s;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  // Unlink first: on ext4, truncating and rewriting a file forces a flush on close
  // (auto_da_alloc), which makes the byte sweeps below crawl on a busy disk.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// ---------------------------------------------------------------------------------------------
// safetensors (model-formats.md §1).
struct Safetensors {
  json header = json::object();
  std::string data;
};

Safetensors TinySafetensors(const std::vector<TinyTensor>& ts) {
  Safetensors st;
  st.header["__metadata__"] = {{"format", "pt"}};
  for (const auto& t : ts) {
    const uint64_t begin = st.data.size();
    PutFloats(st.data, t.values);
    st.header[t.hf_name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, st.data.size()}}};
  }
  return st;
}

// Raw layout: u64 header_len, header bytes, data.
std::string RawSafetensors(uint64_t header_len, const std::string& header, const std::string& data) {
  std::string b;
  Put<uint64_t>(b, header_len);
  return b + header + data;
}

std::string Serialize(const Safetensors& st) {
  std::string h = st.header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';
  return RawSafetensors(h.size(), h, st.data);
}

// Name of the tensor whose data starts last in the buffer.
std::string LastTensor(const Safetensors& st) {
  std::string best;
  uint64_t best_begin = 0;
  for (auto it = st.header.begin(); it != st.header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const uint64_t b = it.value()["data_offsets"][0].get<uint64_t>();
    if (best.empty() || b >= best_begin) {
      best = it.key();
      best_begin = b;
    }
  }
  return best;
}

json TinyHfConfig() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", kHidden},
          {"intermediate_size", kInter},
          {"num_hidden_layers", 1},
          {"num_attention_heads", kHeads},
          {"num_key_value_heads", kKvHeads},
          {"vocab_size", kVocab},
          {"max_position_embeddings", kSeqLen},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", false},
          {"bos_token_id", 1},
          {"eos_token_id", 2}};
}

// ---------------------------------------------------------------------------------------------
// GGUF v3 (model-formats.md §4).
enum : uint32_t { kGgufU32 = 4, kGgufF32 = 6, kGgufString = 8, kGgufArray = 9 };

struct GgufKv {
  std::string key;
  uint32_t type;
  std::string value;  // encoded bytes
};
struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // ne[0] fastest
  uint32_t type = 0;         // ggml type
  std::string data;
};
struct Gguf {
  uint32_t version = 3;
  std::vector<GgufKv> kv;
  std::vector<GgufTensor> tensors;
};
// Byte positions of the serialized file's sections.
struct GgufBytes {
  std::string bytes;
  size_t kv_start = 0, infos_start = 0, infos_end = 0, data_start = 0;
};

GgufKv KvU32(const std::string& key, uint32_t v) {
  GgufKv kv{key, kGgufU32, {}};
  Put(kv.value, v);
  return kv;
}
GgufKv KvF32(const std::string& key, float v) {
  GgufKv kv{key, kGgufF32, {}};
  Put(kv.value, v);
  return kv;
}
GgufKv KvString(const std::string& key, const std::string& v) {
  GgufKv kv{key, kGgufString, {}};
  PutString(kv.value, v);
  return kv;
}
GgufKv KvStringArray(const std::string& key, const std::vector<std::string>& v) {
  GgufKv kv{key, kGgufArray, {}};
  Put<uint32_t>(kv.value, kGgufString);
  Put<uint64_t>(kv.value, v.size());
  for (const auto& s : v) PutString(kv.value, s);
  return kv;
}

std::vector<GgufKv> TinyGgufMetadata(const std::string& arch = "llama") {
  const std::string p = arch + ".";
  std::vector<std::string> tokens;
  // fmt, not "t" + std::to_string(i): GCC 12 -O3 warns falsely (-Wrestrict) on the latter.
  for (int i = 0; i < kVocab; ++i) tokens.push_back(fmt::format("t{}", i));
  return {KvString("general.architecture", arch),
          KvString("general.name", "tiny"),
          KvU32(p + "context_length", kSeqLen),
          KvU32(p + "embedding_length", kHidden),
          KvU32(p + "block_count", 1),
          KvU32(p + "feed_forward_length", kInter),
          KvU32(p + "attention.head_count", kHeads),
          KvU32(p + "attention.head_count_kv", kKvHeads),
          KvF32(p + "attention.layer_norm_rms_epsilon", 1e-5f),
          KvF32(p + "rope.freq_base", 10000.0f),
          KvU32(p + "rope.dimension_count", kHeadDim),
          KvString("tokenizer.ggml.model", "llama"),
          KvStringArray("tokenizer.ggml.tokens", tokens),
          KvU32("tokenizer.ggml.bos_token_id", 1),
          KvU32("tokenizer.ggml.eos_token_id", 2)};
}

Gguf TinyGguf(const std::vector<TinyTensor>& ts) {
  Gguf g;
  g.kv = TinyGgufMetadata();
  for (const auto& t : ts) {
    GgufTensor gt;
    gt.name = t.gguf_name;
    gt.ne.assign(t.shape.rbegin(), t.shape.rend());
    gt.type = 0;  // F32
    PutFloats(gt.data, ToMetaOrder(t));
    g.tensors.push_back(std::move(gt));
  }
  return g;
}

GgufBytes Serialize(const Gguf& g) {
  GgufBytes out;
  std::string& b = out.bytes;
  b += "GGUF";
  Put<uint32_t>(b, g.version);
  Put<uint64_t>(b, g.tensors.size());
  Put<uint64_t>(b, g.kv.size());
  out.kv_start = b.size();
  for (const auto& kv : g.kv) {
    PutString(b, kv.key);
    Put<uint32_t>(b, kv.type);
    b += kv.value;
  }
  out.infos_start = b.size();
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& t : g.tensors) {
    PutString(b, t.name);
    Put<uint32_t>(b, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t v : t.ne) Put<uint64_t>(b, v);
    Put<uint32_t>(b, t.type);
    Put<uint64_t>(b, offset);
    offsets.push_back(offset);
    offset = (offset + t.data.size() + 31) / 32 * 32;
  }
  out.infos_end = b.size();
  if (g.tensors.empty()) return out;  // vocab-only files end right after the infos
  b.resize((b.size() + 31) / 32 * 32, '\0');
  out.data_start = b.size();
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    b.resize(out.data_start + offsets[i], '\0');
    b += g.tensors[i].data;  // the last tensor ends exactly at EOF
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// llama2.c legacy checkpoint (model-formats.md §5); negative vocab = separate classifier.
std::string TinyLlama2c(const std::vector<TinyTensor>& ts, bool shared_classifier) {
  std::string b;
  for (int32_t v : {kHidden, kInter, 1, kHeads, kKvHeads, shared_classifier ? kVocab : -kVocab, kSeqLen}) {
    Put(b, v);
  }
  auto put = [&](const char* hf) { PutFloats(b, ToMetaOrder(Find(ts, hf))); };
  put("model.embed_tokens.weight");
  put("model.layers.0.input_layernorm.weight");
  put("model.layers.0.self_attn.q_proj.weight");
  put("model.layers.0.self_attn.k_proj.weight");
  put("model.layers.0.self_attn.v_proj.weight");
  put("model.layers.0.self_attn.o_proj.weight");
  put("model.layers.0.post_attention_layernorm.weight");
  put("model.layers.0.mlp.gate_proj.weight");
  put("model.layers.0.mlp.down_proj.weight");
  put("model.layers.0.mlp.up_proj.weight");
  put("model.norm.weight");
  PutFloats(b, std::vector<float>(static_cast<size_t>(kSeqLen * kHeadDim), 0.0f));  // freq_cis (unused)
  if (!shared_classifier) put("lm_head.weight");
  return b;
}

void SetHeaderInt(std::string& bin, int index, int32_t v) {
  std::memcpy(bin.data() + 4 * index, &v, 4);
}

// ---------------------------------------------------------------------------------------------
// Assertions.
using LoadResult = StatusOr<std::unique_ptr<Model>>;

// The load failed with `code`, and the message names `path` and contains `problem`.
void ExpectLoadError(const LoadResult& r, StatusCode code, const std::string& path, const std::string& problem) {
  ASSERT_FALSE(r.ok()) << "expected an error about " << path << " (" << problem << ")";
  EXPECT_EQ(static_cast<int>(r.status().code()), static_cast<int>(code)) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  EXPECT_THAT(r.status().message(), HasSubstr(problem));
}

// Runs tokens {3, 5, 7} at positions {0, 1, 2}; returns the [3, V] logits.
std::vector<float> ForwardLogits(const Model& m) {
  Transformer t(m, 1);
  KVCache cache = t.NewCache();
  const std::vector<int32_t> tokens = {3, 5, 7}, positions = {0, 1, 2};
  ForwardOptions opt;
  opt.all_logits = true;
  std::vector<float> logits;
  const Status s = t.Forward(tokens, positions, cache, opt, logits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(logits.size(), static_cast<size_t>(3 * kVocab));
  for (float v : logits) EXPECT_TRUE(std::isfinite(v));
  return logits;
}

class LoaderErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("loader");
    ASSERT_FALSE(dir_.empty());
    tensors_ = TinyTensors();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  // A fresh HF model directory `name` holding `config` and model.safetensors = `st_bytes`.
  std::string WriteHfDir(const std::string& name, const json& config, const std::string& st_bytes) {
    const std::string d = Path(name);
    std::filesystem::create_directories(d);
    WriteFile(d + "/config.json", config.dump(2));
    WriteFile(d + "/model.safetensors", st_bytes);
    return d;
  }
  // An HF directory whose model.safetensors is `st_bytes` (config valid); returns the
  // safetensors path.
  std::string WriteSafetensorsCase(const std::string& name, const std::string& st_bytes) {
    return WriteHfDir(name, TinyHfConfig(), st_bytes) + "/model.safetensors";
  }
  std::string WriteGgufCase(const std::string& name, const std::string& bytes) {
    const std::string p = Path(name + ".gguf");
    WriteFile(p, bytes);
    return p;
  }

  std::string dir_;
  std::vector<TinyTensor> tensors_;
};

// ---------------------------------------------------------------------------------------------
// Valid files load, run, and agree with one another.

TEST_F(LoaderErrors, ValidFilesLoadRunAndAgreeAcrossFormats) {
  const std::string hf = WriteHfDir("hf", TinyHfConfig(), Serialize(TinySafetensors(tensors_)));
  const std::string gguf = WriteGgufCase("tiny", Serialize(TinyGguf(tensors_)).bytes);
  const std::string bin = Path("tiny.bin");
  WriteFile(bin, TinyLlama2c(tensors_, /*shared_classifier=*/false));

  auto m_hf = LoadModel(hf);
  ASSERT_TRUE(m_hf.ok()) << m_hf.status().ToString();
  auto m_gguf = LoadModel(gguf);
  ASSERT_TRUE(m_gguf.ok()) << m_gguf.status().ToString();
  auto m_bin = LoadModel(bin);
  ASSERT_TRUE(m_bin.ok()) << m_bin.status().ToString();

  for (const Model* m : {m_hf->get(), m_gguf->get(), m_bin->get()}) {
    const ModelConfig& c = m->config;
    EXPECT_EQ(c.hidden_size, kHidden);
    EXPECT_EQ(c.intermediate_size, kInter);
    EXPECT_EQ(c.n_layers, 1);
    EXPECT_EQ(c.n_heads, kHeads);
    EXPECT_EQ(c.n_kv_heads, kKvHeads);
    EXPECT_EQ(c.head_dim, kHeadDim);
    EXPECT_EQ(c.vocab_size, kVocab);
    EXPECT_FALSE(c.tied_embeddings);
  }
  EXPECT_EQ((*m_hf)->config.format, SourceFormat::kHuggingFace);
  EXPECT_EQ((*m_gguf)->config.format, SourceFormat::kGguf);
  EXPECT_EQ((*m_bin)->config.format, SourceFormat::kLlama2c);

  // Same weights (q/k rows in Meta order for GGUF and llama2.c, interleaved RoPE there): the
  // logits must agree at every position, which also checks RoPE at positions 1 and 2.
  const std::vector<float> a = ForwardLogits(**m_hf);
  const std::vector<float> b = ForwardLogits(**m_gguf);
  const std::vector<float> c = ForwardLogits(**m_bin);
  EXPECT_LT(testing::RelativeError(b, a), 1e-5);
  EXPECT_LT(testing::RelativeError(c, a), 1e-5);
}

TEST_F(LoaderErrors, ValidLlama2cWithSharedClassifierLoads) {
  const std::string bin = Path("shared.bin");
  WriteFile(bin, TinyLlama2c(tensors_, /*shared_classifier=*/true));
  auto m = LoadModel(bin);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE((*m)->config.tied_embeddings);
  ForwardLogits(**m);
}

TEST_F(LoaderErrors, NonexistentPath) {
  const std::string p = Path("does/not/exist.gguf");
  ExpectLoadError(LoadModel(p), StatusCode::kNotFound, p, "no such model file or directory");
}

TEST_F(LoaderErrors, BareSafetensorsFileIsAUsageError) {
  const std::string p = Path("model.safetensors");
  WriteFile(p, Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(p), StatusCode::kInvalidArgument, p, "pass the model directory");
}

// ---------------------------------------------------------------------------------------------
// safetensors.

TEST_F(LoaderErrors, SafetensorsShorterThan8Bytes) {
  const std::string p = WriteSafetensorsCase("short", std::string("\x10\0\0\0\0", 5));
  ExpectLoadError(LoadModel(Path("short")), StatusCode::kDataLoss, p, "< 8 bytes");
}

TEST_F(LoaderErrors, SafetensorsEmptyFile) {
  const std::string p = WriteSafetensorsCase("empty", "");
  ExpectLoadError(LoadModel(Path("empty")), StatusCode::kDataLoss, p, "< 8 bytes");
}

TEST_F(LoaderErrors, SafetensorsHeaderLengthBeyondFile) {
  const std::string h = "{}";
  const std::string p = WriteSafetensorsCase("hdr_past", RawSafetensors(4096, h, ""));
  ExpectLoadError(LoadModel(Path("hdr_past")), StatusCode::kDataLoss, p, "runs past the end of the file");
}

TEST_F(LoaderErrors, SafetensorsHeaderLengthOver100MB) {
  const std::string p = WriteSafetensorsCase("hdr_huge", RawSafetensors(200ull << 20, "{}", ""));
  ExpectLoadError(LoadModel(Path("hdr_huge")), StatusCode::kDataLoss, p, "exceeds the 100 MB limit");
  // Also a length near 2^64 (8 + N would wrap around).
  const std::string q = WriteSafetensorsCase("hdr_wrap", RawSafetensors(~0ull - 4, "{}", ""));
  ExpectLoadError(LoadModel(Path("hdr_wrap")), StatusCode::kDataLoss, q, "exceeds the 100 MB limit");
}

TEST_F(LoaderErrors, SafetensorsHeaderNotJson) {
  const std::string h = "this is not json";
  const std::string p = WriteSafetensorsCase("not_json", RawSafetensors(h.size(), h, ""));
  ExpectLoadError(LoadModel(Path("not_json")), StatusCode::kDataLoss, p, "not a valid JSON object");
  // Header cut in the middle of the JSON.
  const std::string full = Serialize(TinySafetensors(tensors_));
  const std::string cut = full.substr(8, 40);
  const std::string q = WriteSafetensorsCase("cut_json", RawSafetensors(cut.size(), cut, ""));
  ExpectLoadError(LoadModel(Path("cut_json")), StatusCode::kDataLoss, q, "not a valid JSON object");
}

TEST_F(LoaderErrors, SafetensorsHeaderJsonNotAnObject) {
  for (const std::string h : {"[1, 2, 3]", "42", "\"tensor\"", "null"}) {
    SCOPED_TRACE(h);
    const std::string p = WriteSafetensorsCase("not_object", RawSafetensors(h.size(), h, ""));
    ExpectLoadError(LoadModel(Path("not_object")), StatusCode::kDataLoss, p, "not a valid JSON object");
  }
}

TEST_F(LoaderErrors, SafetensorsMalformedEntry) {
  Safetensors st = TinySafetensors(tensors_);
  st.header["model.norm.weight"].erase("shape");
  const std::string p = WriteSafetensorsCase("entry", Serialize(st));
  ExpectLoadError(LoadModel(Path("entry")), StatusCode::kDataLoss, p,
                  "tensor 'model.norm.weight' has a malformed header entry");

  st = TinySafetensors(tensors_);
  st.header["model.norm.weight"]["shape"] = {-8};
  const std::string q = WriteSafetensorsCase("negdim", Serialize(st));
  ExpectLoadError(LoadModel(Path("negdim")), StatusCode::kDataLoss, q, "non-integer dimension");
}

TEST_F(LoaderErrors, SafetensorsUnknownDtype) {
  Safetensors st = TinySafetensors(tensors_);
  st.header["model.norm.weight"]["dtype"] = "F99";
  const std::string p = WriteSafetensorsCase("dtype", Serialize(st));
  ExpectLoadError(LoadModel(Path("dtype")), StatusCode::kDataLoss, p,
                  "tensor 'model.norm.weight' has unknown dtype 'F99'");
}

TEST_F(LoaderErrors, SafetensorsUnsupportedDtypeI64) {
  Safetensors st = TinySafetensors(tensors_);
  st.header["model.norm.weight"]["dtype"] = "I64";
  st.header["model.norm.weight"]["shape"] = {kHidden / 2};  // same 32 bytes
  const std::string p = WriteSafetensorsCase("i64", Serialize(st));
  ExpectLoadError(LoadModel(Path("i64")), StatusCode::kUnimplemented, p,
                  "tensor 'model.norm.weight' has dtype I64, which is not supported");
}

TEST_F(LoaderErrors, SafetensorsByteSizeNotShapeTimesElemSize) {
  Safetensors st = TinySafetensors(tensors_);
  st.header["model.norm.weight"]["shape"] = {kHidden + 1};
  const std::string p = WriteSafetensorsCase("bytes", Serialize(st));
  ExpectLoadError(LoadModel(Path("bytes")), StatusCode::kDataLoss, p,
                  "tensor 'model.norm.weight' has 32 bytes but shape [9] of F32 needs 36");
}

TEST_F(LoaderErrors, SafetensorsDataOffsetsPastEnd) {
  Safetensors st = TinySafetensors(tensors_);
  const std::string last = LastTensor(st);
  const uint64_t size = st.data.size();
  st.header[last]["data_offsets"] = {size, size + 64};
  const std::string p = WriteSafetensorsCase("past_end", Serialize(st));
  ExpectLoadError(LoadModel(Path("past_end")), StatusCode::kDataLoss, p, "lie outside the");
  // begin > end.
  st = TinySafetensors(tensors_);
  st.header[last]["data_offsets"] = {64, 32};
  const std::string q = WriteSafetensorsCase("reversed", Serialize(st));
  ExpectLoadError(LoadModel(Path("reversed")), StatusCode::kDataLoss, q, "lie outside the");
}

TEST_F(LoaderErrors, SafetensorsHoleBetweenTensors) {
  // Shift every tensor after the first one by 16 bytes, leaving a gap of garbage.
  Safetensors st = TinySafetensors(tensors_);
  const uint64_t first_end = tensors_[0].values.size() * 4;
  for (auto it = st.header.begin(); it != st.header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    auto& off = it.value()["data_offsets"];
    if (off[0].get<uint64_t>() >= first_end) {
      off = {off[0].get<uint64_t>() + 16, off[1].get<uint64_t>() + 16};
    }
  }
  st.data.insert(first_end, std::string(16, '\x7f'));
  const std::string p = WriteSafetensorsCase("hole", Serialize(st));
  ExpectLoadError(LoadModel(Path("hole")), StatusCode::kDataLoss, p, "tensor data has a hole");
}

TEST_F(LoaderErrors, SafetensorsTrailingBytesNotCovered) {
  Safetensors st = TinySafetensors(tensors_);
  const size_t covered = st.data.size();
  st.data += std::string(8, '\0');
  const std::string p = WriteSafetensorsCase("trailing", Serialize(st));
  ExpectLoadError(LoadModel(Path("trailing")), StatusCode::kDataLoss, p,
                  "tensors cover " + std::to_string(covered) + " bytes but the data buffer has " +
                      std::to_string(covered + 8));
}

TEST_F(LoaderErrors, SafetensorsOverlappingTensors) {
  // Move the last tensor 4 bytes back so it overlaps its predecessor, and drop the 4 bytes it no
  // longer covers, so there is no hole anywhere.
  Safetensors st = TinySafetensors(tensors_);
  const std::string last = LastTensor(st);
  auto& off = st.header[last]["data_offsets"];
  const uint64_t begin = off[0].get<uint64_t>() - 4, end = off[1].get<uint64_t>() - 4;
  off = {begin, end};
  st.data.resize(st.data.size() - 4);
  const std::string p = WriteSafetensorsCase("overlap", Serialize(st));
  ExpectLoadError(LoadModel(Path("overlap")), StatusCode::kDataLoss, p,
                  "overlaps at byte " + std::to_string(begin));
}

TEST_F(LoaderErrors, SafetensorsTruncatedData) {
  const std::string full = Serialize(TinySafetensors(tensors_));
  for (size_t cut : {size_t{1}, size_t{100}, full.size() / 2}) {
    SCOPED_TRACE(cut);
    const std::string p = WriteSafetensorsCase("truncated", full.substr(0, full.size() - cut));
    const LoadResult r = LoadModel(Path("truncated"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(p));
  }
  const std::string p = WriteSafetensorsCase("truncated", full.substr(0, full.size() - 1));
  ExpectLoadError(LoadModel(Path("truncated")), StatusCode::kDataLoss, p, "(truncated file?)");
}

// ---------------------------------------------------------------------------------------------
// Hugging Face directory.

TEST_F(LoaderErrors, HfMissingConfig) {
  const std::string d = WriteHfDir("noconfig", TinyHfConfig(), Serialize(TinySafetensors(tensors_)));
  std::filesystem::remove(d + "/config.json");
  ExpectLoadError(LoadModel(d), StatusCode::kNotFound, d, "no config.json");
}

TEST_F(LoaderErrors, HfConfigBadJson) {
  const std::string d = WriteHfDir("badjson", TinyHfConfig(), Serialize(TinySafetensors(tensors_)));
  WriteFile(d + "/config.json", "{\"hidden_size\": 8,");
  ExpectLoadError(LoadModel(d), StatusCode::kDataLoss, d + "/config.json", "invalid JSON");
  WriteFile(d + "/config.json", "[1, 2]");
  ExpectLoadError(LoadModel(d), StatusCode::kDataLoss, d + "/config.json", "expected a JSON object");
}

TEST_F(LoaderErrors, HfUnsupportedArchitecture) {
  json c = TinyHfConfig();
  c["architectures"] = {"GPT2LMHeadModel"};
  const std::string d = WriteHfDir("gpt2", c, Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(d), StatusCode::kUnimplemented, d + "/config.json",
                  "unsupported architecture 'GPT2LMHeadModel'");
  c.erase("architectures");
  WriteFile(d + "/config.json", c.dump());
  ExpectLoadError(LoadModel(d), StatusCode::kUnimplemented, d + "/config.json",
                  "unsupported architecture '<none>'");
}

TEST_F(LoaderErrors, HfMissingRequiredField) {
  json c = TinyHfConfig();
  c.erase("hidden_size");
  const std::string d = WriteHfDir("nohidden", c, Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d + "/config.json",
                  "missing field 'hidden_size'");
  c = TinyHfConfig();
  c["num_attention_heads"] = "two";
  WriteFile(d + "/config.json", c.dump());
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d + "/config.json",
                  "field 'num_attention_heads' must be an integer");
  c = TinyHfConfig();
  c["vocab_size"] = -16;
  WriteFile(d + "/config.json", c.dump());
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d + "/config.json",
                  "field 'vocab_size' = -16 is out of range");
}

TEST_F(LoaderErrors, HfZeroDimension) {
  json c = TinyHfConfig();
  c["num_hidden_layers"] = 0;
  const std::string d = WriteHfDir("zero", c, Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d, "invalid dimensions");
  c = TinyHfConfig();
  c["num_attention_heads"] = 0;  // head_dim cannot be derived
  WriteFile(d + "/config.json", c.dump());
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d, "invalid dimensions");
}

TEST_F(LoaderErrors, HfHeadsNotDivisibleByKvHeads) {
  json c = TinyHfConfig();
  c["num_key_value_heads"] = 3;
  const std::string d = WriteHfDir("gqa", c, Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d,
                  "2 attention heads are not a multiple of 3 KV heads");
}

TEST_F(LoaderErrors, HfMissingTensor) {
  std::vector<TinyTensor> ts;
  for (const auto& t : tensors_) {
    if (t.hf_name != "model.layers.0.mlp.up_proj.weight") ts.push_back(t);
  }
  const std::string d = WriteHfDir("missing", TinyHfConfig(), Serialize(TinySafetensors(ts)));
  ExpectLoadError(LoadModel(d), StatusCode::kNotFound, d,
                  "missing tensor 'model.layers.0.mlp.up_proj.weight'");
}

TEST_F(LoaderErrors, HfTensorShapeMismatch) {
  Safetensors st = TinySafetensors(tensors_);
  st.header["model.layers.0.self_attn.q_proj.weight"]["shape"] = {4, 16};  // same bytes
  const std::string d = WriteHfDir("shape", TinyHfConfig(), Serialize(st));
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d,
                  "tensor 'model.layers.0.self_attn.q_proj.weight' has shape [4, 16], expected [8, 8]");
  // A config that disagrees with the tensors is reported the same way.
  json c = TinyHfConfig();
  c["vocab_size"] = 32;
  WriteFile(d + "/config.json", c.dump());
  WriteFile(d + "/model.safetensors", Serialize(TinySafetensors(tensors_)));
  ExpectLoadError(LoadModel(d), StatusCode::kFailedPrecondition, d,
                  "tensor 'model.embed_tokens.weight' has shape [16, 8], expected [32, 8]");
}

TEST_F(LoaderErrors, HfMissingSafetensors) {
  const std::string d = WriteHfDir("noweights", TinyHfConfig(), "");
  std::filesystem::remove(d + "/model.safetensors");
  ExpectLoadError(LoadModel(d), StatusCode::kNotFound, d, "no model.safetensors or model.safetensors.index.json");
}

TEST_F(LoaderErrors, HfIndexPointsToMissingShard) {
  const std::string d = WriteHfDir("sharded", TinyHfConfig(), "");
  std::filesystem::remove(d + "/model.safetensors");
  json idx = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  for (const auto& t : tensors_) idx["weight_map"][t.hf_name] = "model-00001-of-00002.safetensors";
  WriteFile(d + "/model.safetensors.index.json", idx.dump());
  ExpectLoadError(LoadModel(d), StatusCode::kNotFound, d + "/model-00001-of-00002.safetensors", "cannot open");
}

TEST_F(LoaderErrors, HfShardedModelLoadsAndDuplicateTensorIsAnError) {
  // Split the tensors over two shards: loads. Then put one tensor in both: an error.
  const std::string d = WriteHfDir("two", TinyHfConfig(), "");
  std::filesystem::remove(d + "/model.safetensors");
  const std::vector<TinyTensor> a(tensors_.begin(), tensors_.begin() + 6), b(tensors_.begin() + 6, tensors_.end());
  WriteFile(d + "/model-00001-of-00002.safetensors", Serialize(TinySafetensors(a)));
  WriteFile(d + "/model-00002-of-00002.safetensors", Serialize(TinySafetensors(b)));
  json idx = {{"weight_map", json::object()}};
  for (const auto& t : a) idx["weight_map"][t.hf_name] = "model-00001-of-00002.safetensors";
  for (const auto& t : b) idx["weight_map"][t.hf_name] = "model-00002-of-00002.safetensors";
  WriteFile(d + "/model.safetensors.index.json", idx.dump());
  auto m = LoadModel(d);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ForwardLogits(**m);

  std::vector<TinyTensor> b2 = b;
  b2.push_back(a.front());
  WriteFile(d + "/model-00002-of-00002.safetensors", Serialize(TinySafetensors(b2)));
  // Whichever shard is read second is named (shards are opened in weight_map order).
  ExpectLoadError(LoadModel(d), StatusCode::kDataLoss, d + "/model-0000",
                  "tensor 'model.embed_tokens.weight' appears in more than one file");
}

TEST_F(LoaderErrors, HfIndexShardNameEscapesDirectory) {
  const std::string d = WriteHfDir("escape", TinyHfConfig(), Serialize(TinySafetensors(tensors_)));
  // A real safetensors file one level up: the loader must refuse the name, not open it.
  WriteFile(Path("outside.safetensors"), Serialize(TinySafetensors(tensors_)));
  for (const std::string shard : {"../outside.safetensors", "/etc/passwd", ".."}) {
    SCOPED_TRACE(shard);
    json idx = {{"weight_map", {{"model.embed_tokens.weight", shard}}}};
    WriteFile(d + "/model.safetensors.index.json", idx.dump());
    ExpectLoadError(LoadModel(d), StatusCode::kDataLoss, d + "/model.safetensors.index.json",
                    "must be a plain file name");
  }
  WriteFile(d + "/model.safetensors.index.json", "{\"weight_map\": [1]}");
  ExpectLoadError(LoadModel(d), StatusCode::kDataLoss, d + "/model.safetensors.index.json",
                  "missing 'weight_map' object");
}

// ---------------------------------------------------------------------------------------------
// GGUF.

TEST_F(LoaderErrors, GgufBadMagic) {
  std::string bytes = Serialize(TinyGguf(tensors_)).bytes;
  bytes[3] = 'X';
  const std::string p = WriteGgufCase("magic", bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "not a GGUF file (bad magic)");
  // The GGUF reader's own check (not only LoadModel's sniffing).
  ExpectLoadError(LoadGgufModel(p), StatusCode::kDataLoss, p, "not a GGUF file (bad magic)");
  const std::string q = WriteGgufCase("tiny_file", "GG");
  ExpectLoadError(LoadGgufModel(q), StatusCode::kDataLoss, q, "truncated while reading the magic");
}

TEST_F(LoaderErrors, GgufVersion1) {
  Gguf g = TinyGguf(tensors_);
  g.version = 1;
  const std::string p = WriteGgufCase("v1", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kUnimplemented, p, "GGUF version 1 is not supported");
  // v2 has the same layout and loads.
  g.version = 2;
  const std::string q = WriteGgufCase("v2", Serialize(g).bytes);
  auto m = LoadModel(q);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
}

TEST_F(LoaderErrors, GgufTruncatedInMetadata) {
  const GgufBytes full = Serialize(TinyGguf(tensors_));
  // Every cut inside the metadata, from inside the counts to the last value byte.
  for (size_t cut = 10; cut < full.infos_start; ++cut) {
    const std::string p = WriteGgufCase("meta_cut", full.bytes.substr(0, cut));
    const LoadResult r = LoadModel(p);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << "cut at " << cut << ": " << r.status().ToString();
    ASSERT_THAT(r.status().message(), HasSubstr(p)) << "cut at " << cut;
    ASSERT_THAT(r.status().message(), HasSubstr("GGUF truncated while reading")) << "cut at " << cut;
  }
  const size_t mid = (full.kv_start + full.infos_start) / 2;
  const std::string p = WriteGgufCase("meta_mid", full.bytes.substr(0, mid));
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "GGUF truncated while reading");
}

TEST_F(LoaderErrors, GgufTruncatedInTensorInfos) {
  const GgufBytes full = Serialize(TinyGguf(tensors_));
  for (size_t cut = full.infos_start; cut < full.infos_end; ++cut) {
    const std::string p = WriteGgufCase("info_cut", full.bytes.substr(0, cut));
    const LoadResult r = LoadModel(p);
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
    ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << "cut at " << cut << ": " << r.status().ToString();
    ASSERT_THAT(r.status().message(), HasSubstr(p)) << "cut at " << cut;
    ASSERT_THAT(r.status().message(), HasSubstr("GGUF truncated while reading")) << "cut at " << cut;
  }
  const std::string p = WriteGgufCase("info_mid", full.bytes.substr(0, (full.infos_start + full.infos_end) / 2));
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "GGUF truncated while reading");
}

TEST_F(LoaderErrors, GgufUnknownMetadataValueType) {
  Gguf g = TinyGguf(tensors_);
  g.kv.insert(g.kv.begin() + 1, GgufKv{"general.mystery", 13, std::string(4, '\0')});
  const std::string p = WriteGgufCase("vtype", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "key 'general.mystery' has unknown GGUF value type 13");
  // The same inside an array.
  g = TinyGguf(tensors_);
  GgufKv arr{"general.tags", kGgufArray, {}};
  Put<uint32_t>(arr.value, 99);
  Put<uint64_t>(arr.value, 1);
  Put<uint32_t>(arr.value, 0);
  g.kv.push_back(arr);
  const std::string q = WriteGgufCase("atype", Serialize(g).bytes);
  ExpectLoadError(LoadModel(q), StatusCode::kDataLoss, q, "key 'general.tags' has unknown GGUF value type 99");
}

TEST_F(LoaderErrors, GgufHugeCountsAndArrays) {
  // Counts larger than the file.
  std::string bytes = Serialize(TinyGguf(tensors_)).bytes;
  const uint64_t huge = 1ull << 40;
  std::memcpy(bytes.data() + 16, &huge, 8);  // kv count
  const std::string p = WriteGgufCase("counts", bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "exceed the file size");
  // An array claiming 2^40 elements.
  Gguf g = TinyGguf(tensors_);
  GgufKv arr{"general.tags", kGgufArray, {}};
  Put<uint32_t>(arr.value, kGgufString);
  Put<uint64_t>(arr.value, huge);
  g.kv.push_back(arr);
  const std::string q = WriteGgufCase("array", Serialize(g).bytes);
  ExpectLoadError(LoadModel(q), StatusCode::kDataLoss, q, "claims an array of");
  // A string claiming 2^40 bytes.
  g = TinyGguf(tensors_);
  GgufKv str{"general.huge", kGgufString, {}};
  Put<uint64_t>(str.value, huge);
  g.kv.push_back(str);
  const std::string r = WriteGgufCase("string", Serialize(g).bytes);
  ExpectLoadError(LoadModel(r), StatusCode::kDataLoss, r, "GGUF truncated while reading a string value");
}

TEST_F(LoaderErrors, GgufUnknownTensorType) {
  Gguf g = TinyGguf(tensors_);
  g.tensors[2].type = 16;  // IQ2_XXS
  const std::string p = WriteGgufCase("iq2", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kUnimplemented, p,
                  "tensor '" + g.tensors[2].name + "' has ggml type 16, which is not supported");
}

// Quantized tensors whose rows are not whole blocks, or whose blocks run past the file.
TEST_F(LoaderErrors, GgufMalformedQuantizedBlocks) {
  for (uint32_t type : {2u, 3u, 6u, 7u, 8u, 10u, 11u, 12u, 13u, 14u, 20u, 23u}) {
    Gguf g = TinyGguf(tensors_);
    g.tensors[2].ne = {20, g.tensors[2].ne[1] * g.tensors[2].ne[0] / 20};  // 20 wide: no type's block
    g.tensors[2].type = type;
    const std::string p = WriteGgufCase("rows" + std::to_string(type), Serialize(g).bytes);
    ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p,
                    "tensor '" + g.tensors[2].name + "' has rows of 20 values, not a whole number of");
    // A whole number of blocks, but more bytes than the file holds (the last tensor is cut).
    g = TinyGguf(tensors_);
    GgufTensor& last = g.tensors.back();
    last.ne = {256, 64};
    last.type = type;
    last.data.resize(64);
    const std::string q = WriteGgufCase("cut" + std::to_string(type), Serialize(g).bytes);
    ExpectLoadError(LoadModel(q), StatusCode::kDataLoss, q, "tensor '" + last.name + "' (");
    const auto run = testing::RunKvpress("inspect --model " + q);
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_NE(run.err.find(last.name), std::string::npos) << run.err;
  }
}

TEST_F(LoaderErrors, GgufBadTensorRankAndDims) {
  Gguf g = TinyGguf(tensors_);
  g.tensors[1].ne = {1, 1, 1, 1, 8};
  const std::string p = WriteGgufCase("rank", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "has rank 5 (1..4 allowed)");
  g = TinyGguf(tensors_);
  g.tensors[1].ne = {0};
  const std::string q = WriteGgufCase("dim0", Serialize(g).bytes);
  ExpectLoadError(LoadModel(q), StatusCode::kDataLoss, q, "has an invalid dimension 0");
}

TEST_F(LoaderErrors, GgufTensorDataPastEof) {
  const GgufBytes full = Serialize(TinyGguf(tensors_));
  const std::string p = WriteGgufCase("data_cut", full.bytes.substr(0, full.bytes.size() - 16));
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "runs past the end of the file");
  // File ends right after the infos (no data section at all).
  const std::string q = WriteGgufCase("no_data", full.bytes.substr(0, full.infos_end));
  ExpectLoadError(LoadModel(q), StatusCode::kDataLoss, q, "runs past the end of the file");
}

TEST_F(LoaderErrors, GgufUnsupportedArchitecture) {
  Gguf g = TinyGguf(tensors_);
  g.kv = TinyGgufMetadata("gpt2");
  const std::string p = WriteGgufCase("gpt2", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kUnimplemented, p, "unsupported GGUF architecture 'gpt2'");
  g.kv.erase(g.kv.begin());  // no general.architecture at all
  const std::string q = WriteGgufCase("noarch", Serialize(g).bytes);
  ExpectLoadError(LoadModel(q), StatusCode::kFailedPrecondition, q, "missing GGUF key 'general.architecture'");
}

TEST_F(LoaderErrors, GgufMissingRequiredHparam) {
  for (const std::string key : {"llama.embedding_length", "llama.block_count", "llama.attention.head_count",
                                "llama.attention.layer_norm_rms_epsilon"}) {
    SCOPED_TRACE(key);
    Gguf g = TinyGguf(tensors_);
    std::erase_if(g.kv, [&](const GgufKv& kv) { return kv.key == key; });
    const std::string p = WriteGgufCase("nokey", Serialize(g).bytes);
    ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "missing GGUF key '" + key + "'");
  }
  // Present but of the wrong type.
  Gguf g = TinyGguf(tensors_);
  for (auto& kv : g.kv) {
    if (kv.key == "llama.block_count") kv = KvString(kv.key, "one");
  }
  const std::string p = WriteGgufCase("wrongtype", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p,
                  "GGUF key 'llama.block_count' must be a non-negative integer");
}

TEST_F(LoaderErrors, GgufMissingTensorAndShapeMismatch) {
  Gguf g = TinyGguf(tensors_);
  std::erase_if(g.tensors, [](const GgufTensor& t) { return t.name == "blk.0.ffn_up.weight"; });
  const std::string p = WriteGgufCase("notensor", Serialize(g).bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kNotFound, p, "missing tensor 'model.layers.0.mlp.up_proj.weight'");
  g = TinyGguf(tensors_);
  for (auto& kv : g.kv) {
    if (kv.key == "llama.feed_forward_length") kv = KvU32(kv.key, 32);
  }
  const std::string q = WriteGgufCase("ffn", Serialize(g).bytes);
  ExpectLoadError(LoadModel(q), StatusCode::kFailedPrecondition, q,
                  "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [16, 8], expected [32, 8]");
}

TEST_F(LoaderErrors, GgufVocabOnlyFile) {
  Gguf g = TinyGguf(tensors_);
  g.tensors.clear();
  const GgufBytes b = Serialize(g);
  ASSERT_EQ(b.bytes.size(), b.infos_end);
  const std::string p = WriteGgufCase("vocab", b.bytes);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "GGUF file has no tensors (vocab-only?)");
}

// ---------------------------------------------------------------------------------------------
// llama2.c.

TEST_F(LoaderErrors, Llama2cShorterThanHeader) {
  const std::string full = TinyLlama2c(tensors_, false);
  for (size_t n : {size_t{0}, size_t{1}, size_t{27}}) {
    SCOPED_TRACE(n);
    const std::string p = Path("short.bin");
    WriteFile(p, full.substr(0, n));
    ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "truncated llama2.c checkpoint (header needs 28 bytes)");
  }
}

TEST_F(LoaderErrors, Llama2cHeaderSizeMismatch) {
  const std::string full = TinyLlama2c(tensors_, false);
  const std::string p = Path("cut.bin");
  WriteFile(p, full.substr(0, full.size() - 4));
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p,
                  "file has " + std::to_string(full.size() - 4) + " bytes but the header");
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "implies " + std::to_string(full.size()) + " (truncated)");
  // Too long (e.g. a shared-classifier header on a file with a classifier).
  std::string shared = full;
  SetHeaderInt(shared, 5, kVocab);
  WriteFile(p, shared);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "bytes but the header");
  // Only the header.
  WriteFile(p, full.substr(0, 28));
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "(truncated)");
}

TEST_F(LoaderErrors, Llama2cZeroOrNegativeDims) {
  const std::string full = TinyLlama2c(tensors_, false);
  const std::string p = Path("dims.bin");
  for (int index = 0; index < 7; ++index) {
    for (int32_t v : {0, -1, INT32_MIN}) {
      if (index == 5 && v == -1) continue;  // vocab -1 is a valid "1 token, separate classifier"
      SCOPED_TRACE(::testing::Message() << "header[" << index << "] = " << v);
      std::string bad = full;
      SetHeaderInt(bad, index, v);
      WriteFile(p, bad);
      const LoadResult r = LoadModel(p);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
      EXPECT_THAT(r.status().message(), HasSubstr(p));
    }
  }
  std::string bad = full;
  SetHeaderInt(bad, 2, 0);
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "invalid dimensions");
  bad = full;
  SetHeaderInt(bad, 6, -5);
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "seq_len -5 must be positive");
}

TEST_F(LoaderErrors, Llama2cDimNotDivisibleByHeads) {
  std::string bad = TinyLlama2c(tensors_, false);
  SetHeaderInt(bad, 3, 3);
  const std::string p = Path("heads.bin");
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "dim 8 is not divisible by n_heads 3");
  bad = TinyLlama2c(tensors_, false);
  SetHeaderInt(bad, 4, 3);  // 2 heads, 3 KV heads
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "2 attention heads are not a multiple of 3 KV heads");
}

TEST_F(LoaderErrors, Llama2cImplausiblyLargeDimsDoNotOverflow) {
  std::string bad = TinyLlama2c(tensors_, false);
  SetHeaderInt(bad, 0, 1 << 30);  // head_dim 2^29
  for (int index : {1, 2, 5}) SetHeaderInt(bad, index, INT32_MAX);
  const std::string p = Path("huge.bin");
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kFailedPrecondition, p, "implausibly large");
  bad = TinyLlama2c(tensors_, false);
  SetHeaderInt(bad, 6, INT32_MAX);  // seq_len is not capped: the size check must still hold
  WriteFile(p, bad);
  ExpectLoadError(LoadModel(p), StatusCode::kDataLoss, p, "(truncated)");
}

// ---------------------------------------------------------------------------------------------
// Robustness sweeps: every prefix of a valid file fails cleanly, and corrupting any header byte
// never crashes (it either fails with a Status naming the file, or loads a model that runs).

void ExpectFailsOrRuns(const LoadResult& r, const std::string& path, const std::string& what) {
  if (!r.ok()) {
    EXPECT_THAT(r.status().message(), HasSubstr(path)) << what;
    return;
  }
  Transformer t(*r.value(), 1);
  KVCache cache = t.NewCache();
  const std::vector<int32_t> tokens = {3, 5}, positions = {0, 1};
  std::vector<float> logits;
  EXPECT_TRUE(t.Forward(tokens, positions, cache, {}, logits).ok()) << what;
}

TEST_F(LoaderErrors, EveryPrefixOfAValidFileFails) {
  const std::string st = Serialize(TinySafetensors(tensors_));
  const std::string gguf = Serialize(TinyGguf(tensors_)).bytes;
  const std::string bin = TinyLlama2c(tensors_, false);
  const std::string hf = WriteHfDir("prefix", TinyHfConfig(), "");
  const std::string st_path = hf + "/model.safetensors", gguf_path = Path("prefix.gguf"),
                    bin_path = Path("prefix.bin");
  struct Case {
    const std::string* bytes;
    std::string file, load;
  };
  for (const Case& c : {Case{&st, st_path, hf}, Case{&gguf, gguf_path, gguf_path}, Case{&bin, bin_path, bin_path}}) {
    for (size_t n = 0; n < c.bytes->size(); ++n) {
      WriteFile(c.file, c.bytes->substr(0, n));
      const LoadResult r = LoadModel(c.load);
      ASSERT_FALSE(r.ok()) << c.file << " cut to " << n << " bytes loaded";
      ASSERT_THAT(r.status().message(), HasSubstr(c.file)) << "cut to " << n;
    }
    WriteFile(c.file, *c.bytes);
    ASSERT_TRUE(LoadModel(c.load).ok()) << c.file;
  }
}

TEST_F(LoaderErrors, CorruptHeaderBytesNeverCrash) {
  const GgufBytes gguf = Serialize(TinyGguf(tensors_));
  const std::string gguf_path = Path("corrupt.gguf");
  const std::string st = Serialize(TinySafetensors(tensors_));
  uint64_t st_header_end = 0;
  std::memcpy(&st_header_end, st.data(), 8);
  st_header_end += 8;
  const std::string hf = WriteHfDir("corrupt", TinyHfConfig(), st);
  const std::string bin = TinyLlama2c(tensors_, false);
  const std::string bin_path = Path("corrupt.bin");
  for (const char v : {'\xff', '\x00', '\x01', '9'}) {
    for (size_t i = 0; i < gguf.data_start; ++i) {
      std::string b = gguf.bytes;
      b[i] = v;
      WriteFile(gguf_path, b);
      ExpectFailsOrRuns(LoadModel(gguf_path), gguf_path, "gguf byte " + std::to_string(i));
    }
    for (size_t i = 0; i < st_header_end; ++i) {
      std::string b = st;
      b[i] = v;
      WriteFile(hf + "/model.safetensors", b);
      ExpectFailsOrRuns(LoadModel(hf), hf, "safetensors byte " + std::to_string(i));
    }
    for (size_t i = 0; i < 28; ++i) {
      std::string b = bin;
      b[i] = v;
      WriteFile(bin_path, b);
      ExpectFailsOrRuns(LoadModel(bin_path), bin_path, "llama2.c byte " + std::to_string(i));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI maps load errors to exit code 2 (bad input) and usage errors to 1.

TEST_F(LoaderErrors, CliInspectReportsBadFilesWithExitCode2) {
  const GgufBytes full = Serialize(TinyGguf(tensors_));
  const std::string good = WriteGgufCase("good", full.bytes);
  auto ok = testing::RunKvpress("inspect --model '" + good + "' --json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["hidden_size"].get<int>(), kHidden);

  const std::string bad = WriteGgufCase("bad", full.bytes.substr(0, full.infos_end - 3));
  auto r = testing::RunKvpress("inspect --model '" + bad + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(bad));
  EXPECT_THAT(r.err, HasSubstr("GGUF truncated"));

  const std::string bin = Path("bad.bin");
  WriteFile(bin, "short");
  r = testing::RunKvpress("inspect --model '" + bin + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(bin));

  const std::string missing = Path("nope");
  r = testing::RunKvpress("inspect --model '" + missing + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr(missing));
}

TEST_F(LoaderErrors, CliUnknownFlagExitsWith1) {
  auto r = testing::RunKvpress("inspect --no-such-flag");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  r = testing::RunKvpress("inspect --model '" + Path("x.gguf") + "' --no-such-flag");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  r = testing::RunKvpress("no-such-command");
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

}  // namespace
}  // namespace kvpress
