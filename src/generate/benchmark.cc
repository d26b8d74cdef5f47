#include "generate/benchmark.h"

#include <algorithm>
#include <optional>
#include <random>

#include "core/thread_pool.h"
#include "core/timer.h"
#include "generate/metrics.h"
#include "generate/session.h"
#include "model/transformer.h"
#include "ops/bandwidth.h"
#include "ops/matmul.h"

namespace kvpress {
namespace {

// The middle value of `v` (the upper one of the two middles for an even count); v non-empty.
double UpperMedian(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

StatusOr<nlohmann::json> RunBenchmark(const Model& model, const BenchmarkOptions& o) {
  if (o.prompt_tokens < 1 || o.decode_tokens < 1)
    return InvalidArgument("benchmark needs >= 1 prompt and decode token");
  if (o.batch < 1) return InvalidArgument("--batch must be >= 1");
  if (o.batch > 1 && o.press != nullptr)
    return InvalidArgument("--batch > 1 measures plain decoding: drop --press");
  const ModelConfig& c = model.config;
  const int threads = o.threads > 0 ? o.threads : DefaultThreadCount();
  Transformer t(model, threads);
  std::mt19937 rng(42);
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt_tokens));
  std::vector<int32_t> pos(prompt.size());
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
    pos[i] = static_cast<int32_t>(i);
  }
  if (o.prefill_reps < 1) return InvalidArgument("prefill reps must be >= 1");
  std::vector<float> logits;
  // Warm-up, untimed (as llama-bench): page in the weights, size the buffers, start the threads.
  {
    KVCache warm = t.NewCache(o.kv_dtype);
    const size_t n = std::min<size_t>(prompt.size(), 16);
    RETURN_IF_ERROR(t.Forward({prompt.data(), n}, {pos.data(), n}, warm, ForwardOptions{}, logits));
  }
  // Prefill reps on fresh caches; the last one leaves the cache the decode steps run on. With a
  // press only that one is timed (the press keeps state across a run).
  std::vector<double> prefills;
  const int reps = o.press != nullptr ? 1 : o.prefill_reps;
  for (int rep = 1; rep < reps; ++rep) {
    KVCache scratch = t.NewCache(o.kv_dtype);
    const Stopwatch prefill;
    RETURN_IF_ERROR(t.Forward(prompt, pos, scratch, ForwardOptions{}, logits));
    prefills.push_back(prefill.Elapsed());
  }
  KVCache cache = t.NewCache(o.kv_dtype);
  ForwardOptions fwd;
  fwd.hook = o.press;
  if (o.press != nullptr) RETURN_IF_ERROR(o.press->Attach(c));
  const Stopwatch prefill;
  RETURN_IF_ERROR(ForwardPrefill(t, prompt, pos, cache, fwd, o.press_chunk, logits));
  prefills.push_back(prefill.Elapsed());
  const double prefill_s = UpperMedian(prefills);

  // The roofline's bandwidth is probed before the decode steps and after each of (up to)
  // kRooflineWindows windows of them, and each window is set against the better of its two probes:
  // a shared machine's bandwidth moves with its neighbours' load (the Zen 4 host of the README
  // reads 33-36 GB/s in quiet minutes and 54-62 in bursts), and one probe in a burst set against
  // steps outside it, or the reverse, made the fraction swing from 0.5 to 1.4 between runs of one
  // build. The fraction reported is the median of the windows'.
  constexpr int kRooflineWindows = 4;
  constexpr int kProbeRepeats = 3;  // best of 3 reads per probe
  std::optional<ReadBandwidthProbe> probe;
  std::vector<double> probes;  // bytes/s: before the steps, then after each window
  if (o.measure_bandwidth) {
    probe.emplace(o.bandwidth_bytes, threads);
    probes.push_back(probe->Measure(kProbeRepeats));
  }
  const int window_steps = std::max(1, (o.decode_tokens + kRooflineWindows - 1) / kRooflineWindows);
  std::vector<size_t> window_ends;  // steps.size() after each window
  std::vector<double> steps, press_steps;
  int32_t next = static_cast<int32_t>(prompt.size());
  if (o.press != nullptr && o.press->RenumbersPositions()) next = cache.NextPosition();
  fwd.phase = ForwardPhase::kDecode;
  // --batch B: B - 1 more sequences (same prompt), then every step decodes all B together.
  std::vector<KVCache> extra(static_cast<size_t>(o.batch - 1), cache);
  std::vector<KVCache*> caches = {&cache};
  for (KVCache& e : extra) caches.push_back(&e);
  const std::vector<LayerHook*> hooks(caches.size(), nullptr);
  std::vector<int32_t> batch_tokens(caches.size()), batch_positions(caches.size());
  const size_t V = static_cast<size_t>(c.vocab_size);
  for (int i = 0; o.batch > 1 && i < o.decode_tokens; ++i) {
    for (size_t b = 0; b < caches.size(); ++b) {
      const auto row =
          logits.begin() + static_cast<std::ptrdiff_t>((logits.size() == V ? 0 : b) * V);
      batch_tokens[b] =
          static_cast<int32_t>(std::max_element(row, row + static_cast<std::ptrdiff_t>(V)) - row);
      batch_positions[b] = next;
    }
    const Stopwatch step;
    RETURN_IF_ERROR(t.ForwardBatch(batch_tokens, batch_positions, caches, hooks,
                                   ForwardPhase::kDecode, logits));
    steps.push_back(step.Elapsed());
    ++next;
  }
  for (int i = 0; o.batch == 1 && i < o.decode_tokens; ++i) {
    const int32_t tok =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    const double press_before = o.press != nullptr ? o.press->times().decoding_seconds : 0.0;
    const Stopwatch step;
    RETURN_IF_ERROR(t.Forward({&tok, 1}, {&next, 1}, cache, fwd, logits));
    steps.push_back(step.Elapsed());
    if (o.press != nullptr) press_steps.push_back(o.press->times().decoding_seconds - press_before);
    ++next;
    if (o.press != nullptr && o.press->RenumbersPositions()) next = cache.NextPosition();
    if (probe && ((i + 1) % window_steps == 0 || i + 1 == o.decode_tokens)) {
      probes.push_back(probe->Measure(kProbeRepeats));
      window_ends.push_back(steps.size());
    }
  }
  const double median = UpperMedian(steps);
  double total = 0;
  for (double s : steps) total += s;
  const size_t weight_bytes = model.weights.MatrixBytes();
  nlohmann::json j = {
      {"model", model.path},
      {"simd_target", SimdTargetName()},
      {"threads", threads},
      {"weight_dtype",
       DTypeName(model.weights.layers.empty() ? DType::kF32 : model.weights.layers[0].wq.dtype)},
      {"weight_bytes_per_token", weight_bytes},
      // Where the weights live (model/weight_placement.h): huge pages decode faster than the
      // 4 KiB pages of a file mapping; the resident huge-page bytes say what the kernel granted.
      {"weights_in_huge_pages", model.placement.in_huge_pages},
      {"weight_huge_page_bytes",
       model.weights.resident ? model.weights.resident->HugeBytesResident() : 0},
      {"prompt_tokens", o.prompt_tokens},
      {"decode_tokens", o.decode_tokens},
      {"prefill_time", prefill_s},
      {"prefill_reps", static_cast<int>(prefills.size())},
      {"prefill_tokens_per_second", o.prompt_tokens / prefill_s},
      {"batch", o.batch},
      {"decode_step_median_s", median},
      {"decode_tokens_per_second", o.batch * o.decode_tokens / total},
      {"decode_tokens_per_second_median", o.batch / median},
      {"kv_bytes_live", cache.LiveBytes()},
      {"kv_bytes_peak", cache.PeakBytes()},
      {"rss_peak_bytes", PeakRssBytes()},
  };
  if (o.press != nullptr) {
    double press_total = 0;
    for (double v : press_steps) press_total += v;
    j["press"] = o.press->Name();
    j["cache_budget"] = o.press->budget().cache_budget;
    j["prefill_chunk"] = o.press_chunk;
    j["kv_tokens_per_head_max"] = cache.PeakHeadSlots();
    j["press_seconds_per_step_median"] = UpperMedian(press_steps);
    j["press_seconds_per_step_mean"] = press_total / static_cast<double>(press_steps.size());
    j["press_overhead_fraction"] = press_total / total;  // press code time / decode step time
  }
  if (o.measure_bandwidth) {
    if (o.batch > 1) probes.push_back(probe->Measure(kProbeRepeats));
    const double bw = *std::max_element(probes.begin(), probes.end());
    j["read_bandwidth_bytes_per_second"] = bw;
    j["read_bandwidth_probes"] = probes;
    j["roofline_decode_tokens_per_second"] = bw / static_cast<double>(weight_bytes);
    // One sequence's steps against the roofline (with --batch the weights serve B tokens per read),
    // window by window: median step of the window × bytes per token ÷ the window's bandwidth.
    if (o.batch == 1) {
      std::vector<double> fractions;
      size_t begin = 0;
      for (size_t w = 0; w < window_ends.size(); ++w) {
        const double window_median =
            UpperMedian({steps.begin() + static_cast<std::ptrdiff_t>(begin),
                         steps.begin() + static_cast<std::ptrdiff_t>(window_ends[w])});
        begin = window_ends[w];
        const double window_bw = std::max(probes[w], probes[w + 1]);
        fractions.push_back(static_cast<double>(weight_bytes) / window_median / window_bw);
      }
      j["decode_fraction_of_roofline_windows"] = fractions;
      std::sort(fractions.begin(), fractions.end());
      const size_t m = fractions.size();
      j["decode_fraction_of_roofline"] =
          m % 2 == 1 ? fractions[m / 2] : (fractions[m / 2 - 1] + fractions[m / 2]) / 2;
    }
  }
  return j;
}

}  // namespace kvpress
