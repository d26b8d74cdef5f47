// The recursive-descent parser behind ParseTemplate (parser.h), shared by parser.cc (statements)
// and parser_expr.cc (expressions). Internal to the chat-template library.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace kvpress::jinja::internal {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : t_(tokens), name_(name) {}

  // The whole template.
  StatusOr<Body> ParseAll();

 private:
  // ---- tokens ---------------------------------------------------------------------------------
  const Token& Cur() const { return t_[pos_]; }
  const Token& Look() const { return t_[pos_ + 1 < t_.size() ? pos_ + 1 : pos_]; }
  void Next() {
    if (pos_ + 1 < t_.size()) ++pos_;
  }
  static bool IsOp(const Token& t, std::string_view op) {
    return t.kind == TokenKind::kOperator && t.text == op;
  }
  static bool IsName(const Token& t, std::string_view n) {
    return t.kind == TokenKind::kName && t.text == n;
  }
  bool SkipOp(std::string_view op);
  bool SkipName(std::string_view n);
  Status Error(std::string_view msg, int line = -1) const;
  Status Unexpected(std::string_view expected) const;
  Status ExpectOp(std::string_view op);
  Status ExpectKind(TokenKind kind, std::string_view what);
  StatusOr<std::string> ExpectName();

  // ---- statements (parser.cc) -----------------------------------------------------------------
  StatusOr<Body> Subparse(std::initializer_list<std::string_view> end_names, std::string_view tag,
                          int tag_line);
  StatusOr<Body> ParseStatements(std::initializer_list<std::string_view> end_names,
                                 bool drop_needle, std::string_view tag, int tag_line);
  StatusOr<StmtPtr> ParseStatement();
  StatusOr<StmtPtr> ParseFor(StmtPtr s);
  StatusOr<StmtPtr> ParseIf(StmtPtr s);
  StatusOr<StmtPtr> ParseSet(StmtPtr s);
  StatusOr<StmtPtr> ParseMacro(StmtPtr s);
  StatusOr<StmtPtr> ParseCallBlock(StmtPtr s);
  StatusOr<StmtPtr> ParseWith(StmtPtr s);
  Status ParseSignature(Stmt& s);
  StatusOr<ExprPtr> ParseAssignTarget(std::initializer_list<std::string_view> extra_end);

  // ---- expressions (parser_expr.cc) -----------------------------------------------------------
  // Sets e.depth from its children; an error when the tree grows deeper than kMaxExprDepth
  // (long operator/filter/attribute chains build left-deep trees without recursing).
  Status Deepen(Expr& e) const;
  bool IsTupleEnd(std::initializer_list<std::string_view> extra_end) const;
  StatusOr<ExprPtr> ParseTuple(bool simplified, bool with_condexpr,
                               std::initializer_list<std::string_view> extra_end,
                               bool explicit_parentheses);
  StatusOr<ExprPtr> ParseExpression(bool with_condexpr);
  StatusOr<ExprPtr> ParseOr();
  StatusOr<ExprPtr> ParseAnd();
  StatusOr<ExprPtr> ParseNot();
  StatusOr<ExprPtr> ParseCompare();
  StatusOr<ExprPtr> ParseMath1();
  StatusOr<ExprPtr> ParseConcat();
  StatusOr<ExprPtr> ParseMath2();
  StatusOr<ExprPtr> ParsePow();
  StatusOr<ExprPtr> ParseUnary(bool with_filter);
  StatusOr<ExprPtr> ParsePrimary();
  StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  StatusOr<ExprPtr> ParseSubscript(ExprPtr node);
  StatusOr<ExprPtr> ParseSubscribed();
  Status ParseCallArgs(Expr& call);
  Status ParseFilterChain(std::vector<ExprPtr>& filters);
  StatusOr<ExprPtr> ParseFilter(ExprPtr input);
  StatusOr<ExprPtr> ParseTest(ExprPtr input);

  const std::vector<Token>& t_;
  const std::string& name_;
  size_t pos_ = 0;
  int loop_depth_ = 0;  // break/continue are only valid inside a loop body
  int nesting_ =
      0;  // recursion depth of the parser, bounded so hostile input cannot overflow the stack

  friend class NestingGuard;
};

inline constexpr int kMaxExprDepth = 500;

// Counts one level of parser recursion; `ok()` is false beyond kMaxNesting levels.
class NestingGuard {
 public:
  static constexpr int kMaxNesting = 100;
  explicit NestingGuard(Parser& p) : p_(p) { ++p_.nesting_; }
  ~NestingGuard() { --p_.nesting_; }
  bool ok() const { return p_.nesting_ <= kMaxNesting; }

 private:
  Parser& p_;
};

ExprPtr MakeExpr(Expr::Kind kind, int line);
ExprPtr MakeBinary(Expr::Kind kind, std::string op, ExprPtr left, ExprPtr right, int line);

}  // namespace kvpress::jinja::internal
