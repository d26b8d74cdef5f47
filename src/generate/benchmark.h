// Speed/memory benchmark of one model: prefill and decode throughput against the memory-bandwidth
// roofline, KV bytes and peak RSS (the engine behind `kvpress bench`).
#pragma once

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "press/press.h"

namespace kvpress {

struct BenchmarkOptions {
  int prompt_tokens = 128;   // prefill length (random ids)
  int decode_tokens = 32;    // timed decode steps after the prefill
  int threads = 0;           // 0 = physical cores
  bool measure_bandwidth = true;
  size_t bandwidth_bytes = size_t{1} << 30;  // buffer read by the bandwidth probe
  Press* press = nullptr;    // optional: measure its overhead per decode step (not owned)
  DType kv_dtype = DType::kF32;
  int batch = 1;             // sequences decoded together (Transformer::ForwardBatch); > 1 needs no press
  int press_chunk = 0;       // > 0 with a press: compress after every N prompt tokens (ForwardPrefill)
  int prefill_reps = 3;      // timed prefills (each on a fresh cache) after one untimed warm-up; median reported
};

// Runs the benchmark and returns its figures as JSON (keys documented in the README).
StatusOr<nlohmann::json> RunBenchmark(const Model& model, const BenchmarkOptions& options);

}  // namespace kvpress
