// Statement-level parsing (tags and template data); expressions are in parser_expr.cc.
#include "jinja/parser.h"

#include <fmt/format.h>

#include "jinja/parser_internal.h"

namespace kvpress::jinja {
namespace internal {
namespace {

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kData:
      return "template data";
    case TokenKind::kVariableBegin:
      return "'{{'";
    case TokenKind::kVariableEnd:
      return "'}}'";
    case TokenKind::kBlockBegin:
      return "'{%'";
    case TokenKind::kBlockEnd:
      return "'%}'";
    case TokenKind::kName:
      return "'" + t.text + "'";
    case TokenKind::kString:
      return "string literal";
    case TokenKind::kInteger:
    case TokenKind::kFloat:
      return "number '" + t.text + "'";
    case TokenKind::kOperator:
      return "'" + t.text + "'";
    case TokenKind::kEof:
      return "end of template";
  }
  return "token";
}

StmtPtr MakeStmt(Stmt::Kind kind, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = line;
  return s;
}

}  // namespace

ExprPtr MakeExpr(Expr::Kind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

ExprPtr MakeBinary(Expr::Kind kind, std::string op, ExprPtr left, ExprPtr right, int line) {
  auto b = MakeExpr(kind, line);
  b->name = std::move(op);
  b->children.push_back(std::move(left));
  b->children.push_back(std::move(right));
  return b;
}

bool Parser::SkipOp(std::string_view op) {
  if (!IsOp(Cur(), op)) return false;
  Next();
  return true;
}

bool Parser::SkipName(std::string_view n) {
  if (!IsName(Cur(), n)) return false;
  Next();
  return true;
}

Status Parser::Error(std::string_view msg, int line) const {
  return TemplateError(StatusCode::kDataLoss, name_, line < 0 ? Cur().line : line, msg);
}

Status Parser::Unexpected(std::string_view expected) const {
  return Error(fmt::format("syntax error: expected {}, got {}", expected, Describe(Cur())));
}

Status Parser::ExpectOp(std::string_view op) {
  if (!SkipOp(op)) return Unexpected(fmt::format("'{}'", op));
  return Status::Ok();
}

Status Parser::ExpectKind(TokenKind kind, std::string_view what) {
  if (Cur().kind != kind) return Unexpected(what);
  Next();
  return Status::Ok();
}

StatusOr<std::string> Parser::ExpectName() {
  if (Cur().kind != TokenKind::kName) return Unexpected("a name");
  std::string n = Cur().text;
  Next();
  return n;
}

StatusOr<Body> Parser::ParseAll() { return Subparse({}, "", 0); }

// Parses template data and tags until a block tag whose first name is in `end_names` (left as
// the current token), or the end of the template when `end_names` is empty.
StatusOr<Body> Parser::Subparse(std::initializer_list<std::string_view> end_names,
                                std::string_view tag, int tag_line) {
  NestingGuard guard(*this);
  if (!guard.ok()) return Error("blocks nested too deeply");
  Body body;
  while (Cur().kind != TokenKind::kEof) {
    const Token& tok = Cur();
    if (tok.kind == TokenKind::kData) {
      auto s = MakeStmt(Stmt::Kind::kData, tok.line);
      s->text = tok.text;
      body.push_back(std::move(s));
      Next();
    } else if (tok.kind == TokenKind::kVariableBegin) {
      auto s = MakeStmt(Stmt::Kind::kOutput, tok.line);
      Next();
      ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(false, true, {}, false));
      s->exprs.push_back(std::move(e));
      RETURN_IF_ERROR(ExpectKind(TokenKind::kVariableEnd, "'}}'"));
      body.push_back(std::move(s));
    } else if (tok.kind == TokenKind::kBlockBegin) {
      Next();
      for (std::string_view end : end_names) {
        if (IsName(Cur(), end)) return body;
      }
      ASSIGN_OR_RETURN(StmtPtr s, ParseStatement());
      body.push_back(std::move(s));
      RETURN_IF_ERROR(ExpectKind(TokenKind::kBlockEnd, "end of statement '%}'"));
    } else {
      return Unexpected("template data or a tag");
    }
  }
  if (end_names.size() > 0) {
    std::string names;
    for (std::string_view n : end_names)
      names += (names.empty() ? "'" : " or '") + std::string(n) + "'";
    return Error(fmt::format("unexpected end of template: the '{}' tag opened on line {} needs {}",
                             tag, tag_line, names));
  }
  return body;
}

// After a statement's header: `%}`, then the body up to one of `end_names`.
StatusOr<Body> Parser::ParseStatements(std::initializer_list<std::string_view> end_names,
                                       bool drop_needle, std::string_view tag, int tag_line) {
  SkipOp(":");
  RETURN_IF_ERROR(ExpectKind(TokenKind::kBlockEnd, "end of statement '%}'"));
  ASSIGN_OR_RETURN(Body body, Subparse(end_names, tag, tag_line));
  if (drop_needle) Next();
  return body;
}

StatusOr<StmtPtr> Parser::ParseStatement() {
  if (Cur().kind != TokenKind::kName) return Unexpected("a tag name");
  const std::string tag = Cur().text;
  const int line = Cur().line;
  auto s = MakeStmt(Stmt::Kind::kData, line);
  if (tag == "for") return ParseFor(std::move(s));
  if (tag == "if") return ParseIf(std::move(s));
  if (tag == "set") return ParseSet(std::move(s));
  if (tag == "macro") return ParseMacro(std::move(s));
  if (tag == "call") return ParseCallBlock(std::move(s));
  if (tag == "with") return ParseWith(std::move(s));
  if (tag == "filter") {
    Next();
    s->kind = Stmt::Kind::kFilterBlock;
    RETURN_IF_ERROR(ParseFilterChain(s->filters));
    ASSIGN_OR_RETURN(s->body, ParseStatements({"endfilter"}, true, tag, line));
    return s;
  }
  if (tag == "print") {
    Next();
    s->kind = Stmt::Kind::kOutput;
    while (Cur().kind != TokenKind::kBlockEnd) {
      if (!s->exprs.empty()) RETURN_IF_ERROR(ExpectOp(","));
      ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(true));
      s->exprs.push_back(std::move(e));
    }
    return s;
  }
  if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) return Error(fmt::format("syntax error: '{}' outside loop", tag));
    Next();
    s->kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
    return s;
  }
  if (tag ==
      "generation") {  // Hugging Face's AssistantTracker extension: renders its body in place
    Next();
    s->kind = Stmt::Kind::kScope;
    ASSIGN_OR_RETURN(s->body, ParseStatements({"endgeneration"}, true, tag, line));
    return s;
  }
  if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" || tag == "from" ||
      tag == "autoescape" || tag == "trans") {
    return TemplateError(
        StatusCode::kUnimplemented, name_, line,
        fmt::format("unsupported tag '{}' (chat templates are rendered standalone)", tag));
  }
  return Error(fmt::format("unknown tag '{}'", tag));
}

StatusOr<StmtPtr> Parser::ParseFor(StmtPtr s) {
  const int line = s->line;
  Next();
  s->kind = Stmt::Kind::kFor;
  ASSIGN_OR_RETURN(s->target, ParseAssignTarget({"in"}));
  if (!SkipName("in")) return Unexpected("'in'");
  ASSIGN_OR_RETURN(s->expr, ParseTuple(false, false, {"recursive"}, false));
  if (SkipName("if")) {
    ASSIGN_OR_RETURN(s->condition, ParseExpression(true));
  }
  if (IsName(Cur(), "recursive")) {
    return TemplateError(StatusCode::kUnimplemented, name_, Cur().line,
                         "unsupported construct: recursive for loops");
  }
  ++loop_depth_;
  auto body = ParseStatements({"endfor", "else"}, false, "for", line);
  --loop_depth_;
  if (!body.ok()) return body.status();
  s->body = std::move(body).value();
  if (IsName(Cur(), "else")) {
    Next();
    ASSIGN_OR_RETURN(s->else_body, ParseStatements({"endfor"}, true, "for", line));
  } else {
    Next();
  }
  return s;
}

StatusOr<StmtPtr> Parser::ParseIf(StmtPtr s) {
  const int line = s->line;
  Next();
  s->kind = Stmt::Kind::kIf;
  while (true) {
    ASSIGN_OR_RETURN(ExprPtr cond, ParseTuple(false, false, {}, false));
    ASSIGN_OR_RETURN(Body body, ParseStatements({"elif", "else", "endif"}, false, "if", line));
    s->branches.emplace_back(std::move(cond), std::move(body));
    const std::string which = Cur().text;
    Next();
    if (which == "elif") continue;
    if (which == "else") {
      ASSIGN_OR_RETURN(Body else_body, ParseStatements({"endif"}, true, "if", line));
      s->branches.emplace_back(nullptr, std::move(else_body));
    }
    return s;
  }
}

StatusOr<StmtPtr> Parser::ParseSet(StmtPtr s) {
  Next();
  if (Cur().kind == TokenKind::kName && IsOp(Look(), ".")) {  // namespace attribute: ns.attr
    auto target = MakeExpr(Expr::Kind::kGetAttr, Cur().line);
    auto ns = MakeExpr(Expr::Kind::kName, Cur().line);
    ns->name = Cur().text;
    Next();
    Next();
    ASSIGN_OR_RETURN(target->name, ExpectName());
    target->children.push_back(std::move(ns));
    s->target = std::move(target);
  } else {
    ASSIGN_OR_RETURN(s->target, ParseAssignTarget({}));
  }
  if (SkipOp("=")) {
    s->kind = Stmt::Kind::kSet;
    ASSIGN_OR_RETURN(s->expr, ParseTuple(false, true, {}, false));
    return s;
  }
  s->kind = Stmt::Kind::kSetBlock;
  if (SkipOp("|")) RETURN_IF_ERROR(ParseFilterChain(s->filters));
  ASSIGN_OR_RETURN(s->body, ParseStatements({"endset"}, true, "set", s->line));
  return s;
}

StatusOr<StmtPtr> Parser::ParseWith(StmtPtr s) {
  const int line = s->line;
  Next();
  s->kind = Stmt::Kind::kWith;
  while (Cur().kind != TokenKind::kBlockEnd) {
    if (!s->assignments.empty()) RETURN_IF_ERROR(ExpectOp(","));
    ASSIGN_OR_RETURN(ExprPtr target, ParseAssignTarget({}));
    RETURN_IF_ERROR(ExpectOp("="));
    ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
    s->assignments.emplace_back(std::move(target), std::move(value));
  }
  ASSIGN_OR_RETURN(s->body, ParseStatements({"endwith"}, true, "with", line));
  return s;
}

Status Parser::ParseSignature(Stmt& s) {
  RETURN_IF_ERROR(ExpectOp("("));
  while (!IsOp(Cur(), ")")) {
    if (!s.params.empty()) RETURN_IF_ERROR(ExpectOp(","));
    if (IsOp(Cur(), ")")) break;
    ASSIGN_OR_RETURN(std::string param, ExpectName());
    if (SkipOp("=")) {
      ASSIGN_OR_RETURN(ExprPtr d, ParseExpression(true));
      s.defaults.push_back(std::move(d));
    } else if (!s.defaults.empty()) {
      return Error("syntax error: non-default argument follows default argument");
    }
    s.params.push_back(std::move(param));
  }
  return ExpectOp(")");
}

StatusOr<StmtPtr> Parser::ParseMacro(StmtPtr s) {
  Next();
  s->kind = Stmt::Kind::kMacro;
  ASSIGN_OR_RETURN(s->name, ExpectName());
  RETURN_IF_ERROR(ParseSignature(*s));
  const int saved = loop_depth_;
  loop_depth_ = 0;
  auto body = ParseStatements({"endmacro"}, true, "macro", s->line);
  loop_depth_ = saved;
  if (!body.ok()) return body.status();
  s->body = std::move(body).value();
  return s;
}

StatusOr<StmtPtr> Parser::ParseCallBlock(StmtPtr s) {
  Next();
  s->kind = Stmt::Kind::kCallBlock;
  if (IsOp(Cur(), "(")) RETURN_IF_ERROR(ParseSignature(*s));
  ASSIGN_OR_RETURN(s->expr, ParseExpression(true));
  if (s->expr->kind != Expr::Kind::kCall)
    return Error("syntax error: expected a call after 'call'");
  const int saved = loop_depth_;
  loop_depth_ = 0;
  auto body = ParseStatements({"endcall"}, true, "call", s->line);
  loop_depth_ = saved;
  if (!body.ok()) return body.status();
  s->body = std::move(body).value();
  return s;
}

// A name or a tuple of names (for loops, set, with); names in `extra_end` end the tuple.
StatusOr<ExprPtr> Parser::ParseAssignTarget(std::initializer_list<std::string_view> extra_end) {
  ASSIGN_OR_RETURN(ExprPtr target, ParseTuple(true, true, extra_end, false));
  bool ok = target->kind == Expr::Kind::kName;
  if (target->kind == Expr::Kind::kTuple) {
    ok = true;
    for (const auto& c : target->children) ok = ok && c->kind == Expr::Kind::kName;
  }
  if (!ok) return Error("syntax error: can't assign to this expression", target->line);
  return target;
}

}  // namespace internal

StatusOr<Body> ParseTemplate(const std::vector<Token>& tokens, const std::string& name) {
  internal::Parser parser(tokens, name);
  return parser.ParseAll();
}

}  // namespace kvpress::jinja
