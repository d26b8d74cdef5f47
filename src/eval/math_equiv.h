// Math answer equivalence for the normalized scorer: numbers (gsm8k, AIME, AMC) and LaTeX
// (MATH-500). A deliberately small, dependency-free approximation of Hugging Face math-verify:
// string normalisation in the style of the MATH grader (Hendrycks et al.), a numeric evaluator
// for constant expressions (\frac, \sqrt, \pi, ^, + - * /), and element-wise comparison of
// tuples, intervals and sets. No symbolic algebra: equivalent expressions with free variables
// must match after normalisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvpress::eval {

// MATH-style normal form of a LaTeX answer: \dfrac/\tfrac → \frac, \frac12 → \frac{1}{2},
// \left/\right, spacing commands, $, degrees, percent signs, \text{} wrappers and trailing
// units removed, "x = " prefixes dropped, spaces removed, leading-dot decimals fixed,
// integer a/b → \frac{a}{b}, thousands separators removed.
std::string NormalizeLatex(std::string_view s);

// Value of a constant expression in (normalized) LaTeX, e.g. "\frac{\sqrt{3}}{2}", "2^{10}",
// "-0.25", "3\pi/4". nullopt when it has free symbols or does not parse.
std::optional<double> EvaluateConstant(std::string_view normalized);

// A number read from a free-form numeric answer: "$1,234.50", "18 dollars", "\$18", "18.0",
// "025", "50\%", "x = 7", "\frac{3}{4}". nullopt when there is no single number.
std::optional<double> ParseNumericAnswer(std::string_view s);

// True when `pred` and `gold` denote the same number (relative tolerance 1e-6).
bool NumericEquivalent(std::string_view pred, std::string_view gold);

// True when `pred` and `gold` are the same LaTeX answer: equal normal forms, equal constant
// values, element-wise equal tuples/intervals (bracket types must agree), or equal sets /
// comma-separated lists regardless of order; last, case-insensitive equality of normal forms.
bool LatexEquivalent(std::string_view pred, std::string_view gold);

}  // namespace kvpress::eval
