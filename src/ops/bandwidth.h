// Measured memory read bandwidth: the denominator of the decode roofline (weight bytes per token ÷
// bandwidth = the fastest a memory-bound decode step can be).
#pragma once

#include <cstddef>

namespace kvpress {

// Best-of-`repeats` bytes/second for reading a `bytes`-sized buffer once with `threads` threads
// (SIMD sum, so the loads cannot be optimised away). Use a buffer much larger than the caches.
double MeasureReadBandwidth(size_t bytes, int threads, int repeats = 5);

}  // namespace kvpress
