// Expression parsing, in jinja2's precedence order (see parser.h).
#include <fmt/format.h>

#include <algorithm>

#include "jinja/parser_internal.h"

namespace kvpress::jinja::internal {

Status Parser::Deepen(Expr& e) const {
  int deepest = 0;
  for (const ExprPtr& c : e.children) {
    if (c) deepest = std::max(deepest, c->depth);
  }
  for (const auto& kw : e.kwargs) deepest = std::max(deepest, kw.second->depth);
  e.depth = deepest + 1;
  if (e.depth > kMaxExprDepth) return Error("expression nested too deeply");
  return Status::Ok();
}

bool Parser::IsTupleEnd(std::initializer_list<std::string_view> extra_end) const {
  const Token& c = Cur();
  if (c.kind == TokenKind::kVariableEnd || c.kind == TokenKind::kBlockEnd ||
      c.kind == TokenKind::kEof)
    return true;
  if (IsOp(c, ")")) return true;
  for (std::string_view n : extra_end) {
    if (IsName(c, n)) return true;
  }
  return false;
}

// Comma-separated expressions: a tuple when there is a comma (or empty parentheses), else the
// single expression. `simplified` parses only primaries (assignment targets).
StatusOr<ExprPtr> Parser::ParseTuple(bool simplified, bool with_condexpr,
                                     std::initializer_list<std::string_view> extra_end,
                                     bool explicit_parentheses) {
  const int line = Cur().line;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) RETURN_IF_ERROR(ExpectOp(","));
    if (IsTupleEnd(extra_end)) break;
    StatusOr<ExprPtr> e = simplified ? ParsePrimary() : ParseExpression(with_condexpr);
    if (!e.ok()) return e.status();
    args.push_back(std::move(e).value());
    if (IsOp(Cur(), ",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parentheses) return Unexpected("an expression");
  }
  auto t = MakeExpr(Expr::Kind::kTuple, line);
  t->children = std::move(args);
  RETURN_IF_ERROR(Deepen(*t));
  return t;
}

StatusOr<ExprPtr> Parser::ParseExpression(bool with_condexpr) {
  NestingGuard guard(*this);
  if (!guard.ok()) return Error("expression nested too deeply");
  ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
  if (!with_condexpr) return expr;
  while (IsName(Cur(), "if")) {
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
    ExprPtr otherwise;
    if (SkipName("else")) {
      ASSIGN_OR_RETURN(otherwise, ParseExpression(true));
    }
    auto c = MakeExpr(Expr::Kind::kCondExpr, line);
    c->children.push_back(std::move(cond));
    c->children.push_back(std::move(expr));
    c->children.push_back(std::move(otherwise));
    RETURN_IF_ERROR(Deepen(*c));
    expr = std::move(c);
  }
  return expr;
}

StatusOr<ExprPtr> Parser::ParseOr() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (IsName(Cur(), "or")) {
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    left = MakeBinary(Expr::Kind::kOr, "or", std::move(left), std::move(right), line);
    RETURN_IF_ERROR(Deepen(*left));
  }
  return left;
}

StatusOr<ExprPtr> Parser::ParseAnd() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (IsName(Cur(), "and")) {
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    left = MakeBinary(Expr::Kind::kAnd, "and", std::move(left), std::move(right), line);
    RETURN_IF_ERROR(Deepen(*left));
  }
  return left;
}

StatusOr<ExprPtr> Parser::ParseNot() {
  if (!IsName(Cur(), "not")) return ParseCompare();
  NestingGuard guard(*this);
  if (!guard.ok()) return Error("expression nested too deeply");
  auto n = MakeExpr(Expr::Kind::kNot, Cur().line);
  Next();
  ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
  n->children.push_back(std::move(operand));
  RETURN_IF_ERROR(Deepen(*n));
  return n;
}

StatusOr<ExprPtr> Parser::ParseCompare() {
  const int line = Cur().line;
  ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  auto cmp = MakeExpr(Expr::Kind::kCompare, line);
  cmp->children.push_back(std::move(first));
  while (true) {
    const Token& c = Cur();
    std::string op;
    if (c.kind == TokenKind::kOperator && (c.text == "==" || c.text == "!=" || c.text == "<" ||
                                           c.text == "<=" || c.text == ">" || c.text == ">=")) {
      op = c.text;
      Next();
    } else if (IsName(c, "in")) {
      op = "in";
      Next();
    } else if (IsName(c, "not") && IsName(Look(), "in")) {
      op = "notin";
      Next();
      Next();
    } else {
      break;
    }
    ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
    cmp->ops.push_back(op);
    cmp->children.push_back(std::move(operand));
  }
  if (cmp->ops.empty()) return std::move(cmp->children[0]);
  RETURN_IF_ERROR(Deepen(*cmp));
  return cmp;
}

StatusOr<ExprPtr> Parser::ParseMath1() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (IsOp(Cur(), "+") || IsOp(Cur(), "-")) {
    const std::string op = Cur().text;
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    left = MakeBinary(Expr::Kind::kBinary, op, std::move(left), std::move(right), line);
    RETURN_IF_ERROR(Deepen(*left));
  }
  return left;
}

StatusOr<ExprPtr> Parser::ParseConcat() {
  const int line = Cur().line;
  ASSIGN_OR_RETURN(ExprPtr first, ParseMath2());
  if (!IsOp(Cur(), "~")) return first;
  auto concat = MakeExpr(Expr::Kind::kConcat, line);
  concat->children.push_back(std::move(first));
  while (SkipOp("~")) {
    ASSIGN_OR_RETURN(ExprPtr next, ParseMath2());
    concat->children.push_back(std::move(next));
  }
  RETURN_IF_ERROR(Deepen(*concat));
  return concat;
}

StatusOr<ExprPtr> Parser::ParseMath2() {
  ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (IsOp(Cur(), "*") || IsOp(Cur(), "/") || IsOp(Cur(), "//") || IsOp(Cur(), "%")) {
    const std::string op = Cur().text;
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    left = MakeBinary(Expr::Kind::kBinary, op, std::move(left), std::move(right), line);
    RETURN_IF_ERROR(Deepen(*left));
  }
  return left;
}

StatusOr<ExprPtr> Parser::ParsePow() {
  ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
  while (IsOp(Cur(), "**")) {  // left-associative in jinja2: 2**3**2 == 64
    const int line = Cur().line;
    Next();
    ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
    left = MakeBinary(Expr::Kind::kBinary, "**", std::move(left), std::move(right), line);
    RETURN_IF_ERROR(Deepen(*left));
  }
  return left;
}

StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
  NestingGuard guard(*this);
  if (!guard.ok()) return Error("expression nested too deeply");
  ExprPtr node;
  if (IsOp(Cur(), "-") || IsOp(Cur(), "+")) {
    node = MakeExpr(IsOp(Cur(), "-") ? Expr::Kind::kNeg : Expr::Kind::kPos, Cur().line);
    Next();
    ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
    node->children.push_back(std::move(operand));
    RETURN_IF_ERROR(Deepen(*node));
  } else {
    ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) return ParseFilterExpr(std::move(node));
  return node;
}

StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& t = Cur();
  auto constant = MakeExpr(Expr::Kind::kConst, t.line);
  switch (t.kind) {
    case TokenKind::kName: {
      if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
        constant->value = Value(t.text == "true" || t.text == "True");
      } else if (t.text == "none" || t.text == "None") {
        constant->value = Value::None();
      } else {
        auto name = MakeExpr(Expr::Kind::kName, t.line);
        name->name = t.text;
        Next();
        return name;
      }
      Next();
      return constant;
    }
    case TokenKind::kString: {  // adjacent literals concatenate
      std::string s;
      while (Cur().kind == TokenKind::kString) {
        s += Cur().text;
        Next();
      }
      constant->value = Value(std::move(s));
      return constant;
    }
    case TokenKind::kInteger:
      constant->value = Value(t.int_value);
      Next();
      return constant;
    case TokenKind::kFloat:
      constant->value = Value(t.float_value);
      Next();
      return constant;
    case TokenKind::kOperator:
      if (t.text == "(") {
        Next();
        ASSIGN_OR_RETURN(ExprPtr inner, ParseTuple(false, true, {}, true));
        RETURN_IF_ERROR(ExpectOp(")"));
        return inner;
      }
      if (t.text == "[" || t.text == "{") {
        const bool is_dict = t.text == "{";
        const std::string close = is_dict ? "}" : "]";
        auto lit = MakeExpr(is_dict ? Expr::Kind::kDict : Expr::Kind::kList, t.line);
        Next();
        while (!IsOp(Cur(), close)) {
          if (!lit->children.empty()) RETURN_IF_ERROR(ExpectOp(","));
          if (IsOp(Cur(), close)) break;
          ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
          lit->children.push_back(std::move(item));
          if (is_dict) {
            RETURN_IF_ERROR(ExpectOp(":"));
            ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
            lit->children.push_back(std::move(value));
          }
        }
        RETURN_IF_ERROR(ExpectOp(close));
        RETURN_IF_ERROR(Deepen(*lit));
        return lit;
      }
      break;
    default:
      break;
  }
  return Unexpected("an expression");
}

StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(Cur(), ".") || IsOp(Cur(), "[")) {
      ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
      RETURN_IF_ERROR(Deepen(*node));
    } else if (IsOp(Cur(), "(")) {
      auto call = MakeExpr(Expr::Kind::kCall, Cur().line);
      call->children.push_back(std::move(node));
      RETURN_IF_ERROR(ParseCallArgs(*call));
      RETURN_IF_ERROR(Deepen(*call));
      node = std::move(call);
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp(Cur(), "|")) {
      Next();
      ASSIGN_OR_RETURN(node, ParseFilter(std::move(node)));
      RETURN_IF_ERROR(Deepen(*node));
    } else if (IsName(Cur(), "is")) {
      ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
      RETURN_IF_ERROR(Deepen(*node));
    } else if (IsOp(Cur(), "(")) {
      auto call = MakeExpr(Expr::Kind::kCall, Cur().line);
      call->children.push_back(std::move(node));
      RETURN_IF_ERROR(ParseCallArgs(*call));
      RETURN_IF_ERROR(Deepen(*call));
      node = std::move(call);
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr node) {
  const int line = Cur().line;
  if (SkipOp(".")) {
    if (Cur().kind == TokenKind::kName) {
      auto attr = MakeExpr(Expr::Kind::kGetAttr, line);
      attr->name = Cur().text;
      attr->children.push_back(std::move(node));
      Next();
      return attr;
    }
    if (Cur().kind != TokenKind::kInteger) return Unexpected("a name or number after '.'");
    auto item = MakeExpr(Expr::Kind::kGetItem, line);
    auto index = MakeExpr(Expr::Kind::kConst, line);
    index->value = Value(Cur().int_value);
    Next();
    item->children.push_back(std::move(node));
    item->children.push_back(std::move(index));
    return item;
  }
  RETURN_IF_ERROR(ExpectOp("["));
  std::vector<ExprPtr> args;
  while (!IsOp(Cur(), "]")) {
    if (!args.empty()) RETURN_IF_ERROR(ExpectOp(","));
    ASSIGN_OR_RETURN(ExprPtr a, ParseSubscribed());
    args.push_back(std::move(a));
  }
  RETURN_IF_ERROR(ExpectOp("]"));
  if (args.empty()) return Error("syntax error: empty subscript", line);
  if (args.size() == 1 && args[0]->kind == Expr::Kind::kSlice) {
    args[0]->children[0] = std::move(node);
    return std::move(args[0]);
  }
  for (const ExprPtr& a :
       args) {  // x[1:2, 3]: a slice inside a tuple (numpy style) has no object to slice
    if (a->kind == Expr::Kind::kSlice) {
      return TemplateError(StatusCode::kUnimplemented, name_, line,
                           "unsupported construct: a slice inside a tuple subscript");
    }
  }
  auto item = MakeExpr(Expr::Kind::kGetItem, line);
  item->children.push_back(std::move(node));
  if (args.size() == 1) {
    item->children.push_back(std::move(args[0]));
  } else {
    auto tuple = MakeExpr(Expr::Kind::kTuple, line);
    tuple->children = std::move(args);
    item->children.push_back(std::move(tuple));
  }
  return item;
}

// One subscript: an expression or a slice `a:b:c` (kSlice with children[0] left for the object).
StatusOr<ExprPtr> Parser::ParseSubscribed() {
  const int line = Cur().line;
  std::vector<ExprPtr> parts;
  if (IsOp(Cur(), ":")) {
    Next();
    parts.push_back(nullptr);
  } else {
    ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(true));
    if (!IsOp(Cur(), ":")) return e;
    Next();
    parts.push_back(std::move(e));
  }
  const auto at_end = [&] { return IsOp(Cur(), "]") || IsOp(Cur(), ","); };
  if (IsOp(Cur(), ":") || at_end()) {
    parts.push_back(nullptr);
  } else {
    ASSIGN_OR_RETURN(ExprPtr stop, ParseExpression(true));
    parts.push_back(std::move(stop));
  }
  if (SkipOp(":") && !at_end()) {
    ASSIGN_OR_RETURN(ExprPtr step, ParseExpression(true));
    parts.push_back(std::move(step));
  } else {
    parts.push_back(nullptr);
  }
  auto slice = MakeExpr(Expr::Kind::kSlice, line);
  slice->children.push_back(nullptr);  // the sliced object, filled in by ParseSubscript
  for (auto& p : parts) slice->children.push_back(std::move(p));
  return slice;
}

// `(args, key=value)` appended to `call` (children after the first, and kwargs).
Status Parser::ParseCallArgs(Expr& call) {
  RETURN_IF_ERROR(ExpectOp("("));
  bool need_comma = false;
  while (!IsOp(Cur(), ")")) {
    if (need_comma) {
      RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(Cur(), ")")) break;
    }
    if (IsOp(Cur(), "*") || IsOp(Cur(), "**")) {
      return TemplateError(StatusCode::kUnimplemented, name_, Cur().line,
                           "unsupported construct: *args / **kwargs in calls");
    }
    if (Cur().kind == TokenKind::kName && IsOp(Look(), "=")) {
      std::string key = Cur().text;
      Next();
      Next();
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      call.kwargs.emplace_back(std::move(key), std::move(value));
    } else {
      if (!call.kwargs.empty())
        return Error("syntax error: positional argument follows keyword argument");
      ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      call.children.push_back(std::move(value));
    }
    need_comma = true;
  }
  return ExpectOp(")");
}

// `name(args) | name2 ...` after a filter tag or `{% set x | ... %}` (inputs left null).
Status Parser::ParseFilterChain(std::vector<ExprPtr>& filters) {
  while (true) {
    ASSIGN_OR_RETURN(ExprPtr f, ParseFilter(nullptr));
    filters.push_back(std::move(f));
    if (!SkipOp("|")) return Status::Ok();
  }
}

StatusOr<ExprPtr> Parser::ParseFilter(ExprPtr input) {
  auto f = MakeExpr(Expr::Kind::kFilter, Cur().line);
  ASSIGN_OR_RETURN(f->name, ExpectName());
  while (SkipOp(".")) {
    ASSIGN_OR_RETURN(std::string part, ExpectName());
    f->name += "." + part;
  }
  f->children.push_back(std::move(input));
  if (IsOp(Cur(), "(")) RETURN_IF_ERROR(ParseCallArgs(*f));
  return f;
}

StatusOr<ExprPtr> Parser::ParseTest(ExprPtr input) {
  auto t = MakeExpr(Expr::Kind::kTest, Cur().line);
  Next();  // 'is'
  if (SkipName("not")) t->negated = true;
  ASSIGN_OR_RETURN(t->name, ExpectName());
  while (SkipOp(".")) {
    ASSIGN_OR_RETURN(std::string part, ExpectName());
    t->name += "." + part;
  }
  t->children.push_back(std::move(input));
  const Token& c = Cur();
  if (IsOp(c, "(")) {
    RETURN_IF_ERROR(ParseCallArgs(*t));
  } else if ((c.kind == TokenKind::kName || c.kind == TokenKind::kString ||
              c.kind == TokenKind::kInteger || c.kind == TokenKind::kFloat || IsOp(c, "[") ||
              IsOp(c, "{")) &&
             !IsName(c, "else") && !IsName(c, "or") && !IsName(c, "and")) {
    if (IsName(c, "is")) return Error("syntax error: you cannot chain multiple tests with 'is'");
    ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    t->children.push_back(std::move(arg));
  }
  return t;
}

}  // namespace kvpress::jinja::internal
