// Parts of a '/'-separated file path, as the loaders need them to find a file's neighbours.
#pragma once

#include <string>

namespace kvpress {

// The folder part of `path` ("." for a bare name, "/" for a file in the root): "a/b/c.json" ->
// "a/b".
std::string DirName(const std::string& path);

// The part after the last '/': "a/b/c.json" -> "c.json" (the path itself when it has none).
std::string BaseName(const std::string& path);

}  // namespace kvpress
