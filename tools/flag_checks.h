// Validators for numeric flags. Unlike CLI::NonNegativeNumber / PositiveNumber / Range they refuse
// nan and inf, and name their bounds briefly ("--top-p: 1.5 is outside [0, 1]"), never as a
// 310-digit number. A refused value is a usage error (exit 1).
#pragma once

#include <CLI/CLI.hpp>

namespace kvpress::cli {

// A finite number >= 0.
CLI::Validator NonNegative();
// A finite number > 0.
CLI::Validator Positive();
// A finite number in [lo, hi] ((lo, hi] with `exclude_lo`).
CLI::Validator InRange(double lo, double hi, bool exclude_lo = false);
// A thread count in [0, MaxThreads()] (core/threads.h; 0 = all cores).
CLI::Validator ThreadCount();

}  // namespace kvpress::cli
