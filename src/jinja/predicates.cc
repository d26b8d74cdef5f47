// Jinja tests (`x is name`), see filters.h for the list.
#include <fmt/format.h>

#include <unordered_map>

#include "jinja/filters.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace kvpress::jinja {
namespace {

using TestFn = StatusOr<bool> (*)(const Value&, const CallArgs&);

StatusOr<Value> Arg(const CallArgs& a, std::string_view test) {
  const Value* v = a.Get(0, "value");
  if (v == nullptr) return FailedPrecondition(fmt::format("test '{}' needs an argument", test));
  return *v;
}

StatusOr<bool> Compare(const Value& v, const CallArgs& a, std::string_view op) {
  ASSIGN_OR_RETURN(Value other, Arg(a, op));
  return CompareOp(op, v, other);
}

StatusOr<bool> TEq(const Value& v, const CallArgs& a) { return Compare(v, a, "=="); }
StatusOr<bool> TNe(const Value& v, const CallArgs& a) { return Compare(v, a, "!="); }
StatusOr<bool> TLt(const Value& v, const CallArgs& a) { return Compare(v, a, "<"); }
StatusOr<bool> TLe(const Value& v, const CallArgs& a) { return Compare(v, a, "<="); }
StatusOr<bool> TGt(const Value& v, const CallArgs& a) { return Compare(v, a, ">"); }
StatusOr<bool> TGe(const Value& v, const CallArgs& a) { return Compare(v, a, ">="); }
StatusOr<bool> TIn(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(Value seq, Arg(a, "in"));
  return Contains(seq, v);
}
StatusOr<bool> TSameAs(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(Value other, Arg(a, "sameas"));
  return v.SameAs(other);
}

StatusOr<bool> TBoolean(const Value& v, const CallArgs&) { return v.is_bool(); }
StatusOr<bool> TCallable(const Value& v, const CallArgs&) { return v.is_function(); }
StatusOr<bool> TDefined(const Value& v, const CallArgs&) { return !v.is_undefined(); }
StatusOr<bool> TUndefined(const Value& v, const CallArgs&) { return v.is_undefined(); }
StatusOr<bool> TEscaped(const Value&, const CallArgs&) { return false; }
StatusOr<bool> TFalse(const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
StatusOr<bool> TTrue(const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
StatusOr<bool> TFloat(const Value& v, const CallArgs&) { return v.is_float(); }
StatusOr<bool> TInteger(const Value& v, const CallArgs&) { return v.is_int(); }
StatusOr<bool> TNumber(const Value& v, const CallArgs&) { return v.is_number(); }
StatusOr<bool> TNone(const Value& v, const CallArgs&) { return v.is_none(); }
StatusOr<bool> TMapping(const Value& v, const CallArgs&) { return v.is_mapping(); }
StatusOr<bool> TString(const Value& v, const CallArgs&) { return v.is_string(); }
// iter(v) succeeds: str, list, tuple, dict and Undefined (which iterates as empty).
StatusOr<bool> TIterable(const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_mapping() || v.is_undefined();
}
// len(v) and v.__getitem__ exist.
StatusOr<bool> TSequence(const Value& v, const CallArgs& a) { return TIterable(v, a); }
StatusOr<bool> TLower(const Value& v, const CallArgs&) {
  bool cased = false;
  for (char32_t c : DecodeUtf8(v.ToString())) {
    if (IsPyUpperCp(c)) return false;
    cased = cased || IsPyLowerCp(c);
  }
  return cased;
}
StatusOr<bool> TUpper(const Value& v, const CallArgs&) {
  bool cased = false;
  for (char32_t c : DecodeUtf8(v.ToString())) {
    if (IsPyLowerCp(c)) return false;
    cased = cased || IsPyUpperCp(c);
  }
  return cased;
}

StatusOr<bool> Modulo(const Value& v, const Value& n, int64_t want) {
  ASSIGN_OR_RETURN(Value r, BinaryOp("%", v, n));
  return r.Equals(Value(want));
}
StatusOr<bool> TEven(const Value& v, const CallArgs&) { return Modulo(v, Value(2), 0); }
StatusOr<bool> TOdd(const Value& v, const CallArgs&) { return Modulo(v, Value(2), 1); }
StatusOr<bool> TDivisibleBy(const Value& v, const CallArgs& a) {
  ASSIGN_OR_RETURN(Value n, Arg(a, "divisibleby"));
  return Modulo(v, n, 0);
}
StatusOr<bool> TFilter(const Value& v, const CallArgs&) {
  return v.is_string() && IsKnownFilter(v.str());
}
StatusOr<bool> TTest(const Value& v, const CallArgs&) {
  return v.is_string() && IsKnownTest(v.str());
}

const std::unordered_map<std::string, TestFn>& Tests() {
  static const auto* tests = new std::unordered_map<std::string, TestFn>{
      {"boolean", TBoolean},
      {"callable", TCallable},
      {"defined", TDefined},
      {"divisibleby", TDivisibleBy},
      {"eq", TEq},
      {"equalto", TEq},
      {"==", TEq},
      {"escaped", TEscaped},
      {"even", TEven},
      {"false", TFalse},
      {"filter", TFilter},
      {"float", TFloat},
      {"ge", TGe},
      {">=", TGe},
      {"gt", TGt},
      {">", TGt},
      {"greaterthan", TGt},
      {"in", TIn},
      {"integer", TInteger},
      {"iterable", TIterable},
      {"le", TLe},
      {"<=", TLe},
      {"lower", TLower},
      {"lt", TLt},
      {"<", TLt},
      {"lessthan", TLt},
      {"mapping", TMapping},
      {"ne", TNe},
      {"!=", TNe},
      {"none", TNone},
      {"number", TNumber},
      {"odd", TOdd},
      {"sameas", TSameAs},
      {"sequence", TSequence},
      {"string", TString},
      {"test", TTest},
      {"true", TTrue},
      {"undefined", TUndefined},
      {"upper", TUpper},
  };
  return *tests;
}

}  // namespace

bool IsKnownTest(const std::string& name) { return Tests().count(name) > 0; }

StatusOr<bool> ApplyTest(const std::string& name, const Value& input, const CallArgs& args) {
  const auto it = Tests().find(name);
  if (it == Tests().end()) return Unimplemented(fmt::format("unsupported test '{}'", name));
  return it->second(input, args);
}

}  // namespace kvpress::jinja
