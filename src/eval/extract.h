// Answer extraction from a model response: the fork's extractors reproduced exactly
// (kvpress-reference.md §5.3, including their defects) and an improved extractor used by the
// normalized protocol (last \boxed{} with nested braces, \text{} unwrapped, then answer cues).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "eval/dataset_spec.h"

namespace kvpress::eval {

// Content of the last `\boxed{...}` (or `\fbox{...}`) in `text`, braces matched so nested
// groups are kept; `\boxed 5` (no braces) yields the following token. When the closing brace
// is missing the rest of the text is returned. nullopt when there is no \boxed at all.
std::optional<std::string> LastBoxed(std::string_view text);

// Removes `\text{...}`, `\textbf{...}`, `\mathrm{...}`, `\mbox{...}` and `\textit{...}`
// wrappers, keeping their content (nested braces respected); a space is put between a digit
// and a wrapped word ("18\text{dollars}" → "18 dollars").
std::string UnwrapTextCommands(std::string_view s);

// The fork's extractor for `kind` (default_extractor / folio_extractor / strategyqa_extractor),
// byte-for-byte as §5.3 describes it: a whole-response float or purely alphabetic response is
// returned as is; else the last \boxed{} content (default: \text{} NOT unwrapped, the fork's
// silent failure; folio: unwrapped); else the lowercased text after the last answer cue, first
// line, up to the first '.'; default_extractor then tries its second cue list; else "".
// Non-ASCII bytes count as alphabetic (Python's str.isalpha on letters; an approximation).
std::string ForkExtract(DatasetKind kind, std::string_view response);

// The improved extractor: the last \boxed{} (text wrappers and $ removed), else the text after
// the last occurrence of the first matching cue ("final answer is", "final answer:",
// "correct answer is", "correct option is", "answer should be", "answer is", "answer:"),
// case preserved, cut at the end of its first sentence (a '.' that is not a decimal point);
// else a one-line response of ≤ 40 bytes as a whole; else, for math datasets, the last number
// in the response; else "".
std::string ExtractAnswer(DatasetKind kind, std::string_view response);

}  // namespace kvpress::eval
