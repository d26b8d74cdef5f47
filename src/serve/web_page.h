// The comparison page served at / (src/serve/web/index.html, compiled into the binary by
// src/serve/embed_file.cmake: no files to install, no build step for the page).
#pragma once

#include <string_view>

namespace kvpress::serve {

// The page's HTML.
std::string_view WebPage();

}  // namespace kvpress::serve
