// Statement execution and the Template entry points.
#include "jinja/interpreter.h"

#include <fmt/format.h>

#include "jinja/filters.h"
#include "jinja/ops.h"
#include "jinja/parser.h"

namespace kvpress::jinja {

StatusOr<Template> Template::Parse(std::string_view source, std::string name,
                                   const LexerOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source, options, name));
  ASSIGN_OR_RETURN(Body body, ParseTemplate(tokens, name));
  return Template(std::make_shared<const Body>(std::move(body)), std::move(name));
}

StatusOr<std::string> Template::Render(const Context& context, const RenderOptions& options) const {
  internal::Renderer renderer(name_, options);
  return renderer.Render(*body_, context);
}

namespace internal {

bool ContainsNamespace(const Value& v) {
  if (v.is_namespace()) return true;
  if (v.is_list()) {
    for (const Value& item : v.items()) {
      if (ContainsNamespace(item)) return true;
    }
  } else if (v.is_dict()) {
    for (const auto& [k, item] : v.dict().items) {
      if (ContainsNamespace(item)) return true;
    }
  }
  return false;
}

const Value* Scope::Find(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Renderer::Renderer(const std::string& name, const RenderOptions& options)
    : name_(name), options_(options) {
  InstallGlobals();
}

Renderer::~Renderer() {
  for (auto& s : macro_scopes_) s->vars.clear();
}

Status Renderer::Locate(const Status& s, int line) const {
  if (s.ok() || s.message().rfind(name_ + ":", 0) == 0) return s;
  return TemplateError(s.code(), name_, line, s.message());
}

StatusOr<std::string> Renderer::Render(const Body& body, const Context& context) {
  auto root = std::make_shared<Scope>();
  root->vars.insert(context.begin(), context.end());
  std::string out;
  RETURN_IF_ERROR(Exec(body, root, out));
  return out;
}

Status Renderer::Exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const StmtPtr& s : body) {
    RETURN_IF_ERROR(ExecStmt(*s, scope, out));
    if (out.size() > options_.max_output_bytes) {
      return TemplateError(StatusCode::kFailedPrecondition, name_, s->line,
                           fmt::format("output exceeds {} bytes", options_.max_output_bytes));
    }
    if (flow_ != Flow::kNormal) return Status::Ok();
  }
  return Status::Ok();
}

Status Renderer::ExecStmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  switch (s.kind) {
    case Stmt::Kind::kData:
      out += s.text;
      return Status::Ok();
    case Stmt::Kind::kOutput:
      for (const ExprPtr& e : s.exprs) {
        ASSIGN_OR_RETURN(Value v, Eval(*e, scope));
        out += v.ToString();
      }
      return Status::Ok();
    case Stmt::Kind::kIf:
      for (const auto& [cond, body] : s.branches) {
        bool take = true;
        if (cond) {
          ASSIGN_OR_RETURN(Value c, Eval(*cond, scope));
          take = c.Truthy();
        }
        if (take) return Exec(body, scope, out);
      }
      return Status::Ok();
    case Stmt::Kind::kFor:
      return ExecFor(s, scope, out);
    case Stmt::Kind::kSet: {
      ASSIGN_OR_RETURN(Value v, Eval(*s.expr, scope));
      return Assign(*s.target, v, *scope, s.line);
    }
    case Stmt::Kind::kSetBlock: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      std::string text;
      RETURN_IF_ERROR(Exec(s.body, inner, text));
      ASSIGN_OR_RETURN(Value v, ApplyFilterChain(s.filters, Value(std::move(text)), scope));
      return Assign(*s.target, v, *scope, s.line);
    }
    case Stmt::Kind::kMacro:
      scope->vars[s.name] = MakeMacro(s, scope, s.name);
      macro_scopes_.push_back(scope);
      return Status::Ok();
    case Stmt::Kind::kCallBlock:
      return ExecCallBlock(s, scope, out);
    case Stmt::Kind::kFilterBlock: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      std::string text;
      RETURN_IF_ERROR(Exec(s.body, inner, text));
      ASSIGN_OR_RETURN(Value v, ApplyFilterChain(s.filters, Value(std::move(text)), scope));
      out += v.ToString();
      return Status::Ok();
    }
    case Stmt::Kind::kWith: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      for (const auto& [target, value] : s.assignments) {
        ASSIGN_OR_RETURN(Value v, Eval(*value, scope));
        RETURN_IF_ERROR(Assign(*target, v, *inner, s.line));
      }
      return Exec(s.body, inner, out);
    }
    case Stmt::Kind::kBreak:
      flow_ = Flow::kBreak;
      return Status::Ok();
    case Stmt::Kind::kContinue:
      flow_ = Flow::kContinue;
      return Status::Ok();
    case Stmt::Kind::kScope:
      return Exec(s.body, scope, out);
  }
  return Status::Ok();
}

Status Renderer::ExecFor(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, scope));
  auto all = Iterate(iterable);
  if (!all.ok()) return Locate(all.status(), s.expr->line);
  std::vector<Value> items;
  if (s.condition) {  // `for x in xs if cond`: filters before the loop, so loop.length counts kept
                      // items
    for (Value& item : *all) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      RETURN_IF_ERROR(Assign(*s.target, item, *probe, s.line));
      ASSIGN_OR_RETURN(Value keep, Eval(*s.condition, probe));
      if (keep.Truthy()) items.push_back(std::move(item));
    }
  } else {
    items = std::move(all).value();
  }
  if (items.empty()) {
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    return Exec(s.else_body, inner, out);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  auto index0 = std::make_shared<int64_t>(0);
  auto last_changed = std::make_shared<std::optional<Value>>();
  const Value cycle = Value::Callable("loop.cycle", [index0](const CallArgs& a) -> StatusOr<Value> {
    if (a.positional.empty()) return FailedPrecondition("loop.cycle(): no items for cycling given");
    return a.positional[static_cast<size_t>(*index0) % a.positional.size()];
  });
  const Value changed =
      Value::Callable("loop.changed", [last_changed](const CallArgs& a) -> StatusOr<Value> {
        Value now = Value::List(a.positional, true);
        if (last_changed->has_value() && (*last_changed)->Equals(now)) return Value(false);
        *last_changed = std::move(now);
        return Value(true);
      });
  for (int64_t i = 0; i < n; ++i) {
    RETURN_IF_ERROR(Step(s.line));
    *index0 = i;
    DictObject loop;
    loop.items.reserve(14);
    loop.Set(Value("index"), Value(i + 1));
    loop.Set(Value("index0"), Value(i));
    loop.Set(Value("revindex"), Value(n - i));
    loop.Set(Value("revindex0"), Value(n - i - 1));
    loop.Set(Value("first"), Value(i == 0));
    loop.Set(Value("last"), Value(i == n - 1));
    loop.Set(Value("length"), Value(n));
    loop.Set(Value("depth"), Value(1));
    loop.Set(Value("depth0"), Value(0));
    if (i > 0) loop.Set(Value("previtem"), items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.Set(Value("nextitem"), items[static_cast<size_t>(i + 1)]);
    loop.Set(Value("cycle"), cycle);
    loop.Set(Value("changed"), changed);
    auto iter = std::make_shared<Scope>();
    iter->parent = scope;
    iter->vars["loop"] = Value::Dict(std::move(loop));
    RETURN_IF_ERROR(Assign(*s.target, items[static_cast<size_t>(i)], *iter, s.line));
    RETURN_IF_ERROR(Exec(s.body, iter, out));
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
  return Status::Ok();
}

Status Renderer::Assign(const Expr& target, const Value& value, Scope& scope, int line) {
  if (target.kind == Expr::Kind::kName) {
    scope.vars[target.name] = value;
    return Status::Ok();
  }
  if (target.kind == Expr::Kind::kGetAttr) {  // {% set ns.attr = value %}
    const std::string& ns_name = target.children[0]->name;
    const Value* ns = scope.Find(ns_name);
    if (ns == nullptr) ns = globals_.count(ns_name) ? &globals_[ns_name] : nullptr;
    if (ns == nullptr || !ns->is_namespace()) {
      return TemplateError(StatusCode::kFailedPrecondition, name_, line,
                           fmt::format("cannot assign attribute '{}' on non-namespace object '{}'",
                                       target.name, ns_name));
    }
    if (!target.name.empty() && target.name[0] == '_') {
      return TemplateError(
          StatusCode::kFailedPrecondition, name_, line,
          fmt::format("cannot store underscore-prefixed attribute '{}' on a namespace",
                      target.name));
    }
    // A namespace is the only mutable object: keeping namespaces out of namespaces rules out
    // reference cycles (and the unbounded nesting they would allow).
    if (ContainsNamespace(value)) {
      return TemplateError(
          StatusCode::kUnimplemented, name_, line,
          "unsupported construct: storing a namespace inside a namespace attribute");
    }
    ns->dict().Set(Value(target.name), value);
    return Status::Ok();
  }
  // Tuple unpacking.
  auto items = Iterate(value);
  if (!items.ok())
    return Locate(
        FailedPrecondition(fmt::format("cannot unpack non-iterable {} object", value.TypeName())),
        line);
  const size_t want = target.children.size();
  if (items->size() != want) {
    return TemplateError(StatusCode::kFailedPrecondition, name_, line,
                         items->size() > want
                             ? fmt::format("too many values to unpack (expected {})", want)
                             : fmt::format("not enough values to unpack (expected {}, got {})",
                                           want, items->size()));
  }
  for (size_t i = 0; i < want; ++i)
    RETURN_IF_ERROR(Assign(*target.children[i], (*items)[i], scope, line));
  return Status::Ok();
}

StatusOr<Value> Renderer::ApplyFilterChain(const std::vector<ExprPtr>& filters, Value input,
                                           const std::shared_ptr<Scope>& scope) {
  for (const ExprPtr& f : filters) {
    ASSIGN_OR_RETURN(CallArgs args, EvalArgs(*f, 1, scope));
    auto r = ApplyFilter(f->name, input, args);
    if (!r.ok()) return Locate(r.status(), f->line);
    input = std::move(r).value();
  }
  return input;
}

Status Renderer::Step(int line) {
  if (++steps_ <= options_.max_steps) return Status::Ok();
  return TemplateError(
      StatusCode::kFailedPrecondition, name_, line,
      fmt::format("more than {} loop iterations and macro calls (a runaway template?)",
                  options_.max_steps));
}

Value Renderer::MakeMacro(const Stmt& s, std::shared_ptr<Scope> closure, const std::string& name) {
  return Value::Callable(
      name, [this, &s, closure](const CallArgs& args) { return CallMacro(s, closure, args); });
}

StatusOr<Value> Renderer::CallMacro(const Stmt& s, const std::shared_ptr<Scope>& closure,
                                    const CallArgs& args) {
  if (call_depth_ >= options_.max_call_depth) {
    return TemplateError(StatusCode::kFailedPrecondition, name_, s.line,
                         "maximum macro recursion depth exceeded");
  }
  RETURN_IF_ERROR(Step(s.line));
  auto frame = std::make_shared<Scope>();
  frame->parent = closure;
  const size_t first_default = s.params.size() - s.defaults.size();
  std::vector<Value> varargs;
  for (size_t i = s.params.size(); i < args.positional.size(); ++i)
    varargs.push_back(args.positional[i]);
  DictObject kwargs;
  for (const auto& [k, v] : args.keyword) {
    bool is_param = k == "caller";
    for (const std::string& p : s.params) is_param = is_param || p == k;
    if (!is_param) kwargs.Set(Value(k), v);
  }
  frame->vars["varargs"] = Value::List(std::move(varargs), true);
  frame->vars["kwargs"] = Value::Dict(std::move(kwargs));
  if (const Value* caller = args.Get(SIZE_MAX, "caller")) frame->vars["caller"] = *caller;
  for (size_t i = 0; i < s.params.size(); ++i) {
    if (const Value* v = args.Get(i, s.params[i])) {
      frame->vars[s.params[i]] = *v;
    } else if (i >= first_default) {
      ASSIGN_OR_RETURN(frame->vars[s.params[i]], Eval(*s.defaults[i - first_default], frame));
    } else {
      frame->vars[s.params[i]] =
          Value::Undefined(fmt::format("parameter '{}' was not provided", s.params[i]));
    }
  }
  ++call_depth_;
  std::string out;
  const Status st = Exec(s.body, frame, out);
  --call_depth_;
  RETURN_IF_ERROR(st);
  return Value(std::move(out));
}

Status Renderer::ExecCallBlock(const Stmt& s, const std::shared_ptr<Scope>& scope,
                               std::string& out) {
  const Value caller = MakeMacro(s, scope, "caller");
  macro_scopes_.push_back(scope);
  ASSIGN_OR_RETURN(Value v, EvalCall(*s.expr, scope, &caller));
  out += v.ToString();
  return Status::Ok();
}

}  // namespace internal
}  // namespace kvpress::jinja
