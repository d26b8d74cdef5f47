#include "jinja/methods.h"

#include <fmt/format.h>

#include "jinja/ops.h"
#include "jinja/text.h"

namespace kvpress::jinja {
namespace {

Status ArgError(const std::string& method, std::string_view what) {
  return FailedPrecondition(fmt::format("{}(): {}", method, what));
}

// Optional string-or-None argument (strip chars, split sep): nullopt when absent or None.
StatusOr<std::optional<std::string>> OptString(const CallArgs& a, size_t i, std::string_view kw,
                                               const std::string& m) {
  const Value* v = a.Get(i, kw);
  if (v == nullptr || v->is_none()) return std::optional<std::string>();
  if (!v->is_string())
    return ArgError(m, fmt::format("argument must be str or None, not {}", v->TypeName()));
  return std::optional<std::string>(v->str());
}

StatusOr<std::string> ReqString(const CallArgs& a, size_t i, std::string_view kw,
                                const std::string& m) {
  const Value* v = a.Get(i, kw);
  if (v == nullptr) return ArgError(m, fmt::format("missing required argument '{}'", kw));
  if (!v->is_string())
    return ArgError(m, fmt::format("argument must be str, not {}", v->TypeName()));
  return v->str();
}

StatusOr<int64_t> OptInt(const CallArgs& a, size_t i, std::string_view kw, int64_t dflt,
                         const std::string& m) {
  const Value* v = a.Get(i, kw);
  if (v == nullptr || v->is_none()) return dflt;
  if (!v->is_int() && !v->is_bool()) return ArgError(m, fmt::format("'{}' must be an integer", kw));
  return v->as_int();
}

Value StringList(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.emplace_back(std::move(p));
  return Value::List(std::move(out));
}

std::vector<std::string> SplitWhitespace(const std::u32string& s, int64_t maxsplit,
                                         bool from_right) {
  std::vector<std::string> parts;
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && IsPySpace(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t e = s.size();
        while (e > i && IsPySpace(s[e - 1])) --e;
        parts.push_back(EncodeUtf8(s.substr(i, e - i)));
        break;
      }
      size_t j = i;
      while (j < s.size() && !IsPySpace(s[j])) ++j;
      parts.push_back(EncodeUtf8(s.substr(i, j - i)));
      i = j;
    }
    return parts;
  }
  size_t e = s.size();
  while (true) {
    while (e > 0 && IsPySpace(s[e - 1])) --e;
    if (e == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      size_t b = 0;
      while (b < e && IsPySpace(s[b])) ++b;
      parts.push_back(EncodeUtf8(s.substr(b, e - b)));
      break;
    }
    size_t b = e;
    while (b > 0 && !IsPySpace(s[b - 1])) --b;
    parts.push_back(EncodeUtf8(s.substr(b, e - b)));
    e = b;
  }
  return {parts.rbegin(), parts.rend()};
}

std::vector<std::string> SplitOn(const std::string& s, const std::string& sep, int64_t maxsplit,
                                 bool from_right) {
  std::vector<std::string> parts;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t p = s.find(sep, start);
      if (p == std::string::npos) break;
      parts.push_back(s.substr(start, p - start));
      start = p + sep.size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    const size_t p = s.rfind(sep, end - sep.size());
    if (p == std::string::npos) break;
    parts.push_back(s.substr(p + sep.size(), end - p - sep.size()));
    end = p;
  }
  parts.push_back(s.substr(0, end));
  return {parts.rbegin(), parts.rend()};
}

std::string TitleCase(const std::string& s, bool capitalize_only) {
  std::string out;
  bool prev_cased = false;
  bool first = true;
  for (char32_t c : DecodeUtf8(s)) {
    std::string ch;
    AppendUtf8(ch, c);
    const bool upper = capitalize_only ? first : !prev_cased;
    out += upper ? PyUpper(ch) : PyLower(ch);
    prev_cased = IsPyUpperCp(c) || IsPyLowerCp(c);
    first = false;
  }
  return out;
}

// str.replace; an error instead of a result larger than kMaxValueSize.
StatusOr<std::string> Replace(const std::string& s, const std::string& old, const std::string& repl,
                              int64_t count) {
  std::string out;
  const auto too_large = [&] { return out.size() > kMaxValueSize; };
  const auto error = [] {
    return FailedPrecondition(
        fmt::format("str.replace(): result larger than {} bytes", kMaxValueSize));
  };
  if (old.empty()) {  // Python inserts `repl` before every character and at the end
    const std::u32string cps = DecodeUtf8(s);
    int64_t n = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || n < count) {
        out += repl;
        ++n;
      }
      if (i < cps.size()) AppendUtf8(out, cps[i]);
      if (too_large()) return error();
    }
    return out;
  }
  size_t start = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t p = s.find(old, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += repl;
    if (too_large()) return error();
    start = p + old.size();
  }
  out.append(s, start, std::string::npos);
  if (too_large()) return error();
  return out;
}

// Byte offset of code point index `i` (clamped, negative from the end) in s.
size_t ByteOffset(const std::string& s, int64_t i) {
  const std::u32string cps = DecodeUtf8(s);
  const int64_t n = static_cast<int64_t>(cps.size());
  if (i < 0) i = std::max<int64_t>(0, i + n);
  if (i > n) i = n;
  return EncodeUtf8(std::u32string_view(cps).substr(0, static_cast<size_t>(i))).size();
}

StatusOr<Value> AffixTest(const std::string& s, const CallArgs& a, const std::string& m,
                          bool prefix) {
  const Value* arg = a.Get(0, "prefix");
  if (arg == nullptr) return ArgError(m, "takes at least 1 argument");
  ASSIGN_OR_RETURN(int64_t start, OptInt(a, 1, "start", 0, m));
  ASSIGN_OR_RETURN(int64_t end, OptInt(a, 2, "end", INT64_MAX, m));
  const size_t b = ByteOffset(s, start);
  const size_t e = end == INT64_MAX ? s.size() : ByteOffset(s, end);
  const std::string_view view = b <= e ? std::string_view(s).substr(b, e - b) : std::string_view();
  std::vector<Value> candidates = arg->is_tuple() ? arg->items() : std::vector<Value>{*arg};
  for (const Value& c : candidates) {
    if (!c.is_string())
      return ArgError(m,
                      fmt::format("first arg must be str or a tuple of str, not {}", c.TypeName()));
    if (b > e || b > s.size()) continue;
    if (prefix ? view.substr(0, c.str().size()) == c.str()
               : (view.size() >= c.str().size() &&
                  view.substr(view.size() - c.str().size()) == c.str())) {
      return Value(true);
    }
  }
  return Value(false);
}

bool AllCodePoints(const std::string& s, bool (*pred)(char32_t)) {
  if (s.empty()) return false;
  for (char32_t c : DecodeUtf8(s)) {
    if (!pred(c)) return false;
  }
  return true;
}

StatusOr<Value> CallStringMethod(const std::string& s, const std::string& m, const CallArgs& a) {
  if (m == "strip" || m == "lstrip" || m == "rstrip") {
    ASSIGN_OR_RETURN(auto chars, OptString(a, 0, "chars", m));
    return Value(PyStrip(s, chars, m != "rstrip", m != "lstrip"));
  }
  if (m == "split" || m == "rsplit") {
    ASSIGN_OR_RETURN(auto sep, OptString(a, 0, "sep", m));
    ASSIGN_OR_RETURN(int64_t maxsplit, OptInt(a, 1, "maxsplit", -1, m));
    if (!sep) return StringList(SplitWhitespace(DecodeUtf8(s), maxsplit, m == "rsplit"));
    if (sep->empty()) return ArgError(m, "empty separator");
    return StringList(SplitOn(s, *sep, maxsplit, m == "rsplit"));
  }
  if (m == "splitlines") {
    const Value* keep = a.Get(0, "keepends");
    const bool keepends = keep != nullptr && keep->Truthy();
    std::vector<std::string> lines;
    const std::u32string cps = DecodeUtf8(s);
    size_t start = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      const char32_t c = cps[i];
      const bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C ||
                       (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 || c == 0x2029;
      if (!brk) continue;
      size_t end = i + 1;
      if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') end = i + 2;
      lines.push_back(EncodeUtf8(cps.substr(start, (keepends ? end : i) - start)));
      start = end;
      i = end - 1;
    }
    if (start < cps.size()) lines.push_back(EncodeUtf8(cps.substr(start)));
    return StringList(std::move(lines));
  }
  if (m == "startswith" || m == "endswith") return AffixTest(s, a, m, m == "startswith");
  if (m == "upper") return Value(PyUpper(s));
  if (m == "lower" || m == "casefold") return Value(PyLower(s));
  if (m == "title") return Value(TitleCase(s, false));
  if (m == "capitalize") return Value(TitleCase(s, true));
  if (m == "replace") {
    ASSIGN_OR_RETURN(std::string old, ReqString(a, 0, "old", m));
    ASSIGN_OR_RETURN(std::string repl, ReqString(a, 1, "new", m));
    ASSIGN_OR_RETURN(int64_t count, OptInt(a, 2, "count", -1, m));
    ASSIGN_OR_RETURN(std::string replaced, Replace(s, old, repl, count));
    return Value(std::move(replaced));
  }
  if (m == "find" || m == "rfind" || m == "index" || m == "rindex" || m == "count") {
    ASSIGN_OR_RETURN(std::string sub, ReqString(a, 0, "sub", m));
    if (m == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(CodePointCount(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    const size_t p = m[0] == 'r' ? s.rfind(sub) : s.find(sub);
    if (p == std::string::npos) {
      if (m == "index" || m == "rindex") return ArgError(m, "substring not found");
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(CodePointCount(std::string_view(s).substr(0, p))));
  }
  if (m == "join") {
    const Value* items = a.Get(0, "iterable");
    if (items == nullptr) return ArgError(m, "takes exactly one argument");
    ASSIGN_OR_RETURN(std::vector<Value> parts, Iterate(*items));
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].is_string())
        return ArgError(m, fmt::format("sequence item {}: expected str instance, {} found", i,
                                       parts[i].TypeName()));
      if (i) out += s;
      out += parts[i].str();
    }
    return Value(std::move(out));
  }
  if (m == "format") {
    ASSIGN_OR_RETURN(std::string out, PyStrFormat(s, a));
    return Value(std::move(out));
  }
  if (m == "isdigit" || m == "isnumeric" || m == "isdecimal")
    return Value(AllCodePoints(s, IsPyDigitCp));
  if (m == "isalpha") return Value(AllCodePoints(s, IsPyAlphaCp));
  if (m == "isalnum")
    return Value(AllCodePoints(s, [](char32_t c) { return IsPyAlphaCp(c) || IsPyDigitCp(c); }));
  if (m == "isspace") return Value(AllCodePoints(s, IsPySpace));
  if (m == "isupper" || m == "islower") {
    bool cased = false;
    for (char32_t c : DecodeUtf8(s)) {
      if ((m == "isupper" && IsPyLowerCp(c)) || (m == "islower" && IsPyUpperCp(c)))
        return Value(false);
      cased = cased || IsPyLowerCp(c) || IsPyUpperCp(c);
    }
    return Value(cased);
  }
  if (m == "ljust" || m == "rjust" || m == "center" || m == "zfill") {
    ASSIGN_OR_RETURN(int64_t width, OptInt(a, 0, "width", 0, m));
    ASSIGN_OR_RETURN(auto fill_arg, OptString(a, 1, "fillchar", m));
    const std::string fill = m == "zfill" ? "0" : fill_arg.value_or(" ");
    const int64_t len = static_cast<int64_t>(CodePointCount(s));
    if (width <= len) return Value(s);
    if (width > static_cast<int64_t>(kMaxValueSize)) return ArgError(m, "width too large");
    const int64_t pad = width - len;
    const auto rep = [&](int64_t n) {
      std::string r;
      for (int64_t i = 0; i < n; ++i) r += fill;
      return r;
    };
    if (m == "ljust") return Value(s + rep(pad));
    if (m == "rjust") return Value(rep(pad) + s);
    if (m == "zfill") {
      if (!s.empty() && (s[0] == '-' || s[0] == '+'))
        return Value(s.substr(0, 1) + rep(pad) + s.substr(1));
      return Value(rep(pad) + s);
    }
    const int64_t left = pad / 2 + (pad & width & 1);
    return Value(rep(left) + s + rep(pad - left));
  }
  if (m == "partition" || m == "rpartition") {
    ASSIGN_OR_RETURN(std::string sep, ReqString(a, 0, "sep", m));
    if (sep.empty()) return ArgError(m, "empty separator");
    const size_t p = m == "partition" ? s.find(sep) : s.rfind(sep);
    if (p == std::string::npos) {
      return m == "partition" ? Value::List({Value(s), Value(""), Value("")}, true)
                              : Value::List({Value(""), Value(""), Value(s)}, true);
    }
    return Value::List({Value(s.substr(0, p)), Value(sep), Value(s.substr(p + sep.size()))}, true);
  }
  if (m == "removeprefix" || m == "removesuffix") {
    ASSIGN_OR_RETURN(std::string affix, ReqString(a, 0, "affix", m));
    if (m == "removeprefix" && s.compare(0, affix.size(), affix) == 0)
      return Value(s.substr(affix.size()));
    if (m == "removesuffix" && !affix.empty() && s.size() >= affix.size() &&
        s.compare(s.size() - affix.size(), affix.size(), affix) == 0) {
      return Value(s.substr(0, s.size() - affix.size()));
    }
    return Value(s);
  }
  return Internal("unknown str method " + m);
}

StatusOr<Value> CallDictMethod(const Value& d, const std::string& m, const CallArgs& a) {
  if (m == "get") {
    const Value* key = a.Get(0, "key");
    if (key == nullptr) return ArgError(m, "expected at least 1 argument");
    if (const Value* v = d.dict().Find(*key)) return *v;
    const Value* dflt = a.Get(1, "default");
    return dflt ? *dflt : Value::None();
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.dict().items) {
    if (m == "keys") {
      out.push_back(k);
    } else if (m == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::List({k, v}, true));
    }
  }
  if (m == "copy") return Value::Dict(DictObject{d.dict().items, false});
  return Value::List(std::move(out));
}

StatusOr<Value> CallListMethod(const Value& l, const std::string& m, const CallArgs& a) {
  const Value* x = a.Get(0, "value");
  if (m == "copy") return Value::List(l.items(), l.is_tuple());
  if (x == nullptr) return ArgError(m, "takes exactly one argument");
  int64_t count = 0;
  for (size_t i = 0; i < l.items().size(); ++i) {
    if (!l.items()[i].Equals(*x)) continue;
    if (m == "index") return Value(static_cast<int64_t>(i));
    ++count;
  }
  if (m == "index") return ArgError(m, fmt::format("{} is not in list", x->Repr()));
  return Value(count);
}

bool OneOf(const std::string& name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (name == n) return true;
  }
  return false;
}

Value Unsafe(const Value& obj, const std::string& name) {
  return Value::Undefined(
      fmt::format("access to attribute '{}' of '{}' object is unsafe", name, obj.TypeName()));
}

}  // namespace

std::optional<Value> BoundMethod(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    if (!OneOf(name,
               {"strip",       "lstrip",   "rstrip",  "split",     "rsplit",     "splitlines",
                "startswith",  "endswith", "upper",   "lower",     "casefold",   "title",
                "capitalize",  "replace",  "find",    "rfind",     "index",      "rindex",
                "count",       "join",     "format",  "isdigit",   "isnumeric",  "isdecimal",
                "isalpha",     "isalnum",  "isspace", "isupper",   "islower",    "ljust",
                "rjust",       "center",   "zfill",   "partition", "rpartition", "removeprefix",
                "removesuffix"})) {
      return std::nullopt;
    }
    const std::string s = obj.str();
    return Value::Callable("str." + name,
                           [s, name](const CallArgs& a) { return CallStringMethod(s, name, a); });
  }
  if (obj.is_mapping()) {
    if (OneOf(name, {"pop", "popitem", "setdefault", "update", "clear"})) return Unsafe(obj, name);
    if (!OneOf(name, {"get", "items", "keys", "values", "copy"})) return std::nullopt;
    return Value::Callable("dict." + name,
                           [obj, name](const CallArgs& a) { return CallDictMethod(obj, name, a); });
  }
  if (obj.is_list()) {
    if (OneOf(name, {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"})) {
      return Unsafe(obj, name);
    }
    if (!OneOf(name, {"index", "count", "copy"})) return std::nullopt;
    return Value::Callable(obj.TypeName() + "." + name,
                           [obj, name](const CallArgs& a) { return CallListMethod(obj, name, a); });
  }
  return std::nullopt;
}

}  // namespace kvpress::jinja
