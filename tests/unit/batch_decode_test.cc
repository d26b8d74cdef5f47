// Batched decoding (generate/batch_decode) against the one-sequence path: for every press, several
// prompts of different lengths decoded together give exactly the tokens, stop reasons and KV
// accounting of decoding each alone, and the batched forward's logits match single forwards.
#include <algorithm>
#include <gtest/gtest.h>

#include <random>

#include "generate/batch_decode.h"
#include "generate/benchmark.h"
#include "model/model.h"
#include "press/press_spec.h"
#include "press/registry.h"
#include "test_util.h"

namespace kvpress {
namespace {

using testing::Fixture;

std::unique_ptr<Model> LoadFixture(const char* name) {
  auto m = LoadModel(Fixture(std::string("models/") + name));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<std::vector<int32_t>> Prompts(int vocab) {
  std::mt19937 rng(7);
  std::vector<std::vector<int32_t>> prompts;
  for (int len : {5, 23, 41, 12}) {
    std::vector<int32_t> p;
    for (int i = 0; i < len; ++i) p.push_back(static_cast<int32_t>(rng() % static_cast<unsigned>(vocab)));
    prompts.push_back(p);
  }
  return prompts;
}

std::unique_ptr<Press> MakePress(const std::string& spec_text, int budget) {
  if (spec_text.empty()) return nullptr;
  auto spec = ParsePressSpec(spec_text);
  EXPECT_TRUE(spec.ok());
  spec->budget = BudgetPolicy{.cache_budget = budget};
  spec->seed = 3;
  auto press = CreatePress(*spec);
  EXPECT_TRUE(press.ok()) << press.status().ToString();
  return std::move(press).value();
}

class BatchDecodeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchDecodeTest, SameTokensAsOneAtATime) {
  auto model = LoadFixture("llama_gqa_rope3_f32");
  ASSERT_TRUE(model);
  // With 2 threads the batched groups attend concurrently (Transformer::ForwardRows).
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    Transformer transformer(*model, threads);
    const auto prompts = Prompts(model->config.vocab_size);
    const int budget = 16;
    std::vector<std::unique_ptr<Press>> single_presses, batch_presses;
    std::vector<GenerateOptions> options(prompts.size());
    std::vector<GenerateResult> singles;
    for (size_t i = 0; i < prompts.size(); ++i) {
      options[i].max_new_tokens = 24 + 8 * static_cast<int>(i);  // sequences leave the batch at different steps
      options[i].stop_ids = {static_cast<int32_t>(i == 1 ? 7 : -1)};
      single_presses.push_back(MakePress(GetParam(), budget));
      options[i].press = single_presses.back().get();
      auto r = Generate(transformer, prompts[i], options[i]);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      singles.push_back(std::move(r).value());
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      batch_presses.push_back(MakePress(GetParam(), budget));
      options[i].press = batch_presses.back().get();
    }
    auto batched = GenerateBatch(transformer, prompts, options);
    ASSERT_TRUE(batched.ok()) << batched.status().ToString();
    ASSERT_EQ(batched->size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      const GenerateResult& a = singles[i];
      const GenerateResult& b = (*batched)[i];
      EXPECT_EQ(a.tokens, b.tokens) << "sequence " << i;
      EXPECT_EQ(a.finish_reason, b.finish_reason) << "sequence " << i;
      EXPECT_EQ(a.kept_per_layer, b.kept_per_layer) << "sequence " << i;
      EXPECT_EQ(a.metrics.kv_bytes_peak, b.metrics.kv_bytes_peak);
      EXPECT_EQ(a.metrics.kv_bytes_live, b.metrics.kv_bytes_live);
      EXPECT_EQ(a.metrics.evictions, b.metrics.evictions);
      EXPECT_EQ(a.metrics.total_decoding_tokens, b.metrics.total_decoding_tokens);
      EXPECT_GT(b.metrics.decoding_time, 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Presses, BatchDecodeTest,
                         ::testing::Values("", "knorm", "streaming_llm", "h2o", "snapkv_d", "tova", "keydiff", "rkv",
                                           "random"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.empty() ? std::string("none") : p.param;
                         });

TEST(ForwardBatch, LogitsMatchSingleForwards) {
  auto model = LoadFixture("qwen3_qknorm_f32");
  ASSERT_TRUE(model);
  Transformer transformer(*model, 2);
  const auto prompts = Prompts(model->config.vocab_size);
  std::vector<KVCache> caches;
  std::vector<KVCache> reference;
  std::vector<float> logits;
  for (const auto& p : prompts) {
    caches.push_back(transformer.NewCache());
    std::vector<int32_t> pos(p.size());
    for (size_t i = 0; i < p.size(); ++i) pos[i] = static_cast<int32_t>(i);
    ASSERT_TRUE(transformer.Forward(p, pos, caches.back(), ForwardOptions{}, logits).ok());
  }
  reference = caches;
  std::vector<int32_t> tokens, positions;
  std::vector<KVCache*> ptrs;
  std::vector<LayerHook*> hooks(prompts.size(), nullptr);
  for (size_t b = 0; b < prompts.size(); ++b) {
    tokens.push_back(static_cast<int32_t>(b + 3));
    positions.push_back(static_cast<int32_t>(prompts[b].size()));
    ptrs.push_back(&caches[b]);
  }
  std::vector<float> batched;
  ASSERT_TRUE(transformer.ForwardBatch(tokens, positions, ptrs, hooks, ForwardPhase::kDecode, batched).ok());
  const size_t V = static_cast<size_t>(model->config.vocab_size);
  ASSERT_EQ(batched.size(), prompts.size() * V);
  for (size_t b = 0; b < prompts.size(); ++b) {
    const int32_t tok[1] = {tokens[b]}, pos[1] = {positions[b]};
    ASSERT_TRUE(transformer.Forward(tok, pos, reference[b], ForwardOptions{}, logits).ok());
    const std::vector<float> row(batched.begin() + static_cast<std::ptrdiff_t>(b * V),
                                 batched.begin() + static_cast<std::ptrdiff_t>((b + 1) * V));
    EXPECT_LT(testing::RelativeError(row, logits), 1e-5) << "sequence " << b;
    EXPECT_EQ(caches[b].Size(0, 0), reference[b].Size(0, 0));
  }
  // Mismatched lengths are rejected.
  EXPECT_FALSE(transformer.ForwardBatch(tokens, std::span<const int32_t>(positions).first(1), ptrs, hooks,
                                        ForwardPhase::kDecode, batched)
                   .ok());
}

// Continuous batching: 4 prompts through a batch of width 2 (finished sequences are replaced).
TEST(DecodeContinuous, RefillsFreedPlacesWithTheSameTokens) {
  auto model = LoadFixture("llama_gqa_rope3_f32");
  ASSERT_TRUE(model);
  Transformer transformer(*model, 1);
  const auto prompts = Prompts(model->config.vocab_size);
  std::vector<GenerateOptions> options(prompts.size());
  std::vector<std::unique_ptr<Press>> presses;
  std::vector<std::vector<int32_t>> expected;
  for (size_t i = 0; i < prompts.size(); ++i) {
    options[i].max_new_tokens = 40 - 9 * static_cast<int>(i);
    presses.push_back(MakePress("h2o", 12));
    options[i].press = presses.back().get();
    expected.push_back(Generate(transformer, prompts[i], options[i]).value().tokens);
    presses.back() = MakePress("h2o", 12);
    options[i].press = presses.back().get();
  }
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::vector<int32_t>> got(prompts.size());
  size_t given = 0;
  int max_in_flight = 0, in_flight = 0;
  const NextSequenceFn next = [&]() -> StatusOr<std::optional<BatchSequence>> {
    if (given == prompts.size()) return std::optional<BatchSequence>();
    const size_t i = given++;
    sessions.push_back(std::make_unique<Session>(transformer, options[i].press, DType::kF32));
    BatchSequence seq;
    seq.session = sessions.back().get();
    RETURN_IF_ERROR(seq.session->Prefill(prompts[i], ForwardPhase::kPrefill, seq.logits));
    seq.options = MakeDecodeLoopOptions(options[i], prompts[i]);
    max_in_flight = std::max(max_in_flight, ++in_flight);
    return std::optional<BatchSequence>(std::move(seq));
  };
  const SequenceDoneFn done = [&](BatchSequence& seq, DecodeResult r) -> Status {
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (sessions[i].get() == seq.session) got[i] = r.tokens;
    }
    --in_flight;
    return Status::Ok();
  };
  ASSERT_TRUE(DecodeContinuous(transformer, 2, next, done).ok());
  EXPECT_EQ(max_in_flight, 2);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "sequence " << i;
}

// Serving: sequences arrive while others decode. `next` has nothing at first (nullopt), then hands
// one sequence every 5 steps; each joins the running batch and still gets its tokens alone.
TEST(DecodeServing, LateArrivalsJoinTheBatchWithTheSameTokens) {
  auto model = LoadFixture("llama_gqa_rope3_f32");
  ASSERT_TRUE(model);
  Transformer transformer(*model, 1);
  const auto prompts = Prompts(model->config.vocab_size);
  std::vector<GenerateOptions> options(prompts.size());
  std::vector<std::unique_ptr<Press>> presses;
  std::vector<std::vector<int32_t>> expected;
  for (size_t i = 0; i < prompts.size(); ++i) {
    options[i].max_new_tokens = 30;
    presses.push_back(MakePress(i % 2 ? "snapkv" : "streaming_llm", 8 + 4 * static_cast<int>(i)));
    options[i].press = presses.back().get();
    expected.push_back(Generate(transformer, prompts[i], options[i]).value().tokens);
    presses.back() = MakePress(i % 2 ? "snapkv" : "streaming_llm", 8 + 4 * static_cast<int>(i));
    options[i].press = presses.back().get();
  }
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<std::vector<int32_t>> got(prompts.size());
  size_t given = 0;
  int asked = 0, steps = 0, max_batch = 0, asked_empty = 0;
  const NextSequenceFn next = [&]() -> StatusOr<std::optional<BatchSequence>> {
    ++asked;
    // The first sequence at once; the others at steps 5, 10, 15; nothing in between.
    if (given == prompts.size() || (given > 0 && steps < 5 * static_cast<int>(given))) {
      ++asked_empty;
      return std::optional<BatchSequence>();
    }
    const size_t i = given++;
    sessions.push_back(std::make_unique<Session>(transformer, options[i].press, DType::kF32));
    BatchSequence seq;
    seq.session = sessions.back().get();
    RETURN_IF_ERROR(seq.session->Prefill(prompts[i], ForwardPhase::kPrefill, seq.logits));
    seq.options = MakeDecodeLoopOptions(options[i], prompts[i]);
    return std::optional<BatchSequence>(std::move(seq));
  };
  const SequenceDoneFn done = [&](BatchSequence& seq, DecodeResult r) -> Status {
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (sessions[i].get() == seq.session) got[i] = r.tokens;
    }
    return Status::Ok();
  };
  const StepFn on_step = [&](int batch, double seconds) {
    ++steps;
    max_batch = std::max(max_batch, batch);
    EXPECT_GE(seconds, 0.0);
  };
  ASSERT_TRUE(DecodeServing(transformer, 4, next, done, on_step).ok());
  EXPECT_EQ(given, prompts.size());  // asked again after "none now"
  EXPECT_GT(asked_empty, 10);
  EXPECT_EQ(max_batch, 4);           // all four overlapped at some step
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "sequence " << i;
  // With nothing to do it returns at once, without a step.
  const NextSequenceFn none = []() -> StatusOr<std::optional<BatchSequence>> { return std::optional<BatchSequence>(); };
  steps = 0;
  ASSERT_TRUE(DecodeServing(transformer, 4, none, done, on_step).ok());
  EXPECT_EQ(steps, 0);
}

TEST(BenchmarkBatch, ReportsAllSequencesTokens) {
  auto model = LoadFixture("mistral_gqa_f32");
  ASSERT_TRUE(model);
  BenchmarkOptions o;
  o.prompt_tokens = 8;
  o.decode_tokens = 4;
  o.threads = 1;
  o.measure_bandwidth = false;
  o.batch = 3;
  auto j = RunBenchmark(*model, o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["batch"], 3);
  EXPECT_GT((*j)["decode_tokens_per_second"].get<double>(), 0.0);
  auto press = MakePress("knorm", 4);
  o.press = press.get();
  EXPECT_FALSE(RunBenchmark(*model, o).ok());  // batched bench measures plain decoding only
}

// The roofline is probed before the steps and after each window of them (six steps: three windows
// of two), and the reported fraction is the median of the windows' own fractions, each window
// against the better of the probes on either side of it.
TEST(BenchmarkRoofline, EachWindowAgainstItsOwnProbes) {
  auto model = LoadFixture("mistral_gqa_f32");
  ASSERT_TRUE(model);
  BenchmarkOptions o;
  o.prompt_tokens = 4;
  o.decode_tokens = 6;
  o.threads = 1;
  o.bandwidth_bytes = size_t{8} << 20;
  auto j = RunBenchmark(*model, o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  const auto probes = (*j)["read_bandwidth_probes"].get<std::vector<double>>();
  const auto windows = (*j)["decode_fraction_of_roofline_windows"].get<std::vector<double>>();
  ASSERT_EQ(probes.size(), 4u);
  ASSERT_EQ(windows.size(), 3u);
  for (double p : probes) EXPECT_GT(p, 0.0);
  EXPECT_EQ((*j)["read_bandwidth_bytes_per_second"].get<double>(),
            *std::max_element(probes.begin(), probes.end()));
  std::vector<double> sorted = windows;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GT(sorted[0], 0.0);
  EXPECT_EQ((*j)["decode_fraction_of_roofline"].get<double>(), sorted[1]);
}

}  // namespace
}  // namespace kvpress
