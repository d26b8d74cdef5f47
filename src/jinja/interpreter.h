// The tree-walking interpreter behind Template::Render: statements in interpreter.cc,
// expressions in evaluator.cc, global functions in builtins.cc. Internal to the library.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "jinja/ast.h"
#include "jinja/template.h"

namespace kvpress::jinja::internal {

// One variable frame. Lookups walk `parent`s; `set` writes the innermost frame. For-loop
// iterations, macros, call/filter/set blocks and `with` open a frame; `if` does not (as jinja2).
struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value* Find(const std::string& name) const;
};

// True when `v` is or holds (through lists and dicts) a namespace object.
bool ContainsNamespace(const Value& v);

class Renderer {
 public:
  Renderer(const std::string& name, const RenderOptions& options);
  ~Renderer();

  StatusOr<std::string> Render(const Body& body, const Context& context);

  // Statements (interpreter.cc).
  Status Exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);

  // Expressions (evaluator.cc).
  StatusOr<Value> Eval(const Expr& e, const std::shared_ptr<Scope>& scope);

  // "<name>:<line>: " in front of an error that has no location yet.
  Status Locate(const Status& s, int line) const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Status ExecStmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  Status ExecFor(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  Status ExecCallBlock(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  Status Assign(const Expr& target, const Value& value, Scope& scope, int line);
  StatusOr<Value> ApplyFilterChain(const std::vector<ExprPtr>& filters, Value input,
                                   const std::shared_ptr<Scope>& scope);
  // A macro (or call-block body) as a callable bound to `closure`.
  Value MakeMacro(const Stmt& s, std::shared_ptr<Scope> closure, const std::string& name);
  StatusOr<Value> CallMacro(const Stmt& s, const std::shared_ptr<Scope>& closure,
                            const CallArgs& args);

  // Families of expressions, kept out of line so that Eval's own frame stays small.
  [[gnu::noinline]] StatusOr<Value> EvalCall(const Expr& e, const std::shared_ptr<Scope>& scope,
                                             const Value* caller);
  [[gnu::noinline]] StatusOr<Value> EvalAccess(const Expr& e, const std::shared_ptr<Scope>& scope);
  [[gnu::noinline]] StatusOr<Value> EvalFilterOrTest(const Expr& e,
                                                     const std::shared_ptr<Scope>& scope);
  [[gnu::noinline]] StatusOr<Value> EvalLiteral(const Expr& e, const std::shared_ptr<Scope>& scope);
  [[gnu::noinline]] StatusOr<Value> EvalOperator(const Expr& e,
                                                 const std::shared_ptr<Scope>& scope);
  // Locates an error at `line`, or checks the value's nesting depth.
  StatusOr<Value> Finish(StatusOr<Value> r, int line) const;
  StatusOr<CallArgs> EvalArgs(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope);
  StatusOr<Value> LookupName(const Expr& e, const Scope& scope) const;
  Status CheckDepth(const Value& v, int line) const;
  // Counts one loop iteration or macro call; an error once RenderOptions::max_steps is spent.
  Status Step(int line);

  // Global functions (builtins.cc).
  void InstallGlobals();

  const std::string& name_;
  const RenderOptions& options_;
  std::unordered_map<std::string, Value> globals_;
  Flow flow_ = Flow::kNormal;
  int call_depth_ = 0;
  int64_t steps_ = 0;
  // Scopes that own macros; their variables are cleared after rendering to break the
  // scope -> macro -> closure -> scope reference cycle.
  std::vector<std::shared_ptr<Scope>> macro_scopes_;
};

}  // namespace kvpress::jinja::internal
