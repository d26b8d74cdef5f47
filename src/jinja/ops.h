// Python/Jinja semantics of the operations on values: arithmetic, comparison, membership,
// attribute and item lookup, slicing, iteration and %-formatting. Errors carry no template
// location (the interpreter adds it) and are FailedPrecondition, except Undefined misuse.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "jinja/value.h"

namespace kvpress::jinja {

// Limit on the size of a string or list a template may build (`'x' * n`, range(), joins), so that
// a hostile template fails cleanly instead of exhausting memory.
inline constexpr size_t kMaxValueSize = size_t{64} << 20;

// The error for using Undefined `v` where a value is needed ("'x' is undefined").
Status UndefinedError(const Value& v);

// a <op> b for op in + - * / // % ** (Python semantics; bool acts as int; str/list + and *;
// str % args is printf-style formatting).
StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b);
// -a and +a.
StatusOr<Value> UnaryOp(std::string_view op, const Value& a);
// a <op> b for op in == != < <= > >= in notin.
StatusOr<bool> CompareOp(std::string_view op, const Value& a, const Value& b);
// `item in container`: substring for strings, key for dicts, element for lists; Undefined is empty.
StatusOr<bool> Contains(const Value& container, const Value& item);

// jinja2's environment.getattr: for dicts a method of that name (get, items, keys, values) first,
// then the item; strings and lists expose their methods. Missing -> Undefined with a hint.
// Undefined `obj` -> error.
StatusOr<Value> GetAttribute(const Value& obj, const std::string& name);
// jinja2's environment.getitem: obj[key] (negative indices count from the end); a missing key
// falls back to an attribute of that name, then Undefined. Undefined `obj` -> error.
StatusOr<Value> GetItem(const Value& obj, const Value& key);
// obj[start:stop:step] for strings, lists and tuples; None parts take Python's defaults.
StatusOr<Value> Slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// list(v): list/tuple items, dict keys, string characters; Undefined is empty; others error.
StatusOr<std::vector<Value>> Iterate(const Value& v);
// len(v); Undefined is 0.
StatusOr<int64_t> Length(const Value& v);

// "fmt" % args with %s %r %d %i %f %F %e %E %g %G %x %X %o %c %% and flags/width/precision;
// `args` is a tuple of positional values, a dict for %(name)s, or one value.
StatusOr<std::string> PercentFormat(std::string_view fmt, const Value& args);

// Python's float(s) (whitespace, '_' between digits, inf/nan) and int(s, base) (base 0 reads a
// 0x/0o/0b prefix); nullopt where Python raises ValueError (or the int overflows 64 bits).
std::optional<double> PyFloatFromString(std::string s);
std::optional<int64_t> PyIntFromString(std::string s, int64_t base);

// Characters of a string as one-character strings (code points).
std::vector<Value> StringChars(const std::string& s);

}  // namespace kvpress::jinja
