// Micro-benchmarks of the matmul kernels: SIMD vs scalar reference, per dtype.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ops/matmul.h"

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
BENCHMARK_CAPTURE(BM_MatMul, bf16_scalar_reference, DType::kBF16, true)->Arg(1);

}  // namespace
}  // namespace kvpress

BENCHMARK_MAIN();
