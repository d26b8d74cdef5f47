// The machine's multiply-add ceilings, against which the kernels' rates in kernels_bench are read:
// f32 FMA and int8 vpdpbusd at 256 and 512 bits from registers only (12 independent accumulators,
// no memory traffic), and vpdpbusd in the access pattern of batched decoding's int8 GEMM (per
// reduction step, one activation vector and one broadcast weight word per row, from L1).
// items/s = multiply-adds/s on one thread. x86-64 with AVX-512 VNNI only (skipped elsewhere).
//
// Why: hosts differ (Ice Lake servers have one or two 512-bit FMA units), a register-only loop
// says what the ports can do, and the broadcast pattern says what a GEMM that keeps tokens in the
// lanes can reach at best. Written with inline asm so that the compiler cannot fold or spill the
// chains (an array of accumulators kept in memory measured the store port instead).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

#if defined(__x86_64__)

bool HasVnni() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}

// One instruction `ins` on accumulator a##k with two register sources.
#define KVP_OP(ins, k) __asm__(ins " %2, %1, %0" : "+v"(a##k) : "v"(u), "v"(q))
#define KVP_TWELVE(ins) \
  KVP_OP(ins, 0);       \
  KVP_OP(ins, 1);       \
  KVP_OP(ins, 2);       \
  KVP_OP(ins, 3);       \
  KVP_OP(ins, 4);       \
  KVP_OP(ins, 5);       \
  KVP_OP(ins, 6);       \
  KVP_OP(ins, 7);       \
  KVP_OP(ins, 8);       \
  KVP_OP(ins, 9);       \
  KVP_OP(ins, 10);      \
  KVP_OP(ins, 11)

constexpr int64_t kIterations = 1 << 16;  // per benchmark iteration: 786 K instructions

// Defines benchmark `name`: kIterations × 12 independent `ins` on vectors of type V (initialised by
// `init`) per iteration, all twelve accumulators kept alive; `macs` multiply-adds per instruction.
#define KVP_PEAK_BENCHMARK(name, features, V, init, ins, macs)                                  \
  __attribute__((target(features))) void name(benchmark::State& state) {                        \
    for (auto _ : state) {                                                                      \
      V a0 = init, a1 = init, a2 = init, a3 = init, a4 = init, a5 = init, a6 = init, a7 = init, \
        a8 = init, a9 = init, a10 = init, a11 = init;                                           \
      V u = init, q = init;                                                                     \
      for (int64_t i = 0; i < kIterations; ++i) {                                               \
        KVP_TWELVE(ins);                                                                        \
      }                                                                                         \
      V all[12] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};                           \
      benchmark::DoNotOptimize(all);                                                            \
    }                                                                                           \
    state.SetItemsProcessed(state.iterations() * kIterations * 12 * (macs));                    \
  }

KVP_PEAK_BENCHMARK(BM_PeakFma512, "avx512f,avx512vl", __m512, _mm512_set1_ps(1.0f), "vfmadd231ps",
                   16)
KVP_PEAK_BENCHMARK(BM_PeakFma256, "avx512f,avx512vl", __m256, _mm256_set1_ps(1.0f), "vfmadd231ps",
                   8)
KVP_PEAK_BENCHMARK(BM_PeakVnni512, "avx512f,avx512vl,avx512vnni", __m512i, _mm512_set1_epi32(1),
                   "vpdpbusd", 64)
KVP_PEAK_BENCHMARK(BM_PeakVnni256, "avx512f,avx512vl,avx512vnni", __m256i, _mm256_set1_epi32(1),
                   "vpdpbusd", 32)

// acc += vpdpbusd(broadcast(word at w), x) — the weight word as the unsigned operand, as the int8
// GEMM does (prefill_gemm_int8.cc), 512 or 256 bits.
__attribute__((target("avx512f,avx512vl,avx512vnni"))) inline __m512i DotBroadcast512(
    __m512i acc, const uint8_t* w, __m512i x) {
  int32_t word;
  std::memcpy(&word, w, 4);
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(_mm512_set1_epi32(word)), "v"(x));
  return acc;
}
__attribute__((target("avx512f,avx512vl,avx512vnni"))) inline __m256i DotBroadcast256(
    __m256i acc, const uint8_t* w, __m256i x) {
  int32_t word;
  std::memcpy(&word, w, 4);
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(_mm256_set1_epi32(word)), "v"(x));
  return acc;
}

// The 16-token tile of batched decoding without its per-block epilogue: rows × 16 tokens of int32
// sums over blocks of 32 weights (8 quads), weights [rows, blocks, 34 bytes] as Q8_0 lays them
// out and activations [blocks, 8 quads, 16 tokens] words, all in L1. 512 bits: kRows rows × one
// 16-token vector; 256 bits: kRows rows × two 8-token vectors.
constexpr int kBlocks = 16;
template <int kRows>
__attribute__((target("avx512f,avx512vl,avx512vnni"))) void BM_BroadcastTile512(
    benchmark::State& state) {
  std::vector<uint8_t> w(static_cast<size_t>(kRows) * kBlocks * 34, 1);
  alignas(64) int32_t x[kBlocks * 8 * 16];
  for (int32_t& v : x) v = 0x01010101;
  __m512i total = _mm512_setzero_si512();
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      __m512i acc[kRows];
#pragma GCC unroll 16
      for (int m = 0; m < kRows; ++m) acc[m] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int qd = 0; qd < 8; ++qd) {
        const __m512i xv = _mm512_load_si512(x + (b * 8 + qd) * 16);
#pragma GCC unroll 16
        for (int m = 0; m < kRows; ++m)
          acc[m] = DotBroadcast512(acc[m], w.data() + (m * kBlocks + b) * 34 + 2 + 4 * qd, xv);
      }
#pragma GCC unroll 16
      for (int m = 0; m < kRows; ++m) total = _mm512_add_epi32(total, acc[m]);
    }
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(state.iterations() * kBlocks * 8 * kRows * 64);
}

template <int kRows>
__attribute__((target("avx512f,avx512vl,avx512vnni"))) void BM_BroadcastTile256(
    benchmark::State& state) {
  std::vector<uint8_t> w(static_cast<size_t>(kRows) * kBlocks * 34, 1);
  alignas(64) int32_t x[kBlocks * 8 * 16];
  for (int32_t& v : x) v = 0x01010101;
  __m256i total = _mm256_setzero_si256();
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      __m256i acc[kRows][2];
#pragma GCC unroll 16
      for (int m = 0; m < kRows; ++m) acc[m][0] = acc[m][1] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int qd = 0; qd < 8; ++qd) {
        const int32_t* xq = x + (b * 8 + qd) * 16;
        const __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq));
        const __m256i x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 8));
#pragma GCC unroll 16
        for (int m = 0; m < kRows; ++m) {
          const uint8_t* word = w.data() + (m * kBlocks + b) * 34 + 2 + 4 * qd;
          acc[m][0] = DotBroadcast256(acc[m][0], word, x0);
          acc[m][1] = DotBroadcast256(acc[m][1], word, x1);
        }
      }
#pragma GCC unroll 16
      for (int m = 0; m < kRows; ++m)
        total = _mm256_add_epi32(total, _mm256_add_epi32(acc[m][0], acc[m][1]));
    }
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(state.iterations() * kBlocks * 8 * kRows * 64);
}

// The other layout: rows in the lanes (weights repacked so that one vector holds one quad of 16
// rows, as w + 128) and each token's activation word as vpdpbusd's memory operand with embedded
// broadcast ({1to16}, one fused load-and-dot). kTokens accumulators per 16-row vector, 2 vectors.
template <int kTokens>
__attribute__((target("avx512f,avx512vl,avx512vnni"))) void BM_EmbeddedBroadcastTile512(
    benchmark::State& state) {
  constexpr int kVectors = 2;
  alignas(64) uint8_t w[kBlocks * 8 * kVectors * 64];
  std::memset(w, 1, sizeof(w));
  alignas(64) int32_t x[kBlocks * 8 * kTokens];
  for (int32_t& v : x) v = 0x01010101;
  __m512i total = _mm512_setzero_si512();
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      __m512i acc[kVectors][kTokens];
#pragma GCC unroll 16
      for (int t = 0; t < kTokens; ++t) acc[0][t] = acc[1][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int qd = 0; qd < 8; ++qd) {
        const __m512i w0 = _mm512_load_si512(w + ((b * 8 + qd) * kVectors) * 64);
        const __m512i w1 = _mm512_load_si512(w + ((b * 8 + qd) * kVectors + 1) * 64);
        const int32_t* xq = x + (b * 8 + qd) * kTokens;
#pragma GCC unroll 16
        for (int t = 0; t < kTokens; ++t) {
          __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc[0][t]) : "v"(w0), "m"(xq[t]));
          __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc[1][t]) : "v"(w1), "m"(xq[t]));
        }
      }
#pragma GCC unroll 16
      for (int t = 0; t < kTokens; ++t)
        total = _mm512_add_epi32(total, _mm512_add_epi32(acc[0][t], acc[1][t]));
    }
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(state.iterations() * kBlocks * 8 * kVectors * kTokens * 64);
}

// Registers the benchmarks where the CPU has what they execute.
void Register() {
  if (!HasVnni()) return;
  benchmark::RegisterBenchmark("BM_PeakFma512", BM_PeakFma512);
  benchmark::RegisterBenchmark("BM_PeakFma256", BM_PeakFma256);
  benchmark::RegisterBenchmark("BM_PeakVnni512", BM_PeakVnni512);
  benchmark::RegisterBenchmark("BM_PeakVnni256", BM_PeakVnni256);
  benchmark::RegisterBenchmark("BM_BroadcastTile512/rows8", BM_BroadcastTile512<8>);
  benchmark::RegisterBenchmark("BM_BroadcastTile512/rows12", BM_BroadcastTile512<12>);
  benchmark::RegisterBenchmark("BM_BroadcastTile256/rows4", BM_BroadcastTile256<4>);
  benchmark::RegisterBenchmark("BM_BroadcastTile256/rows6", BM_BroadcastTile256<6>);
  benchmark::RegisterBenchmark("BM_EmbeddedBroadcastTile512/tokens8",
                               BM_EmbeddedBroadcastTile512<8>);
  benchmark::RegisterBenchmark("BM_EmbeddedBroadcastTile512/tokens12",
                               BM_EmbeddedBroadcastTile512<12>);
}

#else

void Register() {}

#endif  // __x86_64__

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
