// Registration of the kvpress sub-commands. Each adds itself to the CLI11 app and sets `run` to
// the function that executes it after parsing (returning the process exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace kvpress::cli {

using RunFn = std::function<int()>;

void RegisterGenerate(CLI::App& app, RunFn& run);
void RegisterInspect(CLI::App& app, RunFn& run);
void RegisterConvert(CLI::App& app, RunFn& run);
void RegisterBench(CLI::App& app, RunFn& run);
void RegisterPresses(CLI::App& app, RunFn& run);
void RegisterTokenize(CLI::App& app, RunFn& run);
void RegisterTemplate(CLI::App& app, RunFn& run);
void RegisterReport(CLI::App& app, RunFn& run);
void RegisterEval(CLI::App& app, RunFn& run);
void RegisterSweep(CLI::App& app, RunFn& run);
void RegisterServe(CLI::App& app, RunFn& run);
void RegisterStats(CLI::App& app, RunFn& run);

}  // namespace kvpress::cli
