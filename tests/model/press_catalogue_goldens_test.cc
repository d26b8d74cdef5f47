// The wrapper presses (adakv, criticalkv, criticaladakv, pyramidkv, per_layer, composed, decoding, compression_ratio_decoding,
// prefill_decoding, chunk, chunkkv, entropy_gated_chunkkv, block), simlayerkv, think, key_rerotation, finch and the part-2
// scorers (expected_attention, cur, qfilter, non_causal_attention, cap, compactor, merging, cam; their cases in
// smollm2_135m_scorers.json) and dms (smollm2_135m_dms.json) against upstream kvpress 0.5.5 itself
// on a real model:
// tests/fixtures/press_catalogue_goldens/smollm2_135m.json (scripts/goldens/make_press_catalogue_goldens.py)
// holds, for SmolLM2-135M-Instruct (its Q4_1 GGUF dequantized to f32 by `kvpress convert`, as here),
// a 709-token LSAT-LR context and a question, and for each press × ratio 0.25/0.5/0.75: the
// positions every (layer, KV head) keeps after the context prefill, upstream's near-tie bands, the
// per-layer cache lengths after generation and the 32 greedy ids (upstream pipeline logic).
//
// Here the same ids go through a Session (context in kPrefill, question in kQuestion, greedy decode).
// Checked: every kept set equal outside the tie bands (inside one either choice is correct), the
// per-layer cache lengths after generation equal (decoding presses: upstream's step counting,
// where the question's forward is one decoding step), and the greedy ids — reported as the length
// of the common prefix; ids must be equal when the kept sets are.
// Intentional differences, by construction of the comparison: adakv's heads are really shorter here
// (upstream keeps full tensors with masked keys, so its "cache length" is the full length; we compare
// the kept sets, and cache lengths only for the non-adaptive presses). dms: threshold rule, the
// "ratio" column is 0 (thresholds chosen near the key-norm quartiles); upstream masks, we evict.
// finch: upstream marks the question with a delimiter token its embedding hook removes; here the
// same ids without it, and the question's token count goes with the prefill.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "generate/chat_prompt.h"
#include "generate/model_tokenizer.h"
#include "generate/session.h"
#include "generated_gates.h"
#include "model/model.h"
#include "model/transformer.h"
#include "ops/rope.h"
#include "press/duo_patterns.h"
#include "press/eviction_log.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"

namespace kvpress {
namespace {

std::string Smol() { return testing::SharedData("models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"); }

std::set<int32_t> FromHex(const std::string& hex) {
  std::set<int32_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int byte = std::stoi(hex.substr(i, 2), nullptr, 16);
    for (int b = 0; b < 8; ++b) {
      if (byte & (1 << b)) out.insert(static_cast<int32_t>(i / 2 * 8 + b));
    }
  }
  return out;
}

// key_rerotation: slot i of (layer, g) in `compact` (re-numbered 0..k-1) came from original position
// original[i]; its key rotated back by RoPE(original[i] − i) must equal the uncompressed key there
// (1e-4 relative), and its value must be bit-identical.
void ExpectRerotatedKeys(const KVCache& compact, const KVCache& full, int layer, int g,
                         const std::vector<int32_t>& original, const ModelConfig& config) {
  const int hd = compact.head_dim();
  const std::vector<float> inv_freq = config.RopeInvFreq();
  std::vector<float> k(static_cast<size_t>(hd)), v(k), fk(k), fv(k);
  ASSERT_EQ(static_cast<int>(original.size()), compact.Size(layer, g));
  for (int i = 0; i < compact.Size(layer, g); ++i) {
    const int32_t p = original[static_cast<size_t>(i)];  // slot p of the full cache holds position p
    compact.KeyAt(layer, g, i, k.data());
    compact.ValueAt(layer, g, i, v.data());
    full.KeyAt(layer, g, p, fk.data());
    full.ValueAt(layer, g, p, fv.data());
    EXPECT_EQ(v, fv) << "layer " << layer << " head " << g << " slot " << i;
    ApplyRope(k.data(), 1, hd, p - compact.Positions(layer, g)[static_cast<size_t>(i)], inv_freq.data(),
              config.rope_style);
    double err = 0, ref = 0;
    for (int c = 0; c < hd; ++c) {
      err = std::max(err, static_cast<double>(std::abs(k[static_cast<size_t>(c)] - fk[static_cast<size_t>(c)])));
      ref = std::max(ref, static_cast<double>(std::abs(fk[static_cast<size_t>(c)])));
    }
    EXPECT_LE(err, 1e-4 * std::max(1.0, ref)) << "layer " << layer << " head " << g << " slot " << i << " from " << p;
  }
}

// The kept original positions per (layer, head) from an --eviction-log CSV of one prune per head.
std::map<std::pair<int, int>, std::vector<int32_t>> KeptFromLog(const std::string& path, int n) {
  std::map<std::pair<int, int>, std::vector<int32_t>> out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    size_t start = 0;
    for (int c = 0; c < 7; ++c) {
      const size_t comma = line.find(',', start);
      cols.push_back(line.substr(start, comma - start));
      start = comma + 1;
    }
    std::string evicted = line.substr(start);
    evicted.erase(std::remove(evicted.begin(), evicted.end(), '"'), evicted.end());
    std::set<int32_t> gone;
    std::istringstream ss(evicted);
    for (int32_t p; ss >> p;) gone.insert(p);
    auto& kept = out[{std::stoi(cols[1]), std::stoi(cols[2])}];
    for (int32_t p = 0; p < n; ++p) {
      if (!gone.count(p)) kept.push_back(p);
    }
  }
  return out;
}

class PressCatalogueGoldens : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream in(testing::Fixture("press_catalogue_goldens/smollm2_135m.json"));
    if (!in) return;
    golden_ = new nlohmann::json(nlohmann::json::parse(in));
    // Part 2 (issue 15): the scorers' cases, recorded on the same context and question by
    // scripts/goldens/make_scorer_goldens.py.
    std::ifstream in2(testing::Fixture("press_catalogue_goldens/smollm2_135m_scorers.json"));
    if (in2) {
      const nlohmann::json scorers = nlohmann::json::parse(in2);
      if (scorers["context_ids"] == (*golden_)["context_ids"] && scorers["question_ids"] == (*golden_)["question_ids"]) {
        for (const auto& c : scorers["cases"]) (*golden_)["cases"].push_back(c);
      } else {
        std::fprintf(stderr, "smollm2_135m_scorers.json was recorded on another context/question; ignored\n");
      }
    }
    // Cases kept in their own files (same context and question) join the list: issue 15's dms,
    // issue 14: criticalkv / criticaladakv (smollm2_135m_critical.json), key_rerotation (…_rerotation.json).
    for (const char* name : {"smollm2_135m_dms.json", "smollm2_135m_critical.json", "smollm2_135m_rerotation.json",
                             "smollm2_135m_finch.json"}) {
      std::ifstream file(testing::Fixture(std::string("press_catalogue_goldens/") + name));
      if (!file) continue;
      const nlohmann::json extra = nlohmann::json::parse(file);
      if (extra["context_ids"] == (*golden_)["context_ids"] && extra["question_ids"] == (*golden_)["question_ids"]) {
        for (const auto& c : extra["cases"]) (*golden_)["cases"].push_back(c);
      } else {
        std::fprintf(stderr, "%s was recorded on another context/question; ignored\n", name);
      }
    }
    // Issue 15's kvzip cases (make_kvzip_goldens.py): each case carries upstream's replay prompts.
    std::ifstream kvzip(testing::Fixture("press_catalogue_goldens/smollm2_135m_kvzip.json"));
    if (kvzip) {
      const nlohmann::json extra = nlohmann::json::parse(kvzip);
      if (extra["context_ids"] == (*golden_)["context_ids"] &&
          extra["question_ids"] == (*golden_)["question_ids"]) {
        for (nlohmann::json c : extra["cases"]) {
          c["replay"] = extra["replay"];
          (*golden_)["cases"].push_back(c);
        }
      }
    }
    // Issue 15's lukv cases (make_lukv_goldens.py; generated curve beside the fixture).
    std::ifstream lukv(testing::Fixture("press_catalogue_goldens/smollm2_135m_lukv.json"));
    if (lukv) {
      const nlohmann::json extra = nlohmann::json::parse(lukv);
      if (extra["context_ids"] == (*golden_)["context_ids"] &&
          extra["question_ids"] == (*golden_)["question_ids"]) {
        for (const auto& c : extra["cases"]) (*golden_)["cases"].push_back(c);
      }
    }
    // Issue 15's kvzap cases (make_kvzap_goldens.py; generated weights beside the fixture),
    // duo_attention (make_duo_attention_goldens.py) and fastkvzip (make_fastkvzip_goldens.py; its
    // gates are regenerated from the fixture's "gates" description, see generated_gates.h).
    for (const char* name : {"smollm2_135m_kvzap.json", "smollm2_135m_duo_attention.json",
                             "smollm2_135m_fastkvzip.json"}) {
      std::ifstream file(testing::Fixture(std::string("press_catalogue_goldens/") + name));
      if (!file) continue;
      const nlohmann::json extra = nlohmann::json::parse(file);
      if (extra["context_ids"] != (*golden_)["context_ids"] ||
          extra["question_ids"] != (*golden_)["question_ids"]) {
        std::fprintf(stderr, "%s was recorded on another context/question; ignored\n", name);
        continue;
      }
      for (nlohmann::json c : extra["cases"]) {
        if (extra.contains("gates")) c["gates"] = extra["gates"];
        if (extra.contains("on_the_fly_head_scores") &&
            c["spec"].get<std::string>().find(':') == std::string::npos) {
          c["head_scores"] = extra["on_the_fly_head_scores"];  // duo_attention on the fly
        }
        (*golden_)["cases"].push_back(c);
      }
    }
    if (Smol().empty()) return;
    const std::string dir = testing::TempDir("catalogue_smol_f32") + "/smollm2-f32";
    const auto conv = testing::RunKvpress("convert -m '" + Smol() + "' -o '" + dir + "' --to hf --dtype f32");
    if (conv.exit_code != 0) {
      std::fprintf(stderr, "convert failed: %s\n", conv.err.c_str());
      return;
    }
    auto m = LoadModel(dir);
    if (m.ok()) model_ = std::move(m).value().release();
  }
  static void TearDownTestSuite() {
    delete golden_;
    delete model_;
    golden_ = nullptr;
    model_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(golden_, nullptr) << "missing tests/fixtures/press_catalogue_goldens/smollm2_135m.json";
    if (Smol().empty()) GTEST_SKIP() << "../shared/data absent (needs SmolLM2-135M-Instruct)";
    ASSERT_NE(model_, nullptr) << "could not convert/load SmolLM2";
  }

  // Runs every golden case whose spec starts with `prefix`.
  void RunCases(const std::string& prefix) {
    const int max_new = (*golden_)["max_new_tokens"].get<int>();
    int n_cases = 0;
    for (const auto& c : (*golden_)["cases"]) {
      const std::string spec_text = c["spec"].get<std::string>();
      if (spec_text.rfind(prefix, 0) != 0) continue;
      ++n_cases;
      auto context = (*golden_)["context_ids"].get<std::vector<int32_t>>();
      auto question = (*golden_)["question_ids"].get<std::vector<int32_t>>();
      int question_tokens = 0;  // finch: the question's text is prefilled (and compressed) with the context
      if (c.contains("query_ids")) {
        const auto query = c["query_ids"].get<std::vector<int32_t>>();
        context.insert(context.end(), query.begin(), query.end());
        question = c["suffix_ids"].get<std::vector<int32_t>>();
        question_tokens = static_cast<int>(query.size());
      }
      const double ratio = c["compression_ratio"].get<double>();
      const std::string kind = c["kind"].get<std::string>();
      SCOPED_TRACE(::testing::Message() << spec_text << " ratio " << ratio);
      std::string spec_resolved = spec_text;  // "$FIXTURES/…" names a file under tests/fixtures
      if (const size_t at = spec_resolved.find("$FIXTURES/"); at != std::string::npos) {
        spec_resolved.replace(at, 10, testing::Fixture(""));
      }
      if (const size_t at = spec_resolved.find("$GENERATED/"); at != std::string::npos) {
        // fastkvzip: the gates the golden script drew, regenerated here (too large to commit).
        const std::string dir = testing::TempDir("catalogue_generated");
        const ModelConfig& mc = model_->config;
        ASSERT_TRUE(c.contains("gates"));
        ASSERT_TRUE(testing_util::WriteGeneratedGates(c["gates"], mc.n_layers, mc.n_kv_heads,
                                                      mc.n_heads / mc.n_kv_heads, mc.hidden_size,
                                                      dir + "/fastkvzip_gates.safetensors")
                        .ok());
        spec_resolved.replace(at, 11, dir + "/");
      }
      auto spec = ParsePressSpec(spec_resolved);
      ASSERT_TRUE(spec.ok()) << spec.status().ToString();
      if (kind != "decoding") spec->budget.removed_fraction = ratio;
      auto press = CreatePress(*spec);
      ASSERT_TRUE(press.ok()) << press.status().ToString();
      Transformer t(*model_, 2);
      Session session(t, press->get(), DType::kF32, 256);
      if (c.contains("replay")) session.set_replay_prompts(ReplayFromJson(c["replay"]));
      std::vector<float> logits;
      // key_rerotation: slots re-numbered 0..k-1, so the kept original positions come from the
      // eviction log of the prefill; the question starts at the cache length, as upstream's pipeline.
      const bool rerotated = spec_text.rfind("key_rerotation", 0) == 0 ||
                             (spec_text.rfind("finch", 0) == 0 && spec_text.find("rerotate_keys=0") == std::string::npos);
      const std::string log_path = testing::TempDir("catalogue_rerotation") + "/evictions.csv";
      std::unique_ptr<EvictionLog> log;
      if (rerotated) {
        auto opened = EvictionLog::Open(log_path);
        ASSERT_TRUE(opened.ok());
        log = std::move(opened).value();
        (*press)->set_eviction_log(log.get());
      }
      ASSERT_TRUE(session.Prefill(context, ForwardPhase::kPrefill, logits, question_tokens).ok());
      if (c.contains("head_scores")) ExpectDuoHeadScores(t, context, c["head_scores"]);
      std::unique_ptr<Session> full;
      std::map<std::pair<int, int>, std::vector<int32_t>> original;
      if (rerotated) {
        (*press)->set_eviction_log(nullptr);
        log.reset();  // flushes the file
        original = KeptFromLog(log_path, static_cast<int>(context.size()));
        full = std::make_unique<Session>(t, nullptr, DType::kF32, 256);
        std::vector<float> scratch;
        ASSERT_TRUE(full->Prefill(context, ForwardPhase::kPrefill, scratch).ok());
        EXPECT_EQ(session.next_position(), session.cache().MaxSize());
      }
      int heads = 0, band_decided = 0, differing = 0, tie_dependent = 0;
      // composed: heads where a stage before the last cut inside a tie band (see the Composed test).
      std::set<std::pair<int, int>> tie_heads;
      if (c.contains("tie_heads")) {
        for (const auto& lh : c["tie_heads"]) tie_heads.insert({lh[0].get<int>(), lh[1].get<int>()});
      }
      if (!c["kept"].is_null()) {
        for (int l = 0; l < model_->config.n_layers; ++l) {
          for (int g = 0; g < model_->config.n_kv_heads; ++g) {
            ++heads;
            const auto want = FromHex(c["kept"][l][g].get<std::string>());
            const auto band = c["band"][l][g].get<std::set<int32_t>>();
            const auto got_span = session.cache().Positions(l, g);
            std::set<int32_t> got(got_span.begin(), got_span.end());
            if (rerotated) {
              for (int i = 0; i < session.cache().Size(l, g); ++i) {
                EXPECT_EQ(got_span[static_cast<size_t>(i)], i) << "layer " << l << " head " << g << ": not compacted";
              }
              const auto& kept = original[{l, g}];
              ExpectRerotatedKeys(session.cache(), full->cache(), l, g, kept, model_->config);
              got = std::set<int32_t>(kept.begin(), kept.end());
            }
            if (band.empty() || tie_heads.count({l, g})) {
              EXPECT_EQ(got.size(), want.size()) << "layer " << l << " head " << g;
            }
            if (tie_heads.count({l, g})) {
              ++tie_dependent;
              continue;
            }
            std::vector<int32_t> diff;
            std::set_symmetric_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(diff));
            for (int32_t p : diff) {
              if (band.count(p)) {
                ++band_decided;
              } else {
                ++differing;
                ADD_FAILURE() << "layer " << l << " head " << g << ": position " << p
                              << (got.count(p) ? " kept by us only" : " kept by upstream only");
              }
            }
          }
        }
      }
      if (c.contains("channels")) {  // think: the pruned key channels of every head
        const int hd = model_->config.head_dim;
        std::vector<float> key(static_cast<size_t>(hd));
        size_t pruned_values = 0;
        for (int l = 0; l < model_->config.n_layers; ++l) {
          for (int g = 0; g < model_->config.n_kv_heads; ++g) {
            ++heads;
            std::vector<bool> zero(static_cast<size_t>(hd), true);
            for (int j = 0; j < session.cache().Size(l, g); ++j) {
              session.cache().KeyAt(l, g, j, key.data());
              for (int ch = 0; ch < hd; ++ch) zero[static_cast<size_t>(ch)] = zero[static_cast<size_t>(ch)] && key[static_cast<size_t>(ch)] == 0.0f;
            }
            std::vector<int> got;
            for (int ch = 0; ch < hd; ++ch) {
              if (zero[static_cast<size_t>(ch)]) got.push_back(ch);
            }
            const auto want = c["channels"][l][g].get<std::vector<int>>();
            EXPECT_EQ(got, want) << "layer " << l << " head " << g << ": pruned key channels";
            differing += got != want;
            pruned_values += got.size() * static_cast<size_t>(session.cache().Size(l, g));
          }
        }
        // Upstream keeps the pruned channels as zeros; ours stores the context's keys at the kept
        // width (KVCache::ThinKeys), so exactly the pruned values' bytes are freed.
        const size_t masked = context.size() * static_cast<size_t>(model_->config.n_layers) *
                              static_cast<size_t>(model_->config.n_kv_heads) * session.cache().SlotBytes();
        const size_t ours = session.cache().LiveBytes();
        EXPECT_EQ(ours, masked - pruned_values * sizeof(float));
        std::printf("[ %s ] KV bytes after prefill: ours %zu, upstream masked %zu: %zu freed (%.1f%%)\n",
                    spec_text.c_str(), ours, masked, masked - ours,
                    100.0 * static_cast<double>(masked - ours) / static_cast<double>(masked));
      }
      const bool head_adaptive = spec_text.rfind("adakv", 0) == 0 ||
                                 spec_text.rfind("criticaladakv", 0) == 0 ||
                                 spec_text.rfind("duo_attention", 0) == 0;
      if (head_adaptive) {
        // Upstream keeps every head at full length (masked keys): n slots × heads × layers.
        const size_t masked_bytes = context.size() * static_cast<size_t>(model_->config.n_layers) *
                                    static_cast<size_t>(model_->config.n_kv_heads) * session.cache().SlotBytes();
        const size_t ours = session.cache().LiveBytes();
        int shortest = 1 << 30, longest = 0;
        for (int l = 0; l < model_->config.n_layers; ++l) {
          for (int g = 0; g < model_->config.n_kv_heads; ++g) {
            shortest = std::min(shortest, session.cache().Size(l, g));
            longest = std::max(longest, session.cache().Size(l, g));
          }
        }
        std::printf("[ %s r=%.2f ] KV bytes after prefill: ours %zu (heads of %d..%d slots), upstream masked %zu: "
                    "%zu freed (%.1f%%)\n",
                    spec_text.c_str(), ratio, ours, shortest, longest, masked_bytes, masked_bytes - ours,
                    100.0 * static_cast<double>(masked_bytes - ours) / static_cast<double>(masked_bytes));
        EXPECT_LT(ours, masked_bytes);
        EXPECT_LT(shortest, longest) << "adakv head budgets should be ragged";
      }
      if (c.contains("replay")) {  // kvzip: what the replay passes cost against the prefill
        const Metrics m = session.CurrentMetrics();
        std::printf(
            "[ %s r=%.2f ] prefill %.3f s of which press (replay passes + scoring + pruning) %.3f "
            "s\n",
            spec_text.c_str(), ratio, m.prefill_time, m.press_prefill_time);
      }
      ASSERT_TRUE(session.Prefill(question, ForwardPhase::kQuestion, logits).ok());
      DecodeLoopOptions opt;
      opt.max_new_tokens = max_new;
      opt.stop.eos_ids = {2};
      auto r = session.Decode(std::move(logits), opt);
      ASSERT_TRUE(r.ok());
      std::vector<int32_t> ids = r->tokens;
      if (r->finish_reason == "stop") ids.push_back(2);
      const auto want_ids = c["ids"].get<std::vector<int32_t>>();
      size_t common = 0;
      while (common < ids.size() && common < want_ids.size() && ids[common] == want_ids[common]) ++common;
      const bool ids_equal = ids == want_ids;
      // composed: a tie upstream broke by rounding noise may change the ids (see the Composed test).
      const bool ids_may_follow_a_tie =
          tie_dependent > 0 || (spec_text.rfind("composed", 0) == 0 && band_decided > 0);
      if (differing == 0 && !ids_may_follow_a_tie) {
        EXPECT_TRUE(ids_equal) << "greedy ids diverge at token " << common;
      }
      // adakv, criticaladakv, dms, kvzip, lukv: upstream's tensors stay full length (masked).
      // simlayerkv: we keep lazy layers streaming while decoding (SLKV-decode); upstream compresses
      // the prefill only.
      if (!head_adaptive && spec_text.rfind("simlayerkv", 0) != 0 &&
          spec_text.rfind("dms", 0) != 0 && spec_text.rfind("kvzip", 0) != 0 &&
          spec_text.rfind("lukv", 0) != 0 && spec_text.rfind("fastkvzip", 0) != 0 &&
          spec_text.rfind("duo_attention", 0) != 0 && (ids_equal || !ids_may_follow_a_tie)) {
        const auto lengths = c["cache_lengths"].get<std::vector<int>>();
        for (int l = 0; l < model_->config.n_layers; ++l) {
          EXPECT_EQ(session.cache().MaxSize(l), lengths[static_cast<size_t>(l)]) << "layer " << l;
        }
      }
      std::printf("[ %-70s r=%.2f ] heads %d, positions decided in tie bands %d, heads after a tie %d, kept sets %s, "
                  "greedy ids %s (%zu/%zu)\n",
                  spec_text.substr(0, 70).c_str(), ratio, heads, band_decided, tie_dependent,
                  heads == 0 ? "n/a" : (differing == 0 ? "equal" : "DIFFER"), ids_equal ? "equal" : "DIFFER",
                  common, want_ids.size());
    }
    EXPECT_GT(n_cases, 0) << "no golden case for " << prefix;
  }

  // duo_attention on the fly: our estimate from the context against upstream's (same sample).
  void ExpectDuoHeadScores(Transformer& t, const std::vector<int32_t>& context,
                           const nlohmann::json& want) {
    DuoPatternCollector collector(model_->config);
    KVCache cache = t.NewCache();
    std::vector<int32_t> pos(context.size());
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
    ForwardOptions opt;
    opt.hook = &collector;
    std::vector<float> logits;
    ASSERT_TRUE(t.Forward(context, pos, cache, opt, logits).ok());
    collector.EndSample();
    const DuoPatterns got = collector.Finish();
    double worst = 0;
    for (int l = 0; l < got.n_layers; ++l) {
      for (int g = 0; g < got.n_kv_heads; ++g) {
        const double d =
            got.head_scores[static_cast<size_t>(l * got.n_kv_heads + g)] - want[l][g].get<double>();
        worst = std::max(worst, std::abs(d));
      }
    }
    std::printf("[ duo_attention ] on-the-fly head scores: max |ours - upstream| = %.3g\n", worst);
    EXPECT_LT(worst, 1e-5);
  }

  static ContextReplayPrompts ReplayFromJson(const nlohmann::json& j) {
    ContextReplayPrompts r;
    r.prefix_length = j["prefix_length"].get<int>();
    r.repeat_first = j["repeat_first"].get<std::vector<int32_t>>();
    r.repeat_next = j["repeat_next"].get<std::vector<int32_t>>();
    r.suffix = j["suffix"].get<std::vector<int32_t>>();
    return r;
  }

  static nlohmann::json* golden_;
  static Model* model_;
};

nlohmann::json* PressCatalogueGoldens::golden_ = nullptr;
Model* PressCatalogueGoldens::model_ = nullptr;

TEST_F(PressCatalogueGoldens, AdaKv) { RunCases("adakv"); }
TEST_F(PressCatalogueGoldens, PyramidKv) { RunCases("pyramidkv"); }
TEST_F(PressCatalogueGoldens, PerLayer) { RunCases("per_layer"); }
// composed: every difference from upstream comes from knorm's exact ties. In layer 0 a key is a
// function of its token alone, so repeated tokens have equal pre-RoPE norms: ours tie exactly (recency
// decides), upstream's post-RoPE norms differ by rounding noise (~1e-7 relative) that decides for it.
// A tie at knorm's cut then changes what the next stage sees: which repeated token streaming_llm →
// knorm keeps, and for knorm → keydiff the surviving keys whose mean is keydiff's anchor. The goldens
// record every stage's band and the heads where a non-final stage cut inside a band (tie_heads):
// there only the sizes are compared, and greedy ids are required equal only when no head depends on
// a tie (composed(streaming_llm,knorm) at 0.75 diverges at token 13 through layer 0's choice).
TEST_F(PressCatalogueGoldens, Composed) {
  RunCases("composed");
}
TEST_F(PressCatalogueGoldens, Decoding) { RunCases("decoding"); }
// entropy_gated_chunkkv(knorm): chunks of 10, spiky important chunks keep 4 slots.
TEST_F(PressCatalogueGoldens, EntropyGatedChunkKv) { RunCases("entropy_gated_chunkkv"); }
// block(keydiff): the anchor is recomputed on each block's sub-cache (kept slots + next block).
TEST_F(PressCatalogueGoldens, Block) { RunCases("block"); }
// think: the pruned key channels of every (layer, KV head), zero over the context's keys in both
// (ours stores them thin and widens them with zeros); their bytes freed exactly.
TEST_F(PressCatalogueGoldens, Think) { RunCases("think"); }
// dms (issue 15): threshold rule, prefill only and with decoding=1.
TEST_F(PressCatalogueGoldens, Dms) { RunCases("dms"); }
// criticalkv / criticaladakv (issue 14): scores rescaled by the W_o-projected value norms.
TEST_F(PressCatalogueGoldens, CriticalKv) { RunCases("criticalkv("); }
TEST_F(PressCatalogueGoldens, CriticalAdaKv) { RunCases("criticaladakv("); }
// key_rerotation (issue 14): kept sets, compacted positions, re-rotated keys, ids.
TEST_F(PressCatalogueGoldens, KeyRerotation) { RunCases("key_rerotation("); }
// finch (issue 14): the question's text prefilled with the context (query_ids, its window), kept
// sets over context + question, compacted positions, re-rotated keys, then the template's suffix.
TEST_F(PressCatalogueGoldens, Finch) { RunCases("finch"); }
TEST_F(PressCatalogueGoldens, CompressionRatioDecoding) { RunCases("compression_ratio_decoding"); }
TEST_F(PressCatalogueGoldens, PrefillDecoding) { RunCases("prefill_decoding"); }
TEST_F(PressCatalogueGoldens, Chunk) { RunCases("chunk("); }
TEST_F(PressCatalogueGoldens, ChunkKv) { RunCases("chunkkv("); }
TEST_F(PressCatalogueGoldens, SimLayerKv) { RunCases("simlayerkv"); }
// Catalogue part 2: scorers (issue 15).
TEST_F(PressCatalogueGoldens, ExpectedAttention) { RunCases("expected_attention"); }
TEST_F(PressCatalogueGoldens, Cur) { RunCases("cur"); }
TEST_F(PressCatalogueGoldens, QFilter) { RunCases("qfilter"); }
TEST_F(PressCatalogueGoldens, NonCausalAttention) { RunCases("non_causal_attention"); }
TEST_F(PressCatalogueGoldens, Cap) { RunCases("cap"); }
// Catalogue part 2 (issue 15, presses15c).
TEST_F(PressCatalogueGoldens, Compactor) { RunCases("compactor"); }
TEST_F(PressCatalogueGoldens, Merging) { RunCases("merging"); }
TEST_F(PressCatalogueGoldens, Cam) { RunCases("cam("); }
// kvzip (issue 15): context replay after the prefill, global and layerwise pruning.
TEST_F(PressCatalogueGoldens, Kvzip) { RunCases("kvzip"); }
// The replay prompts ours builds from SmolLM2's tokenizer and chat template equal upstream's.
// kvzap (issue 15) with generated MLP weights: alone at each ratio, and inside dms (the thresholds
// at the quartiles of its scores on this context).
TEST_F(PressCatalogueGoldens, Kvzap) { RunCases("kvzap"); }
TEST_F(PressCatalogueGoldens, DmsKvzap) { RunCases("dms(kvzap"); }
// lukv (issue 15) with a generated budget curve, expected_attention and knorm inside.
TEST_F(PressCatalogueGoldens, Lukv) { RunCases("lukv"); }
// fastkvzip with gates drawn by the golden script (regenerated here) and duo_attention on the fly
// (upstream's estimate fed the golden context as its only sample) and from a patterns file.
TEST_F(PressCatalogueGoldens, FastKvzip) { RunCases("fastkvzip"); }
TEST_F(PressCatalogueGoldens, DuoAttention) { RunCases("duo_attention"); }
TEST_F(PressCatalogueGoldens, KvzipReplayPrompts) {
  const nlohmann::json* want = nullptr;
  for (const auto& c : (*golden_)["cases"]) {
    if (c.contains("replay")) want = &c["replay"];
  }
  ASSERT_NE(want, nullptr) << "missing smollm2_135m_kvzip.json";
  auto tok = LoadTokenizerFor(*model_, "");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto cfg = LoadChatTemplateConfigFor(*model_, "");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto chat = ChatTemplate::FromConfig(*cfg, "", false);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  auto got = ContextReplayPromptsFor(**tok, &*chat, cfg->special_tokens);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const ContextReplayPrompts w = ReplayFromJson(*want);
  EXPECT_EQ(got->prefix_length, w.prefix_length);
  EXPECT_EQ(got->repeat_first, w.repeat_first);
  EXPECT_EQ(got->repeat_next, w.repeat_next);
  EXPECT_EQ(got->suffix, w.suffix);
}

}  // namespace
}  // namespace kvpress
