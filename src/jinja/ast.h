// Syntax tree of a parsed template: expressions (Expr) and statements (Stmt), mirroring the jinja2
// node types that the supported subset needs. Every node records its 1-based source line.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace kvpress::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kConst,     // value
    kName,      // name
    kGetAttr,   // children[0].name   (also `{% set ns.attr %}` targets)
    kGetItem,   // children[0][children[1]]
    kSlice,     // children[0][children[1]:children[2]:children[3]]; missing parts are nullptr
    kCall,      // children[0](children[1..], kwargs)
    kFilter,    // children[0] | name(children[1..], kwargs); children[0] is nullptr in filter blocks
    kTest,      // children[0] is [not] name(children[1..], kwargs)   (negated)
    kNeg,       // -children[0]
    kPos,       // +children[0]
    kNot,       // not children[0]
    kBinary,    // children[0] <name> children[1]; name is + - * / // % **
    kConcat,    // children joined with ~
    kCompare,   // children[0] ops[0] children[1] ops[1] children[2] ... (chained)
    kAnd,       // children[0] and children[1]
    kOr,        // children[0] or children[1]
    kCondExpr,  // children[1] if children[0] else children[2] (children[2] may be nullptr)
    kList,      // [children...]
    kTuple,     // (children...)
    kDict,      // {children[0]: children[1], children[2]: children[3], ...}
  };

  Kind kind = Kind::kConst;
  int line = 1;
  int depth = 1;  // height of this subtree (bounded by the parser; evaluation recurses on it)
  Value value;
  std::string name;
  bool negated = false;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;                         // kCompare: == != < <= > >= in notin
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // kCall, kFilter, kTest
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    kData,         // text
    kOutput,       // {{ expr }} / {% print %}: exprs rendered in order
    kIf,           // branches: (condition, body); a final else has a null condition
    kFor,          // for target in expr [if condition]: body [else else_body]
    kSet,          // set target = expr (target: name, tuple of names or namespace attribute)
    kSetBlock,     // set target %} body {% endset, then filters
    kMacro,        // macro name(params = defaults) body
    kCallBlock,    // call(params) expr: body is the `caller`
    kFilterBlock,  // filter filters: body
    kWith,         // with assignments: body (new scope)
    kBreak,
    kContinue,
    kScope,        // a body rendered in place (Hugging Face's {% generation %} block)
  };

  Kind kind = Kind::kData;
  int line = 1;
  std::string text;
  std::string name;
  std::vector<ExprPtr> exprs;
  ExprPtr target;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // defaults[i] belongs to params[params.size() - defaults.size() + i]
  std::vector<ExprPtr> filters;   // kFilter nodes with a null input
  std::vector<std::pair<ExprPtr, ExprPtr>> assignments;
};

}  // namespace kvpress::jinja
