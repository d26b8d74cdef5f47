// Values of the chat-template interpreter: the JSON-like data a template sees (None, bool, int,
// float, str, list/tuple, dict) plus Jinja's Undefined and callables (built-ins, bound methods,
// macros), with Python's semantics for truthiness, equality, ordering, str() and repr().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kvpress::jinja {

class Value;

// A Python list or tuple. Shared by reference between Values (templates cannot mutate lists).
struct ListObject {
  std::vector<Value> items;
  bool is_tuple = false;
  uint32_t depth = 1;  // container nesting depth (see Value::depth)
};

// A Python dict (insertion-ordered) or a Jinja namespace() object (the only mutable object a
// template can write to, through `{% set ns.attr = ... %}`).
struct DictObject {
  std::vector<std::pair<Value, Value>> items;
  bool is_namespace = false;
  uint32_t depth = 1;  // container nesting depth, kept up to date by Set and Value::Dict

  // Entry for `key` (Python equality: 1 == 1.0 == True), or nullptr.
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
  // Inserts or replaces, keeping the first insertion's position.
  void Set(Value key, Value value);
};

// Arguments of a call: positional, then keyword in source order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // The argument at `index` when given positionally, else the keyword `name`, else nullptr.
  const Value* Get(size_t index, std::string_view name) const;
};

// A callable value. Errors it returns carry no template location (the caller adds the line).
struct Function {
  std::string name;  // shown in error messages
  std::function<StatusOr<Value>(const CallArgs&)> call;
};

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  // Undefined, with the message an error about it would show ("'x' is undefined").
  Value() = default;
  static Value Undefined(std::string hint) {
    Value v;
    v.data_ = UndefinedHint{std::move(hint)};
    return v;
  }
  static Value None() {
    Value v;
    v.data_ = NoneTag{};
    return v;
  }
  Value(bool b) : data_(b) {}                       // NOLINT: implicit by design
  Value(int v) : data_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(int64_t v) : data_(v) {}                    // NOLINT
  Value(double v) : data_(v) {}                     // NOLINT
  Value(std::string s) : data_(std::move(s)) {}     // NOLINT
  Value(const char* s) : data_(std::string(s)) {}   // NOLINT
  static Value List(std::vector<Value> items, bool is_tuple = false);
  static Value Dict(DictObject dict);
  static Value Namespace(DictObject attrs);
  static Value Callable(std::string name, std::function<StatusOr<Value>(const CallArgs&)> call);

  // Converts parsed JSON (integers stay int, key order is kept for ordered_json). Containers
  // nested deeper than kMaxValueDepth become None; callers reject such input first.
  static Value FromJson(const nlohmann::json& j);
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_tuple() const { return is_list() && std::get<std::shared_ptr<ListObject>>(data_)->is_tuple; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_mapping() const { return is_dict() && !dict().is_namespace; }
  bool is_namespace() const { return is_dict() && dict().is_namespace; }
  bool is_function() const { return kind() == Kind::kFunction; }

  // Container nesting: 0 for scalars, 1 + the deepest item for lists, tuples and dicts. The
  // interpreter keeps values below kMaxValueDepth so that printing, comparing and destroying them
  // cannot exhaust the stack.
  uint32_t depth() const;

  // Accessors; the kind must match (checked by std::get).
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return is_bool() ? static_cast<int64_t>(as_bool()) : std::get<int64_t>(data_); }
  double as_double() const;  // int, bool or float
  const std::string& str() const { return std::get<std::string>(data_); }
  const std::vector<Value>& items() const { return std::get<std::shared_ptr<ListObject>>(data_)->items; }
  DictObject& dict() const { return *std::get<std::shared_ptr<DictObject>>(data_); }
  const Function& function() const { return *std::get<std::shared_ptr<Function>>(data_); }
  const std::string& undefined_hint() const { return std::get<UndefinedHint>(data_).hint; }

  // Python's bool(x); Undefined is false.
  bool Truthy() const;
  // Python's str(x) as Jinja prints it: Undefined -> "", None -> "None", True -> "True",
  // floats as repr(), containers as Python's repr of their items.
  std::string ToString() const;
  // Python's repr(x).
  std::string Repr() const;
  // Python's type name ("str", "int", "dict", "NoneType", "Undefined", ...), for errors.
  std::string TypeName() const;
  // Python ==. Undefined equals only Undefined; list never equals tuple.
  bool Equals(const Value& other) const;
  // Python <, for numbers, strings and sequences; error for other pairs.
  StatusOr<bool> Less(const Value& other) const;
  // Identity for containers/functions, equality for scalars (Jinja's `sameas`).
  bool SameAs(const Value& other) const;

 private:
  struct UndefinedHint {
    std::string hint;
  };
  struct NoneTag {};
  std::variant<UndefinedHint, NoneTag, bool, int64_t, double, std::string, std::shared_ptr<ListObject>,
               std::shared_ptr<DictObject>, std::shared_ptr<Function>>
      data_;
};

// Deepest container nesting a template may build or receive (Python's own repr gives up near 1000).
inline constexpr uint32_t kMaxValueDepth = 200;

// repr() of a float as CPython prints it: shortest round-trip digits, "1.0", "1e-05", "1e+16",
// "inf", "nan".
std::string PyFloatRepr(double v);

// Options of Python's json.dumps as Hugging Face's `tojson` filter exposes them.
struct JsonDumpOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;  // the per-level indent string when has_indent
  std::optional<std::pair<std::string, std::string>> separators;  // (item, key)
  bool sort_keys = false;
};
// json.dumps(v, ...). Undefined, functions and namespaces are errors (not JSON serializable).
StatusOr<std::string> PyJsonDumps(const Value& v, const JsonDumpOptions& options);

}  // namespace kvpress::jinja
