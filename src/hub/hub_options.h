// Where the Hugging Face cache lives, which endpoint to download from, and with which token —
// explicit for library callers and tests, or read from the standard environment variables.
#pragma once

#include <string>

namespace kvpress::hub {

struct HubOptions {
  std::string cache_dir;                            // the hub cache root (holds models--org--name/)
  std::string endpoint = "https://huggingface.co";  // no trailing '/'
  std::string token;     // sent as "Authorization: Bearer <token>" when set
  bool offline = false;  // cache only: never open a connection
  bool progress = true;  // progress bar on stderr (only when it is a TTY)
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;  // abort a transfer that moves no byte for this long
};

// Reads the variables the Python hub client reads (model-formats.md §7):
//   cache_dir: $HF_HUB_CACHE, else $HF_HOME/hub; HF_HOME defaults to $XDG_CACHE_HOME/huggingface,
//              else ~/.cache/huggingface;
//   endpoint:  $HF_ENDPOINT (default https://huggingface.co);
//   token:     $HF_TOKEN, else the contents of $HF_TOKEN_PATH, else of $HF_HOME/token;
//   offline:   $HF_HUB_OFFLINE in {1, true, yes, on};
//   progress:  off when $HF_HUB_DISABLE_PROGRESS_BARS is set to one of those.
HubOptions HubOptionsFromEnvironment();

// The HF_HOME directory as above (used for the token file).
std::string HfHomeFromEnvironment();

}  // namespace kvpress::hub
