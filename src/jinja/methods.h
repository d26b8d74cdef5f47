// Python methods of str, dict and list values that chat templates call (`s.startswith(...)`,
// `d.get(...)`, `d.items()`, ...). Methods that would mutate a container (list.append,
// dict.update, ...) resolve to Undefined, whose use fails as jinja2's immutable sandbox does.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "jinja/value.h"

namespace kvpress::jinja {

// The method `name` of `obj` bound to it as a callable Value, Undefined (with the sandbox's
// message) for mutating methods, or nullopt when `obj` has no such method.
std::optional<Value> BoundMethod(const Value& obj, const std::string& name);

// Python's str.format(*args, **kwargs): {} {0} {name} {0.attr} {0[key]} {!r} {!s} and the format
// spec mini-language ([[fill]align][sign][#][0][width][,][.precision][type]).
StatusOr<std::string> PyStrFormat(const std::string& fmt, const CallArgs& args);

}  // namespace kvpress::jinja
