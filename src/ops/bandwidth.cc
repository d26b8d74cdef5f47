#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/bandwidth.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "ops/bandwidth.h"

HWY_BEFORE_NAMESPACE();
namespace kvpress {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sums n floats with four independent accumulators (enough loads in flight to saturate memory).
float SumFloats(const float* p, size_t n) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = hn::Add(a0, hn::LoadU(df, p + i));
    a1 = hn::Add(a1, hn::LoadU(df, p + i + N));
    a2 = hn::Add(a2, hn::LoadU(df, p + i + 2 * N));
    a3 = hn::Add(a3, hn::LoadU(df, p + i + 3 * N));
  }
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3))));
  for (; i < n; ++i) s += p[i];
  return s;
}

}  // namespace HWY_NAMESPACE
}  // namespace kvpress
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <omp.h>

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "core/huge_pages.h"
#include "core/timer.h"

namespace kvpress {

HWY_EXPORT(SumFloats);

struct ReadBandwidthProbe::Buffer {
  std::unique_ptr<HugePageBuffer> huge;
  std::vector<float> fallback;
  std::span<float> floats;
};

ReadBandwidthProbe::ReadBandwidthProbe(size_t bytes, int threads)
    : buffer_(std::make_unique<Buffer>()), threads_(threads) {
  const size_t n = bytes / sizeof(float);
  // In huge pages where the kernel grants them, as the weights are (model/weight_placement.h), so
  // that the roofline's reads and decoding's see the same page size (on the Zen 4 host of the
  // README both probes read the same 34-36 GB/s in quiet windows).
  buffer_->huge = HugePageBuffer::Allocate(n * sizeof(float));
  if (buffer_->huge == nullptr) buffer_->fallback.resize(n);
  float* data = buffer_->huge != nullptr ? reinterpret_cast<float*>(buffer_->huge->data())
                                         : buffer_->fallback.data();
  buffer_->floats = std::span<float>(data, n);
  const std::span<float> buf = buffer_->floats;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; ++i) buf[i] = static_cast<float>(i & 7);  // first touch per thread
}

ReadBandwidthProbe::~ReadBandwidthProbe() = default;

double ReadBandwidthProbe::Measure(int repeats) {
  const std::span<float> buf = buffer_->floats;
  const size_t n = buf.size();
  double best = 0.0;
  volatile float sink = 0.0f;
  for (int r = 0; r < repeats; ++r) {
    const Stopwatch sw;
    float total = 0.0f;
#pragma omp parallel num_threads(threads_) reduction(+ : total)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const size_t lo = n * static_cast<size_t>(t) / static_cast<size_t>(nt);
      const size_t hi = n * static_cast<size_t>(t + 1) / static_cast<size_t>(nt);
      total += HWY_DYNAMIC_DISPATCH(SumFloats)(buf.data() + lo, hi - lo);
    }
    const double sec = sw.Elapsed();
    sink = sink + total;
    best = std::max(best, static_cast<double>(n * sizeof(float)) / sec);
  }
  return best;
}

}  // namespace kvpress
#endif  // HWY_ONCE
