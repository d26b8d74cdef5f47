// Micro-benchmarks of the matmul kernels (SIMD vs scalar reference, per dtype) and of decoding
// attention over one KV head (AttendGroup: a GQA group of 3; AttendHead: one query head).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kv/kv_cache.h"
#include "ops/attention.h"
#include "ops/attention_group.h"
#include "ops/matmul.h"
#include "ops/quantize.h"

namespace kvpress {
namespace {

void BM_MatMul(benchmark::State& state, DType t, bool reference) {
  const int rows = 1024, cols = 1024, n = static_cast<int>(state.range(0));
  std::vector<uint8_t> w(RowBytes(t, cols) * rows);
  std::mt19937 rng(1);
  for (auto& b : w) b = static_cast<uint8_t>(rng() & 0x3f);  // small finite values in every dtype
  MatrixView view{t, rows, cols, w.data(), RowBytes(t, cols)};
  std::vector<float> x(static_cast<size_t>(n) * cols, 0.5f), y(static_cast<size_t>(n) * rows);
  for (auto _ : state) {
    if (reference) MatMulReference(view, x.data(), n, y.data());
    else MatMul(view, x.data(), n, y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(view.Bytes()));
  state.SetLabel(reference ? "scalar" : SimdTargetName());
}

BENCHMARK_CAPTURE(BM_MatMul, f32, DType::kF32, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, bf16, DType::kBF16, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, f16, DType::kF16, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, q8_0, DType::kQ8_0, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, q4_0, DType::kQ4_0, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, q4_k, DType::kQ4_K, false)->Arg(1)->Arg(4);
BENCHMARK_CAPTURE(BM_MatMul, q6_k, DType::kQ6_K, false)->Arg(1)->Arg(4);
// `row` stored as t at `out` (RowBytes(t, row.size()) bytes).
void StoreRow(DType t, const std::vector<float>& row, uint8_t* out) {
  if (t == DType::kF32) {
    std::memcpy(out, row.data(), row.size() * 4);
  } else if (t == DType::kF16 || t == DType::kBF16) {
    auto* h = reinterpret_cast<uint16_t*>(out);
    for (size_t i = 0; i < row.size(); ++i) h[i] = t == DType::kF16 ? F32ToF16(row[i]) : F32ToBF16(row[i]);
  } else {
    QuantizeRow(t, row.data(), out, row.size());
  }
}

// Prefill shapes (SmolLM2-135M: hidden 576, intermediate 1536) at 512 tokens, one thread:
// items/s = multiply-adds/s (GFLOP/s = 2 × items/s / 1e9).
void BM_MatMulPrefill(benchmark::State& state, DType t, bool f32_activations = false, bool cold = false) {
  SetQuantizedActivations(!f32_activations);
  const int rows = static_cast<int>(state.range(0)), cols = static_cast<int>(state.range(1)),
            n = static_cast<int>(state.range(2));
  const int threads = state.range(3) > 0 ? static_cast<int>(state.range(3)) : 1;
  // cold: the weights in as many copies as make 192 MB, used in turn, so that each call reads them
  // from memory as a decoding step does (a model is far larger than the L3).
  const size_t matrix_bytes = RowBytes(t, cols) * rows;
  const size_t copies = cold ? (size_t{192} << 20) / matrix_bytes + 1 : 1;
  // Weights N(0, 0.05) stored as t (random bytes would make subnormal f32/bf16 values, which cost
  // microcode assists no real checkpoint has).
  std::vector<uint8_t> w(matrix_bytes * copies);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int r = 0; r < rows; ++r) {
    for (auto& v : row) v = normal(rng);
    StoreRow(t, row, w.data() + RowBytes(t, cols) * r);
  }
  for (size_t c = 1; c < copies; ++c) std::memcpy(w.data() + c * matrix_bytes, w.data(), matrix_bytes);
  std::vector<float> x(static_cast<size_t>(n) * cols), y(static_cast<size_t>(n) * rows);
  for (auto& v : x) v = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
  size_t next = 0;
  for (auto _ : state) {
    MatrixView view{t, rows, cols, w.data() + next * matrix_bytes, RowBytes(t, cols)};
    next = (next + 1) % copies;
    MatMul(view, x.data(), n, y.data(), threads);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * rows * cols * n);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(matrix_bytes));
  state.SetLabel(SimdTargetName());
  SetQuantizedActivations(true);
}
// Args: rows, cols, tokens, threads (0 = 1). The 0.35B preset's down projection (1024 × 2816) at
// one and two threads shows what the second core adds; at 16 tokens, batched decoding.
#define KVPRESS_PREFILL_SHAPES ->Args({576, 576, 512, 0})->Args({1536, 576, 512, 0})->Args({576, 1536, 512, 0})->Args({1536, 576, 16, 0})->Args({1024, 1024, 16, 0})->Args({1024, 1024, 8, 0})->Args({1024, 1024, 4, 0})->Args({1024, 2816, 16, 0})->Args({1024, 2816, 512, 1})->Args({1024, 2816, 512, 2})->UseRealTime()
BENCHMARK_CAPTURE(BM_MatMulPrefill, f32, DType::kF32) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, bf16, DType::kBF16) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, f16, DType::kF16) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q8_0, DType::kQ8_0) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q4_0, DType::kQ4_0) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q4_k, DType::kQ4_K) ->Args({576, 1536, 512, 0})->Args({2816, 1024, 1, 2})->Args({2816, 1024, 1, 1});
BENCHMARK_CAPTURE(BM_MatMulPrefill, q5_0, DType::kQ5_0) ->Args({576, 576, 512, 0})->Args({1536, 576, 512, 0});
BENCHMARK_CAPTURE(BM_MatMulPrefill, q6_k, DType::kQ6_K) ->Args({576, 1536, 512, 0});
// From memory (cold), two threads: batched decoding's 16 tokens and one token, bytes/s = weight bytes.
#define KVPRESS_COLD_SHAPES ->Args({1024, 2816, 16, 1})->Args({1024, 2816, 16, 2})->Args({1024, 2816, 1, 2})->Args({2816, 1024, 1, 2})->Args({2816, 1024, 1, 1})->UseRealTime()
BENCHMARK_CAPTURE(BM_MatMulPrefill, q8_0_cold, DType::kQ8_0, false, true) KVPRESS_COLD_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q4_0_cold, DType::kQ4_0, false, true) KVPRESS_COLD_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q4_k_cold, DType::kQ4_K, false, true) KVPRESS_COLD_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q6_k_cold, DType::kQ6_K, false, true) KVPRESS_COLD_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, bf16_cold, DType::kBF16, false, true) KVPRESS_COLD_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q8_0_f32act, DType::kQ8_0, true) KVPRESS_PREFILL_SHAPES;
BENCHMARK_CAPTURE(BM_MatMulPrefill, q4_k_f32act, DType::kQ4_K, true) ->Args({576, 1536, 512, 0});

BENCHMARK_CAPTURE(BM_MatMul, bf16_scalar_reference, DType::kBF16, true)->Arg(1);

// The 0.35B preset's Q, K and V projections (1024, 512 and 512 rows × 1024) of one input from
// memory (cold, as in BM_MatMulPrefill), two threads: one MatMulMany region (fused) against three
// MatMul calls, side by side in one run. Arg: tokens (1 decoding, 16 batched decoding).
void BM_QkvProjection(benchmark::State& state, DType t, bool fused) {
  const int n = static_cast<int>(state.range(0)), cols = 1024, threads = 2;
  const int rows[3] = {1024, 512, 512};
  size_t set_bytes = 0;  // Q, K and V back to back
  for (int r : rows) set_bytes += RowBytes(t, cols) * r;
  const size_t copies = (size_t{192} << 20) / set_bytes + 1;
  std::vector<uint8_t> w(set_bytes * copies);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int r = 0; r < 2048; ++r) {
    for (auto& v : row) v = normal(rng);
    StoreRow(t, row, w.data() + RowBytes(t, cols) * r);
  }
  for (size_t c = 1; c < copies; ++c) std::memcpy(w.data() + c * set_bytes, w.data(), set_bytes);
  std::vector<float> x(static_cast<size_t>(n) * cols);
  for (auto& v : x) v = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
  std::vector<float> y[3];
  for (int i = 0; i < 3; ++i) y[i].resize(static_cast<size_t>(n) * rows[i]);
  size_t next = 0;
  for (auto _ : state) {
    const uint8_t* base = w.data() + next * set_bytes;
    next = (next + 1) % copies;
    MatrixView views[3];
    MatMulTarget targets[3];
    for (int i = 0; i < 3; ++i) {
      views[i] = MatrixView{t, rows[i], cols, base, RowBytes(t, cols)};
      base += RowBytes(t, cols) * rows[i];
      targets[i] = MatMulTarget{&views[i], y[i].data()};
    }
    if (fused) {
      MatMulMany(targets, x.data(), n, threads);
    } else {
      for (int i = 0; i < 3; ++i) MatMul(views[i], x.data(), n, y[i].data(), threads);
    }
    benchmark::DoNotOptimize(y[0].data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(set_bytes));
  state.SetLabel(SimdTargetName());
}
BENCHMARK_CAPTURE(BM_QkvProjection, q8_0_fused, DType::kQ8_0, true)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_QkvProjection, q8_0_three_calls, DType::kQ8_0, false)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_QkvProjection, bf16_fused, DType::kBF16, true)->Arg(1)->Arg(16)->UseRealTime();
BENCHMARK_CAPTURE(BM_QkvProjection, bf16_three_calls, DType::kBF16, false)->Arg(1)->Arg(16)->UseRealTime();

// One decode query over a KV head of `n` slots (head_dim 64) with full keys: AttendGroup for a GQA
// group of `group` heads (3: SmolLM2; 2: the 0.35B preset), or AttendHead for one head (group 0).
void BM_Attend(benchmark::State& state, DType t, int group) {
  const int hd = 64, n = static_cast<int>(state.range(0)), groups = group > 0 ? group : 1;
  std::vector<uint8_t> keys(RowBytes(t, hd) * n), values(keys.size());
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (size_t i = 0; i < static_cast<size_t>(n) * hd; ++i) {  // normal floats (no denormals)
    for (auto* buf : {&keys, &values}) {
      const float x = dist(rng);
      if (t == DType::kF32) {
        std::memcpy(buf->data() + 4 * i, &x, 4);
      } else {
        const uint16_t b = t == DType::kF16 ? F32ToF16(x) : F32ToBF16(x);
        std::memcpy(buf->data() + 2 * i, &b, 2);
      }
    }
  }
  std::vector<int32_t> positions(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) positions[static_cast<size_t>(j)] = j;
  KVHeadView kv;
  kv.dtype = t;
  kv.keys = keys.data();
  kv.values = values.data();
  kv.positions = positions.data();
  kv.n = n;
  std::vector<float> q(static_cast<size_t>(groups) * hd, 0.01f), probs(static_cast<size_t>(groups) * n),
      out(static_cast<size_t>(groups) * hd);
  for (auto _ : state) {
    if (group > 0) {
      AttendGroup(q.data(), groups, kv, hd, n, 0, 0.125f, probs.data(), out.data());
    } else {
      AttendHead(q.data(), kv, hd, n, 0, 0.125f, probs.data(), out.data());
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK_CAPTURE(BM_Attend, group3_f32, DType::kF32, 3)->Arg(257)->Arg(2048);
BENCHMARK_CAPTURE(BM_Attend, group3_bf16, DType::kBF16, 3)->Arg(257)->Arg(2048);
// Batched decoding's short caches (48 slots) and a long one, each KV storage.
BENCHMARK_CAPTURE(BM_Attend, group2_f32, DType::kF32, 2)->Arg(24)->Arg(40)->Arg(48)->Arg(2048);
BENCHMARK_CAPTURE(BM_Attend, group2_f16, DType::kF16, 2)->Arg(48)->Arg(2048);
BENCHMARK_CAPTURE(BM_Attend, group2_bf16, DType::kBF16, 2)->Arg(48)->Arg(2048);

// One decode step's attention over caches that do not fit the last-level cache, as decoding
// meets them (the weights streamed since evicted them): `caches` KVCaches (sequences) of 24 layers
// × 8 KV heads (the 0.35B model's) with `slots` f32 slots each, every (cache, layer, head)
// attended once per iteration by a GQA group of 2, the items spread over `threads` threads like
// the transformer's. Bytes/s counts the keys and values read (compare with kvpress bench's read
// bandwidth probe). Args: slots, caches, threads.
void BM_AttendCold(benchmark::State& state) {
  const int slots = static_cast<int>(state.range(0)), n_caches = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  constexpr int kLayers = 24, kKvHeads = 8, kHd = 64, kGroup = 2;
  std::vector<KVCache> caches;
  caches.reserve(static_cast<size_t>(n_caches));
  std::vector<float> key(kHd), value(kHd);  // [hd]
  std::mt19937 rng(4);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int c = 0; c < n_caches; ++c) {
    caches.emplace_back(kLayers, kKvHeads, kHd, DType::kF32);
    for (int j = 0; j < slots; ++j) {  // appended slot by slot, like decoding
      for (int l = 0; l < kLayers; ++l) {
        for (int g = 0; g < kKvHeads; ++g) {
          for (int i = 0; i < kHd; ++i) key[static_cast<size_t>(i)] = dist(rng), value[static_cast<size_t>(i)] = dist(rng);
          caches.back().Append(l, g, key.data(), value.data(), j, 1.0f);
        }
      }
    }
  }
  const int64_t items = static_cast<int64_t>(n_caches) * kLayers * kKvHeads;
  std::vector<float> q(kGroup * kHd, 0.01f);  // [G, hd]
  std::vector<float> out(static_cast<size_t>(items) * kGroup * kHd);  // [items, G, hd]
  for (auto _ : state) {
    for (int l = 0; l < kLayers; ++l) {  // layer by layer, as the forward goes
      ParallelFor(static_cast<int64_t>(n_caches) * kKvHeads, threads, [&](int64_t i) {
        const int c = static_cast<int>(i / kKvHeads), g = static_cast<int>(i % kKvHeads);
        thread_local std::vector<float> p;
        p.resize(kGroup * static_cast<size_t>(slots));
        const KVHeadView kv = caches[static_cast<size_t>(c)].View(l, g);
        AttendGroup(q.data(), kGroup, kv, kHd, slots, 0, 0.125f, p.data(),
                    out.data() + ((static_cast<size_t>(c) * kLayers + l) * kKvHeads + g) * kGroup * kHd);
      });
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * items * slots * 2 * kHd * 4);
}
// Decoding with a budget of 512 (one sequence), and batch 16 at depth 48.
BENCHMARK(BM_AttendCold)->Args({513, 1, 1})->Args({513, 1, 2})->Args({48, 16, 2})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Attend, head_f32, DType::kF32, 0)->Arg(257)->Arg(2048);

}  // namespace
}  // namespace kvpress

BENCHMARK_MAIN();
