// Tokenizer of Jinja template source, reproducing jinja2's lexer (3.1) including its whitespace
// control: `{%-`/`-%}` (and `{{-`, `-}}`, `{#-`, `-#}`) strip all whitespace on that side,
// trim_blocks drops the first newline after a block or comment tag, lstrip_blocks drops the spaces
// and tabs before a block or comment tag that starts a line, `{%+`/`+%}` disable both, `{% raw %}`
// bodies are data, and a single trailing newline of the template is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kvpress::jinja {

enum class TokenKind {
  kData,           // literal template text (text = the text)
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,           // identifier (text)
  kString,         // string literal (text = decoded value)
  kInteger,        // int_value
  kFloat,          // float_value
  kOperator,       // text = the operator, e.g. "==", "(", "|"
  kEof,
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  int line = 1;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0.0;
};

struct LexerOptions {
  bool trim_blocks = true;    // Hugging Face's setting
  bool lstrip_blocks = true;  // Hugging Face's setting
  bool keep_trailing_newline = false;
};

// Splits `source` into tokens ending with kEof. Line numbers are 1-based after normalising
// "\r\n" and "\r" to "\n" (as jinja2 does). Errors (unterminated tags, comments, strings; bad
// escapes; stray characters) are DataLoss with "<name>:<line>: " in front.
StatusOr<std::vector<Token>> Tokenize(std::string_view source, const LexerOptions& options, const std::string& name);

// "<name>:<line>: <message>" with the given code: the form of every located template error.
Status TemplateError(StatusCode code, const std::string& name, int line, std::string_view message);

}  // namespace kvpress::jinja
