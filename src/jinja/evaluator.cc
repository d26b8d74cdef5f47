// Expression evaluation. Eval is a small dispatcher and each family of expressions has its own
// non-inlined function, so that the stack frame per nesting level stays small (deep expression
// trees recurse through Eval).
#include <fmt/format.h>

#include "jinja/filters.h"
#include "jinja/interpreter.h"
#include "jinja/ops.h"

namespace kvpress::jinja::internal {

StatusOr<Value> Renderer::LookupName(const Expr& e, const Scope& scope) const {
  if (const Value* v = scope.Find(e.name)) return *v;
  const auto it = globals_.find(e.name);
  if (it != globals_.end()) return it->second;
  return Value::Undefined(fmt::format("'{}' is undefined", e.name));
}

StatusOr<CallArgs> Renderer::EvalArgs(const Expr& e, size_t first,
                                      const std::shared_ptr<Scope>& scope) {
  CallArgs args;
  for (size_t i = first; i < e.children.size(); ++i) {
    ASSIGN_OR_RETURN(Value v, Eval(*e.children[i], scope));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [k, expr] : e.kwargs) {
    ASSIGN_OR_RETURN(Value v, Eval(*expr, scope));
    args.keyword.emplace_back(k, std::move(v));
  }
  return args;
}

// Containers built by the template stay below kMaxValueDepth (see Value::depth).
Status Renderer::CheckDepth(const Value& v, int line) const {
  if (v.depth() <= kMaxValueDepth) return Status::Ok();
  return TemplateError(StatusCode::kFailedPrecondition, name_, line,
                       fmt::format("value nested more than {} levels deep", kMaxValueDepth));
}

StatusOr<Value> Renderer::Finish(StatusOr<Value> r, int line) const {
  if (!r.ok()) return Locate(r.status(), line);
  RETURN_IF_ERROR(CheckDepth(*r, line));
  if (r->is_string() && r->str().size() > kMaxValueSize) {
    return TemplateError(StatusCode::kFailedPrecondition, name_, line,
                         fmt::format("string value larger than {} bytes", kMaxValueSize));
  }
  return r;
}

StatusOr<Value> Renderer::Eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  switch (e.kind) {
    case Expr::Kind::kConst:
      return e.value;
    case Expr::Kind::kName:
      return LookupName(e, *scope);
    case Expr::Kind::kCall:
      return EvalCall(e, scope, nullptr);
    case Expr::Kind::kGetAttr:
    case Expr::Kind::kGetItem:
    case Expr::Kind::kSlice:
      return EvalAccess(e, scope);
    case Expr::Kind::kFilter:
    case Expr::Kind::kTest:
      return EvalFilterOrTest(e, scope);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple:
    case Expr::Kind::kDict:
      return EvalLiteral(e, scope);
    default:
      return EvalOperator(e, scope);
  }
}

StatusOr<Value> Renderer::EvalCall(const Expr& e, const std::shared_ptr<Scope>& scope,
                                   const Value* caller) {
  ASSIGN_OR_RETURN(Value fn, Eval(*e.children[0], scope));
  if (fn.is_undefined()) return Locate(UndefinedError(fn), e.line);
  if (!fn.is_function()) {
    return TemplateError(StatusCode::kFailedPrecondition, name_, e.line,
                         fmt::format("'{}' object is not callable", fn.TypeName()));
  }
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1, scope));
  if (caller != nullptr) args.keyword.emplace_back("caller", *caller);
  return Finish(fn.function().call(args), e.line);
}

StatusOr<Value> Renderer::EvalAccess(const Expr& e, const std::shared_ptr<Scope>& scope) {
  ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
  if (e.kind == Expr::Kind::kGetAttr) return Finish(GetAttribute(obj, e.name), e.line);
  if (e.kind == Expr::Kind::kGetItem) {
    ASSIGN_OR_RETURN(Value key, Eval(*e.children[1], scope));
    return Finish(GetItem(obj, key), e.line);
  }
  Value parts[3] = {Value::None(), Value::None(), Value::None()};
  for (size_t i = 0; i < 3; ++i) {
    if (e.children[i + 1]) {
      ASSIGN_OR_RETURN(parts[i], Eval(*e.children[i + 1], scope));
    }
  }
  return Finish(Slice(obj, parts[0], parts[1], parts[2]), e.line);
}

StatusOr<Value> Renderer::EvalFilterOrTest(const Expr& e, const std::shared_ptr<Scope>& scope) {
  ASSIGN_OR_RETURN(Value input, Eval(*e.children[0], scope));
  ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1, scope));
  if (e.kind == Expr::Kind::kFilter) return Finish(ApplyFilter(e.name, input, args), e.line);
  auto r = ApplyTest(e.name, input, args);
  if (!r.ok()) return Locate(r.status(), e.line);
  return Value(*r != e.negated);
}

StatusOr<Value> Renderer::EvalLiteral(const Expr& e, const std::shared_ptr<Scope>& scope) {
  if (e.kind == Expr::Kind::kDict) {
    DictObject d;
    for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
      ASSIGN_OR_RETURN(Value k, Eval(*e.children[i], scope));
      ASSIGN_OR_RETURN(Value v, Eval(*e.children[i + 1], scope));
      d.Set(std::move(k), std::move(v));
    }
    return Finish(Value::Dict(std::move(d)), e.line);
  }
  std::vector<Value> items;
  items.reserve(e.children.size());
  for (const ExprPtr& c : e.children) {
    ASSIGN_OR_RETURN(Value v, Eval(*c, scope));
    items.push_back(std::move(v));
  }
  return Finish(Value::List(std::move(items), e.kind == Expr::Kind::kTuple), e.line);
}

StatusOr<Value> Renderer::EvalOperator(const Expr& e, const std::shared_ptr<Scope>& scope) {
  switch (e.kind) {
    case Expr::Kind::kNeg:
    case Expr::Kind::kPos: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
      return Finish(UnaryOp(e.kind == Expr::Kind::kNeg ? "-" : "+", v), e.line);
    }
    case Expr::Kind::kNot: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
      return Value(!v.Truthy());
    }
    case Expr::Kind::kBinary: {
      ASSIGN_OR_RETURN(Value l, Eval(*e.children[0], scope));
      ASSIGN_OR_RETURN(Value r, Eval(*e.children[1], scope));
      return Finish(BinaryOp(e.name, l, r), e.line);
    }
    case Expr::Kind::kConcat: {
      std::string s;
      for (const ExprPtr& c : e.children) {
        ASSIGN_OR_RETURN(Value v, Eval(*c, scope));
        s += v.ToString();
      }
      return Value(std::move(s));
    }
    case Expr::Kind::kCompare: {
      ASSIGN_OR_RETURN(Value left, Eval(*e.children[0], scope));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        ASSIGN_OR_RETURN(Value right, Eval(*e.children[i + 1], scope));
        auto r = CompareOp(e.ops[i], left, right);
        if (!r.ok()) return Locate(r.status(), e.line);
        if (!*r) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr: {
      ASSIGN_OR_RETURN(Value l, Eval(*e.children[0], scope));
      if (l.Truthy() == (e.kind == Expr::Kind::kOr)) return l;
      return Eval(*e.children[1], scope);
    }
    case Expr::Kind::kCondExpr: {
      ASSIGN_OR_RETURN(Value c, Eval(*e.children[0], scope));
      if (c.Truthy()) return Eval(*e.children[1], scope);
      if (e.children[2]) return Eval(*e.children[2], scope);
      return Value::Undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined",
          e.line));
    }
    default:
      return Internal("unknown expression kind");
  }
}

}  // namespace kvpress::jinja::internal
