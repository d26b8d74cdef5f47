// Measured memory read bandwidth: the denominator of the decode roofline (weight bytes per token ÷
// bandwidth = the fastest a memory-bound decode step can be).
#pragma once

#include <cstddef>
#include <memory>

namespace kvpress {

// A buffer of `bytes` (in huge pages where granted, as the weights are), filled once, that can be
// read again and again: a benchmark probes the bandwidth between its timed windows without paying
// the allocation and first touch each time. Use a buffer much larger than the caches.
class ReadBandwidthProbe {
 public:
  ReadBandwidthProbe(size_t bytes, int threads);
  ~ReadBandwidthProbe();
  ReadBandwidthProbe(const ReadBandwidthProbe&) = delete;
  ReadBandwidthProbe& operator=(const ReadBandwidthProbe&) = delete;

  // Best-of-`repeats` bytes/second for reading the whole buffer once with the probe's threads
  // (SIMD sum, so the loads cannot be optimised away).
  double Measure(int repeats = 5);

 private:
  struct Buffer;
  std::unique_ptr<Buffer> buffer_;
  int threads_;
};

}  // namespace kvpress
