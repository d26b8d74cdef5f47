// Jinja filters (`x | name(args)`) and tests (`x is name(args)`) with jinja2 3.1's semantics,
// plus Hugging Face's `tojson` override (json.dumps with ensure_ascii=False, optional indent,
// separators and sort_keys).
//
// Filters: abs attr capitalize center count d default dictsort e escape first float forceescape
// format indent int items join last length list lower map max min reject rejectattr replace
// reverse round safe select selectattr sort string sum title tojson trim unique upper wordcount.
// Tests: boolean callable defined divisibleby eq equalto escaped even false filter float ge gt
// greaterthan in integer iterable le lower lessthan lt mapping ne none number odd sameas sequence
// string test true undefined upper == != < <= > >=.
#pragma once

#include <string>

#include "core/status.h"
#include "jinja/value.h"

namespace kvpress::jinja {

// `input | name(args)`. Unknown filters are Unimplemented ("unsupported filter 'x'"); errors carry
// no template location.
StatusOr<Value> ApplyFilter(const std::string& name, const Value& input, const CallArgs& args);

// `input is name(args)`. Unknown tests are Unimplemented ("unsupported test 'x'").
StatusOr<bool> ApplyTest(const std::string& name, const Value& input, const CallArgs& args);

bool IsKnownFilter(const std::string& name);
bool IsKnownTest(const std::string& name);

// jinja2's make_attrgetter: follows a dotted path ("a.b.0") with item-then-attribute lookup;
// Undefined results are replaced by `default_value` when one is given.
StatusOr<Value> GetAttributePath(const Value& obj, const std::string& path,
                                 const Value* default_value);

}  // namespace kvpress::jinja
