// Monotonic wall-clock timing helpers.
#pragma once

#include <chrono>

namespace kvpress {

// Seconds since an arbitrary fixed point (steady clock).
inline double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Measures elapsed seconds since construction or the last Reset().
class Stopwatch {
 public:
  Stopwatch() : start_(NowSeconds()) {}
  void Reset() { start_ = NowSeconds(); }
  double Elapsed() const { return NowSeconds() - start_; }

 private:
  double start_;
};

}  // namespace kvpress
