// A small HTTP client on libcurl: HEAD without redirects (to read the hub's headers), GET of a
// small body into memory, and a resumable GET of a large body into a file descriptor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace kvpress::hub {

struct HttpResponse {
  long status = 0;  // of the final response (after redirects when followed)
  std::map<std::string, std::string> headers;  // of the final response; names lower-cased
  std::string body;  // Get(): the body; Download(): the body of an error reply
  std::string effective_url;
  bool restarted = false;  // Download(): a Range request was answered with the whole body (200)

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpClientOptions {
  std::vector<std::string> headers;  // extra request headers, "Name: value"
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;  // a transfer that moves no byte for this long fails
};

// (bytes done, bytes total or -1 when unknown), called often during Download().
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);

  // HEAD `url`, not following redirects. A transport failure (DNS, refused, TLS, timeout) is a
  // FailedPrecondition naming the URL and curl's message; any HTTP status is a successful response.
  StatusOr<HttpResponse> Head(const std::string& url) const;

  // GET `url` following redirects, the body (at most `max_body` bytes) into the response.
  StatusOr<HttpResponse> Get(const std::string& url, size_t max_body = 1 << 20) const;

  // GET `url` following redirects, writing the body into `fd` at `offset` (sending
  // "Range: bytes=<offset>-" when offset > 0). When the server answers 200 to a Range request the
  // file is truncated and rewritten from 0 (`restarted`). The body of a non-2xx reply is returned
  // in `body` and nothing is written.
  StatusOr<HttpResponse> Download(const std::string& url, int fd, int64_t offset,
                                  const ProgressFn& progress) const;

 private:
  HttpClientOptions options_;
};

}  // namespace kvpress::hub
