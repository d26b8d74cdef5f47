// Parser from tokens (lexer.h) to the syntax tree (ast.h), following jinja2's grammar and
// operator precedence: `a if c else b` < or < and < not < comparisons/in < + - < ~ < * / // % <
// ** (left-associative, as in jinja2) < unary - + < postfix (.attr, [index], [a:b:c], call) <
// filters (|f) and tests (is [not] t), which bind to the unary operand.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace kvpress::jinja {

// Parses a whole template. Syntax errors are DataLoss, tags outside the supported subset
// (extends, block, include, import, from, autoescape, recursive loops, ...) are Unimplemented;
// both read "<name>:<line>: ..." and name the construct.
StatusOr<Body> ParseTemplate(const std::vector<Token>& tokens, const std::string& name);

}  // namespace kvpress::jinja
