// The worker-thread limit every --threads value (flag, sweep file, library caller) is held to.
#pragma once

#include <string>

#include "core/status.h"

namespace kvpress {

// The most worker threads a run may ask for: 4 x the machine's hardware threads (at least 8).
// More only oversubscribes the cores; far more exhausts the OpenMP runtime's memory.
int MaxThreads();

// Ok when 0 <= threads <= MaxThreads() (0 = all cores); otherwise InvalidArgument naming `what`
// (the flag or field), the value and the limit.
Status CheckThreads(long long threads, const std::string& what);

}  // namespace kvpress
