#include "jinja/ops.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdio>

#include "jinja/methods.h"
#include "jinja/text.h"

namespace kvpress::jinja {
namespace {

Status TypeError(std::string msg) { return FailedPrecondition(std::move(msg)); }

// jinja2's object_type_repr: "None" or "<type> object".
std::string ObjectTypeRepr(const Value& v) {
  return v.is_none() ? "None" : v.TypeName() + " object";
}

Value MissingAttribute(const Value& obj, const std::string& name) {
  return Value::Undefined(fmt::format("'{}' has no attribute '{}'", ObjectTypeRepr(obj), name));
}

Value MissingElement(const Value& obj, const Value& key) {
  if (key.is_string()) return MissingAttribute(obj, key.str());
  return Value::Undefined(fmt::format("'{}' has no element {}", ObjectTypeRepr(obj), key.Repr()));
}

bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }

StatusOr<Value> Repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (n > 0 && seq.str().size() > kMaxValueSize / static_cast<size_t>(n))
      return TypeError("string repetition too large");
    std::string out;
    out.reserve(seq.str().size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  if (n > 0 && seq.items().size() > kMaxValueSize / 16 / static_cast<size_t>(n))
    return TypeError("list repetition too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::List(std::move(out), seq.is_tuple());
}

Status OperandError(std::string_view op, const Value& a, const Value& b) {
  if (op == "+" && a.is_string())
    return TypeError(fmt::format("can only concatenate str (not \"{}\") to str", b.TypeName()));
  if (op == "+" && a.is_list() && !a.is_tuple()) {
    return TypeError(fmt::format("can only concatenate list (not \"{}\") to list", b.TypeName()));
  }
  return TypeError(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op,
                               a.TypeName(), b.TypeName()));
}

StatusOr<Value> IntArith(std::string_view op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = false;
  if (op == "+") {
    overflow = __builtin_add_overflow(x, y, &r);
  } else if (op == "-") {
    overflow = __builtin_sub_overflow(x, y, &r);
  } else if (op == "*") {
    overflow = __builtin_mul_overflow(x, y, &r);
  } else if (op == "//" || op == "%") {
    if (y == 0) return TypeError("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1)
      return Unimplemented("integer overflow (values beyond 64 bits are not supported)");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      q -= 1;
      m += y;
    }
    r = op == "//" ? q : m;
  } else if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    r = 1;
    for (int64_t i = 0; i < y && !overflow; ++i) overflow = __builtin_mul_overflow(r, x, &r);
  }
  if (overflow) return Unimplemented("integer overflow (values beyond 64 bits are not supported)");
  return Value(r);
}

StatusOr<Value> FloatArith(std::string_view op, double x, double y) {
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0) return TypeError("float division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {  // CPython's float_divmod
    if (y == 0) return TypeError(op == "//" ? "float floor division by zero" : "float modulo");
    double mod = std::fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
      if ((y < 0) != (mod < 0)) {
        mod += y;
        div -= 1.0;
      }
    } else {
      mod = std::copysign(0.0, y);
    }
    if (op == "%") return Value(mod);
    double floordiv;
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
      floordiv = std::copysign(0.0, x / y);
    }
    return Value(floordiv);
  }
  if (op == "**") return Value(std::pow(x, y));
  return TypeError("unknown operator");
}

}  // namespace

Status UndefinedError(const Value& v) {
  const std::string& hint = v.undefined_hint();
  return FailedPrecondition(hint.empty() ? "value is undefined" : hint);
}

StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b) {
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) {
    if (op == "/" && b.as_double() == 0) {
      return TypeError(a.is_float() || b.is_float() ? "float division by zero"
                                                    : "division by zero");
    }
    if (op == "/") return FloatArith(op, a.as_double(), b.as_double());
    if (a.is_float() || b.is_float()) return FloatArith(op, a.as_double(), b.as_double());
    return IntArith(op, a.as_int(), b.as_int());
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > kMaxValueSize) return TypeError("string too large");
      return Value(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return Value::List(std::move(out), a.is_tuple());
    }
  } else if (op == "*") {
    if ((a.is_string() || a.is_list()) && IsIntLike(b)) return Repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && IsIntLike(a)) return Repeat(b, a.as_int());
  } else if (op == "%" && a.is_string()) {
    ASSIGN_OR_RETURN(std::string s, PercentFormat(a.str(), b));
    return Value(std::move(s));
  }
  return OperandError(op, a, b);
}

StatusOr<Value> UnaryOp(std::string_view op, const Value& a) {
  if (a.is_undefined()) return UndefinedError(a);
  if (!a.is_number())
    return TypeError(fmt::format("bad operand type for unary {}: '{}'", op, a.TypeName()));
  if (op == "+") return a.is_bool() ? Value(a.as_int()) : a;
  if (a.is_float()) return Value(-a.as_double());
  if (a.as_int() == INT64_MIN)
    return Unimplemented("integer overflow (values beyond 64 bits are not supported)");
  return Value(-a.as_int());
}

StatusOr<bool> CompareOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return a.Equals(b);
  if (op == "!=") return !a.Equals(b);
  if (op == "in") return Contains(b, a);
  if (op == "notin") {
    ASSIGN_OR_RETURN(bool in, Contains(b, a));
    return !in;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (op == "<") return a.Less(b);
  if (op == ">") return b.Less(a);
  if (op == "<=") {
    ASSIGN_OR_RETURN(bool gt, b.Less(a));
    return !gt;
  }
  if (op == ">=") {
    ASSIGN_OR_RETURN(bool lt, a.Less(b));
    return !lt;
  }
  return TypeError(fmt::format("unknown comparison '{}'", op));
}

StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) {
        return TypeError(
            fmt::format("'in <string>' requires string as left operand, not {}", item.TypeName()));
      }
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.items()) {
        if (v.Equals(item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      if (!container.is_namespace()) return container.dict().Find(item) != nullptr;
      break;
    default:
      break;
  }
  return TypeError(fmt::format("argument of type '{}' is not iterable", container.TypeName()));
}

StatusOr<Value> GetAttribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!name.empty() && name[0] == '_') {
    return Value::Undefined(
        fmt::format("access to attribute '{}' of '{}' object is unsafe", name, obj.TypeName()));
  }
  if (obj.is_namespace()) {
    if (const Value* v = obj.dict().Find(std::string_view(name))) return *v;
    return MissingAttribute(obj, name);
  }
  if (std::optional<Value> method = BoundMethod(obj, name)) return *method;
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(std::string_view(name))) return *v;
  }
  return MissingAttribute(obj, name);
}

StatusOr<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_mapping()) {
    if (const Value* v = obj.dict().Find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && IsIntLike(key)) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      const int64_t n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.items()[static_cast<size_t>(i)];
    } else {
      const std::u32string cps = DecodeUtf8(obj.str());
      const int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value(EncodeUtf8(cps.substr(static_cast<size_t>(i), 1)));
    }
  }
  if (key.is_string()) {
    ASSIGN_OR_RETURN(Value attr, GetAttribute(obj, key.str()));
    return attr;
  }
  return MissingElement(obj, key);
}

StatusOr<Value> Slice(const Value& obj, const Value& start_v, const Value& stop_v,
                      const Value& step_v) {
  if (obj.is_undefined()) return UndefinedError(obj);
  for (const Value* v : {&start_v, &stop_v, &step_v}) {
    if (!v->is_none() && !v->is_undefined() && !IsIntLike(*v)) {
      return TypeError("slice indices must be integers or None");
    }
  }
  const auto given = [](const Value& v) { return !v.is_none() && !v.is_undefined(); };
  const int64_t step = given(step_v) ? step_v.as_int() : 1;
  if (step == 0) return TypeError("slice step cannot be zero");
  std::u32string cps;
  int64_t len;
  if (obj.is_string()) {
    cps = DecodeUtf8(obj.str());
    len = static_cast<int64_t>(cps.size());
  } else if (obj.is_list()) {
    len = static_cast<int64_t>(obj.items().size());
  } else {
    return Value::Undefined(fmt::format("'{}' cannot be sliced", ObjectTypeRepr(obj)));
  }
  const auto adjust = [&](const Value& v, int64_t dflt) {
    if (!given(v)) return dflt;
    int64_t i = v.as_int();
    if (i < 0) {
      i += len;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
    return i;
  };
  const int64_t start = adjust(start_v, step < 0 ? len - 1 : 0);
  const int64_t stop = adjust(stop_v, step < 0 ? -1 : len);
  std::vector<Value> items;
  std::u32string chars;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (obj.is_string()) {
      chars.push_back(cps[static_cast<size_t>(i)]);
    } else {
      items.push_back(obj.items()[static_cast<size_t>(i)]);
    }
  }
  if (obj.is_string()) return Value(EncodeUtf8(chars));
  return Value::List(std::move(items), obj.is_tuple());
}

// Python's float(str): surrounding whitespace, underscores between digits, inf/nan.
std::optional<double> PyFloatFromString(std::string s) {
  s = PyStrip(s, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() &&
        std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      continue;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty() || clean.find_first_of("xXpP") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

// Python's int(str, base).
std::optional<int64_t> PyIntFromString(std::string s, int64_t base) {
  s = PyStrip(s, std::nullopt, true, true);
  bool neg = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  const auto prefix = [&](char p) {
    return i + 1 < s.size() && s[i] == '0' &&
           std::tolower(static_cast<unsigned char>(s[i + 1])) == p;
  };
  if (base == 0) {
    base = prefix('x') ? 16 : prefix('o') ? 8 : prefix('b') ? 2 : 10;
    if (base != 10) i += 2;
  } else if ((base == 16 && prefix('x')) || (base == 8 && prefix('o')) ||
             (base == 2 && prefix('b'))) {
    i += 2;
    if (i < s.size() && s[i] == '_') ++i;
  }
  if (base < 2 || base > 36 || i >= s.size()) return std::nullopt;
  int64_t v = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    if (c == '_' && prev_digit && i + 1 < s.size()) {
      prev_digit = false;
      continue;
    }
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'z')                    ? c - 'a' + 10
                                                              : 99;
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
      return std::nullopt;
    prev_digit = true;
  }
  if (!prev_digit) return std::nullopt;
  return neg ? -v : v;
}

std::vector<Value> StringChars(const std::string& s) {
  std::vector<Value> out;
  for (char32_t c : DecodeUtf8(s)) {
    std::string ch;
    AppendUtf8(ch, c);
    out.emplace_back(std::move(ch));
  }
  return out;
}

StatusOr<std::vector<Value>> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return std::vector<Value>{};
    case Value::Kind::kList:
      return v.items();
    case Value::Kind::kString:
      return StringChars(v.str());
    case Value::Kind::kDict:
      if (!v.is_namespace()) {
        std::vector<Value> keys;
        for (const auto& kv : v.dict().items) keys.push_back(kv.first);
        return keys;
      }
      break;
    default:
      break;
  }
  return TypeError(fmt::format("'{}' object is not iterable", v.TypeName()));
}

StatusOr<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(CodePointCount(v.str()));
    case Value::Kind::kList:
      return static_cast<int64_t>(v.items().size());
    case Value::Kind::kDict:
      if (!v.is_namespace()) return static_cast<int64_t>(v.dict().items.size());
      break;
    default:
      break;
  }
  return TypeError(fmt::format("object of type '{}' has no len()", v.TypeName()));
}

StatusOr<std::string> PercentFormat(std::string_view f, const Value& args) {
  std::vector<Value> positional;
  if (args.is_tuple()) {
    positional = args.items();
  } else if (!args.is_mapping()) {
    positional.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out.push_back(f[i]);
      continue;
    }
    if (++i >= f.size()) return TypeError("incomplete format");
    const Value* arg = nullptr;
    if (f[i] == '(') {
      const size_t close = f.find(')', i);
      if (close == std::string_view::npos || !args.is_mapping())
        return TypeError("format requires a mapping");
      arg = args.dict().Find(f.substr(i + 1, close - i - 1));
      if (arg == nullptr)
        return TypeError(fmt::format("KeyError: '{}'", f.substr(i + 1, close - i - 1)));
      i = close + 1;
    }
    std::string spec = "%";
    while (i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos)
      spec.push_back(f[i++]);
    while (i < f.size() && (std::isdigit(static_cast<unsigned char>(f[i])) || f[i] == '.'))
      spec.push_back(f[i++]);
    if (i >= f.size()) return TypeError("incomplete format");
    const char conv = f[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (arg == nullptr) {
      if (next >= positional.size()) return TypeError("not enough arguments for format string");
      arg = &positional[next++];
    }
    char buf[512];
    switch (conv) {
      case 's':
      case 'r': {
        std::u32string s = DecodeUtf8(conv == 's' ? arg->ToString() : arg->Repr());
        const size_t dot = spec.find('.');
        const std::string width_text =
            spec.substr(1, dot == std::string::npos ? std::string::npos : dot - 1);
        size_t width = 0;
        for (char c : width_text) {
          if (std::isdigit(static_cast<unsigned char>(c)) && width < (1 << 20))
            width = width * 10 + static_cast<size_t>(c - '0');
        }
        if (dot != std::string::npos)
          s = s.substr(0, static_cast<size_t>(std::atoi(spec.c_str() + dot + 1)));
        const std::string pad = s.size() < width ? std::string(width - s.size(), ' ') : "";
        out +=
            width_text.find('-') != std::string::npos ? EncodeUtf8(s) + pad : pad + EncodeUtf8(s);
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        if (!arg->is_number())
          return TypeError(
              fmt::format("%{} format: a real number is required, not {}", conv, arg->TypeName()));
        const long long v =
            arg->is_float() ? static_cast<long long>(arg->as_double()) : arg->as_int();
        if (conv == 'c') {
          std::string ch;
          AppendUtf8(ch, static_cast<char32_t>(v));
          out += ch;
          break;
        }
        std::snprintf(buf, sizeof(buf), (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), v);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (!arg->is_number())
          return TypeError(fmt::format("must be real number, not {}", arg->TypeName()));
        std::snprintf(buf, sizeof(buf), (spec + conv).c_str(), arg->as_double());
        out += buf;
        break;
      default:
        return Unimplemented(fmt::format("unsupported format character '{}'", conv));
    }
  }
  if (next < positional.size() && args.is_tuple())
    return TypeError("not all arguments converted during string formatting");
  return out;
}

}  // namespace kvpress::jinja
