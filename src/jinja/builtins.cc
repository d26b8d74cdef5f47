// Global functions of Hugging Face's chat-template environment.
#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "jinja/interpreter.h"

namespace kvpress::jinja::internal {
namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

StatusOr<Value> Range(const CallArgs& a) {
  if (!a.keyword.empty()) return FailedPrecondition("range() takes no keyword arguments");
  int64_t v[3] = {0, 0, 1};
  const size_t n = a.positional.size();
  if (n < 1 || n > 3)
    return FailedPrecondition(fmt::format("range expected 1 to 3 arguments, got {}", n));
  for (size_t i = 0; i < n; ++i) {
    const Value& x = a.positional[i];
    if (!x.is_int() && !x.is_bool()) {
      return FailedPrecondition(
          fmt::format("'{}' object cannot be interpreted as an integer", x.TypeName()));
    }
  }
  if (n == 1) {
    v[1] = a.positional[0].as_int();
  } else {
    v[0] = a.positional[0].as_int();
    v[1] = a.positional[1].as_int();
    if (n == 3) v[2] = a.positional[2].as_int();
  }
  if (v[2] == 0) return FailedPrecondition("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) {
      return FailedPrecondition(fmt::format(
          "Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange));
    }
    out.emplace_back(i);
    if ((v[2] > 0 && i > INT64_MAX - v[2]) || (v[2] < 0 && i < INT64_MIN - v[2])) break;
  }
  return Value::List(std::move(out));
}

// dict(*args, **kwargs): a mapping or an iterable of pairs, then keywords.
StatusOr<DictObject> DictFromArgs(const CallArgs& a, std::string_view fn) {
  DictObject d;
  if (a.positional.size() > 1)
    return FailedPrecondition(fmt::format("{} expected at most 1 argument", fn));
  if (a.positional.size() == 1) {
    const Value& src = a.positional[0];
    if (src.is_mapping() || src.is_namespace()) {
      d.items = src.dict().items;
    } else if (src.is_list()) {
      for (const Value& pair : src.items()) {
        if (!pair.is_list() || pair.items().size() != 2) {
          return FailedPrecondition(fmt::format("{}: sequence elements must be pairs", fn));
        }
        d.Set(pair.items()[0], pair.items()[1]);
      }
    } else {
      return FailedPrecondition(
          fmt::format("{}: '{}' object is not a mapping", fn, src.TypeName()));
    }
  }
  for (const auto& [k, v] : a.keyword) d.Set(Value(k), v);
  d.is_namespace = false;
  return d;
}

}  // namespace

void Renderer::InstallGlobals() {
  globals_["range"] = Value::Callable("range", Range);
  globals_["dict"] = Value::Callable("dict", [](const CallArgs& a) -> StatusOr<Value> {
    ASSIGN_OR_RETURN(DictObject d, DictFromArgs(a, "dict"));
    return Value::Dict(std::move(d));
  });
  globals_["namespace"] = Value::Callable("namespace", [](const CallArgs& a) -> StatusOr<Value> {
    ASSIGN_OR_RETURN(DictObject d, DictFromArgs(a, "namespace"));
    for (const auto& kv : d.items) {
      if (ContainsNamespace(kv.second)) {
        return Unimplemented("unsupported construct: storing a namespace inside a namespace");
      }
      if (kv.first.is_string() && !kv.first.str().empty() && kv.first.str()[0] == '_') {
        return FailedPrecondition(
            fmt::format("Chat templates cannot store underscore-prefixed attributes on a "
                        "namespace, but got '{}'",
                        kv.first.str()));
      }
    }
    return Value::Namespace(std::move(d));
  });
  globals_["raise_exception"] =
      Value::Callable("raise_exception", [](const CallArgs& a) -> StatusOr<Value> {
        const Value* msg = a.Get(0, "message");
        return FailedPrecondition(
            fmt::format("template raised an exception: {}", msg ? msg->ToString() : ""));
      });
  const RenderOptions* options = &options_;
  globals_["strftime_now"] =
      Value::Callable("strftime_now", [options](const CallArgs& a) -> StatusOr<Value> {
        const Value* f = a.Get(0, "format");
        if (f == nullptr || !f->is_string())
          return FailedPrecondition("strftime_now() expects a format string");
        std::tm tm{};
        if (options->now) {
          tm = options->now();
        } else {
          const std::time_t t =
              std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
          localtime_r(&t, &tm);
        }
        if (f->str().empty()) return Value("");
        std::string buf(256, '\0');
        for (int tries = 0; tries < 8; ++tries) {
          const size_t n = std::strftime(buf.data(), buf.size(), f->str().c_str(), &tm);
          if (n > 0) return Value(buf.substr(0, n));
          buf.resize(buf.size() * 4);
        }
        return Value("");
      });
}

}  // namespace kvpress::jinja::internal
