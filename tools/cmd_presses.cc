// kvpress presses: every registered press with its parameters, defaults, phases, needs and paper.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "press/registry.h"
#include "press/upstream_names.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace kvpress::cli {
namespace {

int RunPresses(bool json) {
  nlohmann::json all = nlohmann::json::array();
  for (const PressInfo& p : AllPresses()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& q : p.params) params.push_back({{"name", q.name}, {"default", q.default_value}, {"help", q.help}});
    all.push_back({{"name", p.name}, {"summary", p.summary}, {"paper", p.paper}, {"phases", p.phases},
                   {"needs", p.needs}, {"params", params}});
    if (p.max_children != 0) {
      all.back()["wraps"] = {{"min", p.min_children}, {"max", p.max_children}, {"help", p.children_help}};
    }
  }
  // Upstream kvpress 0.5.5 classes with no registered press here, and why.
  std::vector<const UpstreamPress*> absent;
  for (const UpstreamPress& u : UpstreamPresses()) {
    bool registered = false;
    for (const PressInfo& p : AllPresses()) registered = registered || (!u.name.empty() && p.name == u.name);
    if (!registered) absent.push_back(&u);
  }
  if (json) {  // the usable presses only (scripts build specs from it); the absent list is for people
    std::printf("%s\n", all.dump(2).c_str());
    return kExitOk;
  }
  for (const PressInfo& p : AllPresses()) {
    std::printf("%s\n", fmt::format("{:<20} {}", p.name, p.summary).c_str());
    std::printf("%s\n", fmt::format("{:<20} phases: {}; needs: {}; paper: {}", "", p.phases, p.needs, p.paper).c_str());
    if (p.max_children != 0) {
      std::printf("%s\n", fmt::format("{:<20} wraps: {}({})", "", p.name, p.children_help).c_str());
    }
    for (const auto& q : p.params) {
      std::printf("%s\n", fmt::format("{:<20}   {}={}  {}", "", q.name, q.default_value, q.help).c_str());
    }
  }
  if (!absent.empty()) {
    std::printf("\nUpstream kvpress 0.5.5 presses not available here:\n");
    for (const UpstreamPress* u : absent) {
      std::printf("%s\n", fmt::format("  {:<30} {:<22} {}", u->upstream, u->name.empty() ? "-" : u->name, u->absent).c_str());
    }
  }
  std::printf("\nUse: --press NAME[:key=value,...] with --cache-budget N (per KV head per layer) or "
              "--compression-ratio R (fraction removed at prefill).\n"
              "Wrappers nest: --press 'adakv(snapkv:window=32):alpha=0.2', 'composed(knorm:ratio=0.3,streaming_llm)',\n"
              "'prefill_decoding(snapkv,decoding(knorm):target=256,interval=8)'. Every press also takes ratio=R or\n"
              "budget=B, which override the flags for that press (its inner presses inherit them).\n");
  return kExitOk;
}

}  // namespace

void RegisterPresses(CLI::App& app, RunFn& run) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("presses", "List the registered presses");
  cmd->add_flag("--json", *json, "Print a JSON array");
  cmd->callback([json, &run] { run = [json] { return RunPresses(*json); }; });
}

}  // namespace kvpress::cli
