#include "jinja/value.h"

#include <fmt/format.h>

#include <algorithm>

#include "jinja/text.h"

namespace kvpress::jinja {

const Value* DictObject::Find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (k.Equals(key)) return &v;
  }
  return nullptr;
}

const Value* DictObject::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

void DictObject::Set(Value key, Value value) {
  depth = std::max(depth, 1 + std::max(key.depth(), value.depth()));
  for (auto& [k, v] : items) {
    if (k.Equals(key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::Get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::List(std::vector<Value> items, bool is_tuple) {
  Value v;
  auto obj = std::make_shared<ListObject>();
  obj->items = std::move(items);
  obj->is_tuple = is_tuple;
  for (const Value& item : obj->items) obj->depth = std::max(obj->depth, 1 + item.depth());
  v.data_ = std::move(obj);
  return v;
}

Value Value::Dict(DictObject dict) {
  dict.depth = 1;
  for (const auto& [k, val] : dict.items)
    dict.depth = std::max(dict.depth, 1 + std::max(k.depth(), val.depth()));
  Value v;
  v.data_ = std::make_shared<DictObject>(std::move(dict));
  return v;
}

Value Value::Namespace(DictObject attrs) {
  attrs.is_namespace = true;
  return Dict(std::move(attrs));
}

Value Value::Callable(std::string name, std::function<StatusOr<Value>(const CallArgs&)> call) {
  Value v;
  v.data_ = std::make_shared<Function>(Function{std::move(name), std::move(call)});
  return v;
}

namespace {

template <typename Json>
Value ValueFromJson(const Json& j, uint32_t depth) {
  if (depth > kMaxValueDepth) return Value::None();  // see FromJson's contract
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::None();
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(ValueFromJson(e, depth + 1));
      return Value::List(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      DictObject d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it)
        d.items.emplace_back(Value(it.key()), ValueFromJson(it.value(), depth + 1));
      return Value::Dict(std::move(d));
    }
    default:
      return Value::None();
  }
}

std::string JoinRepr(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i].Repr();
  }
  return out;
}

}  // namespace

Value Value::FromJson(const nlohmann::json& j) { return ValueFromJson(j, 1); }
Value Value::FromJson(const nlohmann::ordered_json& j) { return ValueFromJson(j, 1); }

uint32_t Value::depth() const {
  if (is_list()) return std::get<std::shared_ptr<ListObject>>(data_)->depth;
  if (is_dict()) return dict().depth;
  return 0;
}

double Value::as_double() const {
  if (is_float()) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int() != 0;
    case Kind::kFloat:
      return as_double() != 0.0;
    case Kind::kString:
      return !str().empty();
    case Kind::kList:
      return !items().empty();
    case Kind::kDict:
      return is_namespace() || !dict().items.empty();
    case Kind::kFunction:
      return true;
  }
  return false;
}

std::string Value::ToString() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "";
    case Kind::kString:
      return str();
    default:
      return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return as_bool() ? "True" : "False";
    case Kind::kInt:
      return std::to_string(as_int());
    case Kind::kFloat:
      return PyFloatRepr(as_double());
    case Kind::kString:
      return PyStrRepr(str());
    case Kind::kList: {
      std::string out(1, is_tuple() ? '(' : '[');
      out += JoinRepr(items());
      out += is_tuple() ? (items().size() == 1 ? ",)" : ")") : "]";
      return out;
    }
    case Kind::kDict: {
      std::string out = is_namespace() ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict().items) {
        if (!first) out += ", ";
        first = false;
        out += k.Repr() + ": " + v.Repr();
      }
      return out + (is_namespace() ? "}>" : "}");
    }
    case Kind::kFunction:
      return "<function " + function().name + ">";
  }
  return "";
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return is_tuple() ? "tuple" : "list";
    case Kind::kDict:
      return is_namespace() ? "Namespace" : "dict";
    case Kind::kFunction:
      return "function";
  }
  return "";
}

bool Value::Equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_float() || o.is_float()) return as_double() == o.as_double();
    return as_int() == o.as_int();
  }
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return str() == o.str();
    case Kind::kList: {
      if (is_tuple() != o.is_tuple() || items().size() != o.items().size()) return false;
      for (size_t i = 0; i < items().size(); ++i) {
        if (!items()[i].Equals(o.items()[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (is_namespace() || o.is_namespace()) return SameAs(o);
      if (dict().items.size() != o.dict().items.size()) return false;
      for (const auto& [k, v] : dict().items) {
        const Value* other = o.dict().Find(k);
        if (other == nullptr || !v.Equals(*other)) return false;
      }
      return true;
    }
    default:
      return SameAs(o);
  }
}

StatusOr<bool> Value::Less(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_float() || o.is_float()) return as_double() < o.as_double();
    return as_int() < o.as_int();
  }
  if (is_string() && o.is_string()) return str() < o.str();  // UTF-8 byte order == code point order
  if (is_list() && o.is_list() && is_tuple() == o.is_tuple()) {
    const auto& a = items();
    const auto& b = o.items();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      if (a[i].Equals(b[i])) continue;
      return a[i].Less(b[i]);
    }
    return a.size() < b.size();
  }
  return FailedPrecondition(fmt::format("'<' not supported between instances of '{}' and '{}'",
                                        TypeName(), o.TypeName()));
}

bool Value::SameAs(const Value& o) const {
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case Kind::kList:
      return std::get<std::shared_ptr<ListObject>>(data_) ==
             std::get<std::shared_ptr<ListObject>>(o.data_);
    case Kind::kDict:
      return &dict() == &o.dict();
    case Kind::kFunction:
      return &function() == &o.function();
    default:
      return Equals(o);
  }
}

}  // namespace kvpress::jinja
