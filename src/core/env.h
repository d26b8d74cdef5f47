// Environment-variable helpers shared by the layers that read their options from the environment.
#pragma once

#include <string>

namespace kvpress {

// The value of environment variable `name`; "" when it is unset (an empty value reads the same).
std::string GetEnv(const char* name);

// True when `name` is set to 1, true, yes or on (case-insensitive); false when unset or otherwise.
bool EnvFlagTrue(const char* name);

// `path` with a leading '~' replaced by $HOME ("~/x" -> "$HOME/x"); other paths unchanged. Only
// the current user's home: "~user" is not looked up.
std::string ExpandHome(const std::string& path);

}  // namespace kvpress
