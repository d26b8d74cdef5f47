#include "jinja/filters.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "jinja/methods.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace kvpress::jinja {
namespace {

using FilterFn = StatusOr<Value> (*)(const Value&, const CallArgs&);

Status FilterError(std::string_view filter, std::string_view what) {
  return FailedPrecondition(fmt::format("filter '{}': {}", filter, what));
}

bool Flag(const CallArgs& a, size_t i, std::string_view name) {
  const Value* v = a.Get(i, name);
  return v != nullptr && v->Truthy();
}

// Arguments after the first `skip` positional ones, for filters that forward them (map, select).
CallArgs Rest(const CallArgs& a, size_t skip) {
  CallArgs rest;
  for (size_t i = skip; i < a.positional.size(); ++i) rest.positional.push_back(a.positional[i]);
  rest.keyword = a.keyword;
  return rest;
}

// Value used to compare items in sort/unique/min/max: lower-cased strings unless case-sensitive.
Value SortKey(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(PyLower(v.str())) : v;
}

// Items of `seq` with the optional `attribute` (comma-separated for sort) applied.
StatusOr<std::vector<std::pair<Value, Value>>> Keyed(const Value& seq, const Value* attribute,
                                                     bool case_sensitive) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(seq));
  std::vector<std::pair<Value, Value>> out;
  for (Value& item : items) {
    Value key = item;
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(key, GetAttributePath(item, attribute->ToString(), nullptr));
    }
    out.emplace_back(SortKey(key, case_sensitive), std::move(item));
  }
  return out;
}

StatusOr<Value> SortImpl(std::vector<std::pair<Value, Value>> keyed, bool reverse) {
  Status error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    auto lt = reverse ? y.first.Less(x.first) : x.first.Less(y.first);
    if (!lt.ok()) error = lt.status();
    return lt.ok() && *lt;
  });
  RETURN_IF_ERROR(error);
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::List(std::move(out));
}

StatusOr<Value> FAbs(const Value& v, const CallArgs&) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_number()) return v.as_int() < 0 ? UnaryOp("-", v) : Value(v.as_int());
  return FilterError("abs", fmt::format("bad operand type for abs(): '{}'", v.TypeName()));
}

StatusOr<Value> FAttr(const Value& v, const CallArgs& a) {
  const Value* name = a.Get(0, "name");
  if (name == nullptr || !name->is_string())
    return FilterError("attr", "expects an attribute name");
  // Python getattr only: unlike `v.name`, a dict's items are not attributes.
  if (v.is_mapping()) {
    if (std::optional<Value> m = BoundMethod(v, name->str())) return *m;
    return Value::Undefined(fmt::format("'dict object' has no attribute '{}'", name->str()));
  }
  return GetAttribute(v, name->str());
}

StatusOr<Value> FCapitalize(const Value& v, const CallArgs&) {
  return BoundMethod(Value(v.ToString()), "capitalize")->function().call({});
}

StatusOr<Value> FCenter(const Value& v, const CallArgs& a) {
  CallArgs args;
  const Value* w = a.Get(0, "width");
  args.positional.push_back(w ? *w : Value(80));
  return BoundMethod(Value(v.ToString()), "center")->function().call(args);
}

StatusOr<Value> FLength(const Value& v, const CallArgs&) {
  ASSIGN_OR_RETURN(int64_t n, Length(v));
  return Value(n);
}

StatusOr<Value> FDefault(const Value& v, const CallArgs& a) {
  const Value* d = a.Get(0, "default_value");
  if (v.is_undefined() || (Flag(a, 1, "boolean") && !v.Truthy())) return d ? *d : Value("");
  return v;
}

StatusOr<Value> FDictsort(const Value& v, const CallArgs& a) {
  if (!v.is_mapping()) return FilterError("dictsort", "can only sort a mapping");
  const Value* by = a.Get(1, "by");
  const bool by_value = by != nullptr && by->is_string() && by->str() == "value";
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& [k, val] : v.dict().items) {
    keyed.emplace_back(SortKey(by_value ? val : k, Flag(a, 0, "case_sensitive")),
                       Value::List({k, val}, true));
  }
  return SortImpl(std::move(keyed), Flag(a, 2, "reverse"));
}

StatusOr<Value> FEscape(const Value& v, const CallArgs&) {
  std::string out;
  for (char c : v.ToString()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return Value(std::move(out));
}

StatusOr<Value> FFirst(const Value& v, const CallArgs&) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

StatusOr<Value> FLast(const Value& v, const CallArgs&) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

StatusOr<Value> FInt(const Value& v, const CallArgs& a) {
  const Value* d = a.Get(0, "default");
  const Value dflt = d ? *d : Value(0);
  const Value* b = a.Get(1, "base");
  const int64_t base = b && (b->is_int() || b->is_bool()) ? b->as_int() : 10;
  if (v.is_number()) {
    if (!v.is_float()) return Value(v.as_int());
    const double x = v.as_double();
    if (!std::isfinite(x) || std::fabs(x) >= 9.2e18)
      return FilterError("int", "cannot convert float to integer");
    return Value(static_cast<int64_t>(x));
  }
  if (!v.is_string()) return dflt;
  if (auto i = PyIntFromString(v.str(), base)) return Value(*i);
  if (auto f = PyFloatFromString(v.str())) {
    if (!std::isfinite(*f) || std::fabs(*f) >= 9.2e18)
      return FilterError("int", "cannot convert float to integer");
    return Value(static_cast<int64_t>(*f));
  }
  return dflt;
}

StatusOr<Value> FFloat(const Value& v, const CallArgs& a) {
  const Value* d = a.Get(0, "default");
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    if (auto f = PyFloatFromString(v.str())) return Value(*f);
  }
  return d ? *d : Value(0.0);
}

StatusOr<Value> FFormat(const Value& v, const CallArgs& a) {
  if (!a.positional.empty() && !a.keyword.empty())
    return FilterError("format", "can't handle positional and keyword arguments at the same time");
  Value args;
  if (!a.keyword.empty()) {
    DictObject d;
    for (const auto& [k, val] : a.keyword) d.Set(Value(k), val);
    args = Value::Dict(std::move(d));
  } else {
    args = Value::List(a.positional, true);
  }
  ASSIGN_OR_RETURN(std::string s, PercentFormat(v.ToString(), args));
  return Value(std::move(s));
}

StatusOr<Value> FIndent(const Value& v, const CallArgs& a) {
  const Value* w = a.Get(0, "width");
  if (w != nullptr && !w->is_string() && !w->is_int() && !w->is_bool())
    return FilterError("indent", "width must be an integer or a string");
  std::string indent =
      w == nullptr ? "    "
      : w->is_string()
          ? w->str()
          : std::string(static_cast<size_t>(std::clamp<int64_t>(w->as_int(), 0, 1 << 16)), ' ');
  const std::string s = v.ToString() + "\n";
  ASSIGN_OR_RETURN(Value lines_v, BoundMethod(Value(s), "splitlines")->function().call({}));
  std::vector<std::string> lines;
  for (const Value& l : lines_v.items()) lines.push_back(l.str());
  std::string rv;
  if (Flag(a, 2, "blank")) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indent : "") + lines[i];
  } else if (!lines.empty()) {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv.push_back('\n');
      if (!lines[i].empty()) rv += indent + lines[i];
    }
  }
  if (Flag(a, 1, "first")) rv = indent + rv;
  return Value(std::move(rv));
}

StatusOr<Value> FItems(const Value& v, const CallArgs&) {
  if (v.is_undefined()) return Value::List({});
  if (!v.is_mapping()) return FilterError("items", "can only get item pairs from a mapping");
  return BoundMethod(v, "items")->function().call({});
}

StatusOr<Value> FJoin(const Value& v, const CallArgs& a) {
  const Value* sep = a.Get(0, "d");
  const Value* attribute = a.Get(1, "attribute");
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (attribute != nullptr && !attribute->is_none()) {
      ASSIGN_OR_RETURN(item, GetAttributePath(item, attribute->ToString(), nullptr));
    }
    if (i && sep) out += sep->ToString();
    out += item.ToString();
    if (out.size() > kMaxValueSize) return FilterError("join", "result too large");
  }
  return Value(std::move(out));
}

StatusOr<Value> FList(const Value& v, const CallArgs&) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  return Value::List(std::move(items));
}

StatusOr<Value> FLower(const Value& v, const CallArgs&) { return Value(PyLower(v.ToString())); }
StatusOr<Value> FUpper(const Value& v, const CallArgs&) { return Value(PyUpper(v.ToString())); }
StatusOr<Value> FSafe(const Value& v, const CallArgs&) { return v; }
StatusOr<Value> FString(const Value& v, const CallArgs&) { return Value(v.ToString()); }

StatusOr<Value> FTitle(const Value& v, const CallArgs&) {
  // jinja2: capitalise each piece after splitting on runs of [-\s({\[<].
  const std::u32string cps = DecodeUtf8(v.ToString());
  std::string out;
  bool word_start = true;
  for (char32_t c : cps) {
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsPySpace(c);
    std::string ch;
    AppendUtf8(ch, c);
    out += sep ? ch : word_start ? PyUpper(ch) : PyLower(ch);
    word_start = sep;
  }
  return Value(std::move(out));
}

StatusOr<Value> FMap(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  const Value* attribute = nullptr;
  const Value* dflt = nullptr;
  for (const auto& [k, val] : a.keyword) {
    if (k == "attribute") attribute = &val;
    if (k == "default") dflt = &val;
  }
  std::vector<Value> out;
  if (a.positional.empty() && attribute != nullptr) {
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Value r, GetAttributePath(item, attribute->ToString(), dflt));
      out.push_back(std::move(r));
    }
    return Value::List(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string())
    return FilterError("map", "requires a filter name or attribute=");
  const CallArgs rest = Rest(a, 1);
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value r, ApplyFilter(a.positional[0].str(), item, rest));
    out.push_back(std::move(r));
  }
  return Value::List(std::move(out));
}

StatusOr<Value> MinMax(const Value& v, const CallArgs& a, bool want_max) {
  ASSIGN_OR_RETURN(auto keyed, Keyed(v, a.Get(1, "attribute"), Flag(a, 0, "case_sensitive")));
  if (keyed.empty())
    return Value::Undefined(want_max ? "No aggregated item, sequence was empty."
                                     : "No aggregated item, sequence was empty.");
  size_t best = 0;
  for (size_t i = 1; i < keyed.size(); ++i) {
    ASSIGN_OR_RETURN(bool better, want_max ? keyed[best].first.Less(keyed[i].first)
                                           : keyed[i].first.Less(keyed[best].first));
    if (better) best = i;
  }
  return keyed[best].second;
}
StatusOr<Value> FMax(const Value& v, const CallArgs& a) { return MinMax(v, a, true); }
StatusOr<Value> FMin(const Value& v, const CallArgs& a) { return MinMax(v, a, false); }

StatusOr<Value> SelectImpl(const Value& v, const CallArgs& a, bool by_attribute, bool keep_if) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  const size_t skip = by_attribute ? 1 : 0;
  if (by_attribute && (a.positional.empty() || !a.positional[0].is_string()))
    return FilterError("selectattr", "requires an attribute name");
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      ASSIGN_OR_RETURN(subject, GetAttributePath(item, a.positional[0].str(), nullptr));
    }
    bool pass;
    if (a.positional.size() > skip) {
      if (!a.positional[skip].is_string())
        return FilterError("select", "the test name must be a string");
      ASSIGN_OR_RETURN(pass, ApplyTest(a.positional[skip].str(), subject, Rest(a, skip + 1)));
    } else {
      pass = subject.Truthy();
    }
    if (pass == keep_if) out.push_back(item);
  }
  return Value::List(std::move(out));
}
StatusOr<Value> FSelect(const Value& v, const CallArgs& a) { return SelectImpl(v, a, false, true); }
StatusOr<Value> FReject(const Value& v, const CallArgs& a) {
  return SelectImpl(v, a, false, false);
}
StatusOr<Value> FSelectAttr(const Value& v, const CallArgs& a) {
  return SelectImpl(v, a, true, true);
}
StatusOr<Value> FRejectAttr(const Value& v, const CallArgs& a) {
  return SelectImpl(v, a, true, false);
}

StatusOr<Value> FReplace(const Value& v, const CallArgs& a) {
  CallArgs args;
  for (size_t i = 0; i < 3; ++i) {
    const Value* x = a.Get(i, i == 0 ? "old" : i == 1 ? "new" : "count");
    if (x != nullptr && !(i == 2 && x->is_none()))
      args.positional.push_back(i < 2 ? Value(x->ToString()) : *x);
  }
  return BoundMethod(Value(v.ToString()), "replace")->function().call(args);
}

StatusOr<Value> FReverse(const Value& v, const CallArgs&) {
  if (v.is_string()) {
    std::u32string cps = DecodeUtf8(v.str());
    std::reverse(cps.begin(), cps.end());
    return Value(EncodeUtf8(cps));
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
  std::reverse(items.begin(), items.end());
  return Value::List(std::move(items));
}

StatusOr<Value> FRound(const Value& v, const CallArgs& a) {
  const Value* p = a.Get(0, "precision");
  const Value* m = a.Get(1, "method");
  const int64_t precision = p && (p->is_int() || p->is_bool()) ? p->as_int() : 0;
  const std::string method = m && m->is_string() ? m->str() : "common";
  if (!v.is_number())
    return FilterError("round", fmt::format("type {} doesn't define __round__", v.TypeName()));
  if (method == "common") {
    if (!v.is_float() && precision >= 0) return Value(v.as_int());
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f",
                  static_cast<int>(std::clamp<int64_t>(precision, 0, 300)), v.as_double());
    return Value(precision < 0 ? std::nearbyint(v.as_double() / std::pow(10.0, -precision)) *
                                     std::pow(10.0, -precision)
                               : std::strtod(buf, nullptr));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  if (method == "ceil") return Value(std::ceil(v.as_double() * scale) / scale);
  if (method == "floor") return Value(std::floor(v.as_double() * scale) / scale);
  return FilterError("round", "method must be 'common', 'ceil' or 'floor'");
}

StatusOr<Value> FSort(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(auto keyed, Keyed(v, a.Get(2, "attribute"), Flag(a, 1, "case_sensitive")));
  return SortImpl(std::move(keyed), Flag(a, 0, "reverse"));
}

StatusOr<Value> FSum(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(auto keyed, Keyed(v, a.Get(0, "attribute"), true));
  const Value* start = a.Get(1, "start");
  Value total = start ? *start : Value(0);
  for (const auto& kv : keyed) {
    ASSIGN_OR_RETURN(total, BinaryOp("+", total, kv.first));
  }
  return total;
}

StatusOr<Value> FToJson(const Value& v, const CallArgs& a) {
  JsonDumpOptions o;
  if (const Value* x = a.Get(0, "ensure_ascii")) o.ensure_ascii = x->Truthy();
  if (const Value* x = a.Get(1, "indent"); x != nullptr && !x->is_none()) {
    o.has_indent = true;
    if (x->is_string()) {
      o.indent = x->str();
    } else if (x->is_number() && !x->is_float()) {
      o.indent =
          std::string(static_cast<size_t>(std::clamp<int64_t>(x->as_int(), 0, 1 << 16)), ' ');
    } else {
      return FilterError("tojson", "indent must be an integer or a string");
    }
  }
  if (const Value* x = a.Get(2, "separators"); x != nullptr && !x->is_none()) {
    if (!x->is_list() || x->items().size() != 2 || !x->items()[0].is_string() ||
        !x->items()[1].is_string()) {
      return FilterError("tojson", "separators must be a pair of strings");
    }
    o.separators = std::make_pair(x->items()[0].str(), x->items()[1].str());
  }
  if (const Value* x = a.Get(3, "sort_keys")) o.sort_keys = x->Truthy();
  ASSIGN_OR_RETURN(std::string s, PyJsonDumps(v, o));
  return Value(std::move(s));
}

StatusOr<Value> FTrim(const Value& v, const CallArgs& a) {
  const Value* chars = a.Get(0, "chars");
  std::optional<std::string> set;
  if (chars != nullptr && !chars->is_none()) set = chars->ToString();
  return Value(PyStrip(v.ToString(), set, true, true));
}

StatusOr<Value> FUnique(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(auto keyed, Keyed(v, a.Get(1, "attribute"), Flag(a, 0, "case_sensitive")));
  std::vector<Value> seen, out;
  for (auto& entry :
       keyed) {  // not a structured binding: clang 14 (the fuzz build) cannot capture one
    const Value& key = entry.first;
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return s.Equals(key); }))
      continue;
    seen.push_back(key);
    out.push_back(entry.second);
  }
  return Value::List(std::move(out));
}

StatusOr<Value> FWordcount(const Value& v, const CallArgs&) {
  ASSIGN_OR_RETURN(Value words, BoundMethod(Value(v.ToString()), "split")->function().call({}));
  return Value(static_cast<int64_t>(words.items().size()));
}

const std::unordered_map<std::string, FilterFn>& Filters() {
  static const auto* filters = new std::unordered_map<std::string, FilterFn>{
      {"abs", FAbs},
      {"attr", FAttr},
      {"capitalize", FCapitalize},
      {"center", FCenter},
      {"count", FLength},
      {"d", FDefault},
      {"default", FDefault},
      {"dictsort", FDictsort},
      {"e", FEscape},
      {"escape", FEscape},
      {"first", FFirst},
      {"float", FFloat},
      {"forceescape", FEscape},
      {"format", FFormat},
      {"indent", FIndent},
      {"int", FInt},
      {"items", FItems},
      {"join", FJoin},
      {"last", FLast},
      {"length", FLength},
      {"list", FList},
      {"lower", FLower},
      {"map", FMap},
      {"max", FMax},
      {"min", FMin},
      {"reject", FReject},
      {"rejectattr", FRejectAttr},
      {"replace", FReplace},
      {"reverse", FReverse},
      {"round", FRound},
      {"safe", FSafe},
      {"select", FSelect},
      {"selectattr", FSelectAttr},
      {"sort", FSort},
      {"string", FString},
      {"sum", FSum},
      {"title", FTitle},
      {"tojson", FToJson},
      {"trim", FTrim},
      {"unique", FUnique},
      {"upper", FUpper},
      {"wordcount", FWordcount},
  };
  return *filters;
}

}  // namespace

StatusOr<Value> GetAttributePath(const Value& obj, const std::string& path,
                                 const Value* default_value) {
  Value item = obj;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() &&
                         part.find_first_not_of("0123456789") == std::string::npos &&
                         part.size() < 18;
    ASSIGN_OR_RETURN(item,
                     GetItem(item, numeric ? Value(static_cast<int64_t>(std::atoll(part.c_str())))
                                           : Value(part)));
    if (default_value != nullptr && item.is_undefined()) item = *default_value;
    if (dot == std::string::npos) return item;
    start = dot + 1;
  }
}

bool IsKnownFilter(const std::string& name) { return Filters().count(name) > 0; }

StatusOr<Value> ApplyFilter(const std::string& name, const Value& input, const CallArgs& args) {
  const auto it = Filters().find(name);
  if (it == Filters().end()) return Unimplemented(fmt::format("unsupported filter '{}'", name));
  return it->second(input, args);
}

}  // namespace kvpress::jinja
