#include "eval/run_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace kvpress::eval {

StatusOr<Protocol> ParseProtocol(std::string_view name) {
  if (name == "paper") return Protocol::kPaper;
  if (name == "chat") return Protocol::kChat;
  return InvalidArgument(fmt::format("--protocol: '{}' is not one of paper, chat", name));
}

const char* ProtocolName(Protocol p) { return p == Protocol::kPaper ? "paper" : "chat"; }

std::string RunConfig::PressName() const {
  const size_t colon = press.find(':');
  return press.substr(0, colon);
}

namespace {

// Keeps file names portable: anything outside [A-Za-z0-9._=-] becomes '-'.
std::string FileSafe(std::string s) {
  for (char& ch : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '=';
    if (!ok) ch = '-';
  }
  return s;
}

std::string ModelPart(const std::string& model) {
  std::string m = model;
  while (!m.empty() && m.back() == '/') m.pop_back();
  const bool local = m.empty() || m[0] == '/' || m[0] == '.' || m.find('/') == std::string::npos ||
                     std::count(m.begin(), m.end(), '/') > 1;
  if (local) {
    const size_t slash = m.rfind('/');
    return FileSafe(slash == std::string::npos ? m : m.substr(slash + 1));
  }
  const size_t slash = m.find('/');
  return FileSafe(m.substr(0, slash)) + "--" + FileSafe(m.substr(slash + 1));
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The data_dir part of a synthetic long-context dataset's stem: what decides its samples.
std::string SyntheticDataPart(const RunConfig& c) {
  std::string part;
  if (c.dataset == "niah") {
    part = "len" + c.niah_lengths + "_depth" + c.niah_depths;
  } else {
    part = std::to_string(c.context_length);
    for (const std::string& t : c.tasks) part += "-" + t;
  }
  if (!c.haystack_file.empty()) part += "_haystack-" + std::filesystem::path(c.haystack_file).stem().string();
  return part;
}

}  // namespace

bool IsSyntheticRun(const RunConfig& c) {
  return c.data_file.empty() && (c.dataset == "ruler" || c.dataset == "niah" || c.dataset == "infinitebench");
}

std::string ResultStem(const RunConfig& c) {
  const std::string compression =
      c.RatioMode() ? fmt::format("ratio{:.2f}", c.compression_ratio) : fmt::format("budget{}", c.EffectiveBudget());
  std::string stem = fmt::format("{}__{}__{}__{}__{}__max_new_tokens{}", c.dataset,
                                 FileSafe(IsSyntheticRun(c) ? SyntheticDataPart(c) : c.data_config),
                                 ModelPart(c.model_name.empty() ? "default" : c.model_name), FileSafe(c.press),
                                 compression, c.max_new_tokens);
  if (c.num_samples > 0) {
    stem += fmt::format("__num_samples{}", c.num_samples);
  } else if (c.fraction != 1.0) {
    stem += fmt::format("__fraction{:.2f}", c.fraction);
  }
  if (c.max_context_length > 0) stem += fmt::format("__max_context{}", c.max_context_length);
  if (c.prefill_chunk > 0 && !c.IsFull()) stem += fmt::format("__prefill_chunk{}", c.prefill_chunk);
  if (c.do_sampling) stem += "__sampling";
  if (c.query_aware) stem += "__query_aware";
  if (c.protocol == Protocol::kChat) stem += "__chat";
  stem += fmt::format("__seed{}", c.seed);
  return stem;
}

std::vector<Sample> SelectSamples(const std::vector<Sample>& all, const RunConfig& c) {
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  uint64_t state = c.seed;
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(SplitMix64(state) % i);
    std::swap(order[i - 1], order[j]);
  }
  size_t n = order.size();
  if (c.num_samples > 0) {
    n = std::min(n, static_cast<size_t>(c.num_samples));
  } else if (c.fraction < 1.0) {
    n = static_cast<size_t>(std::floor(static_cast<double>(order.size()) * std::max(0.0, c.fraction)));
  }
  std::vector<Sample> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(all[order[i]]);
  return out;
}

}  // namespace kvpress::eval
