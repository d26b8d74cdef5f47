// kvpress: one binary, one sub-command per job (DESIGN.md "Product surface").
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tools/cli_common.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"kvpress: LLM inference with KV-cache compression (presses), instrumentation and a "
               "reasoning benchmark harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kvpress 0.1.0");
  kvpress::cli::RunFn run;
  kvpress::cli::RegisterGenerate(app, run);
  kvpress::cli::RegisterInspect(app, run);
  kvpress::cli::RegisterConvert(app, run);
  kvpress::cli::RegisterBench(app, run);
  kvpress::cli::RegisterPresses(app, run);
  kvpress::cli::RegisterTokenize(app, run);
  kvpress::cli::RegisterTemplate(app, run);
  kvpress::cli::RegisterEval(app, run);
  kvpress::cli::RegisterSweep(app, run);
  kvpress::cli::RegisterReport(app, run);
  kvpress::cli::RegisterServe(app, run);
  kvpress::cli::RegisterStats(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the usage error
    return code == 0 ? kvpress::cli::kExitOk : kvpress::cli::kExitUsage;
  }
  return run ? run() : kvpress::cli::kExitUsage;
}
