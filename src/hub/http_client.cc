#include "hub/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace kvpress::hub {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// State shared with the curl callbacks of one transfer.
struct Transfer {
  CURL* curl = nullptr;
  HttpResponse response;
  size_t max_body = 1 << 16;
  int fd = -1;  // Download(): the destination
  int64_t offset = 0;
  bool checked_status = false;
  bool to_file = false;
  int write_errno = 0;
  std::string protocol_error;
  const ProgressFn* progress = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after a redirect or 100-continue)
    t->checked_status = false;
    t->to_file = false;
    t->response.body.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    t->response.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->fd >= 0 && !t->checked_status) {
    t->checked_status = true;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 206 && t->offset > 0) {
      // "Content-Range: bytes <start>-<end>/<total>": write from <start>, which must not leave a
      // hole.
      const std::string range =
          t->response.headers.count("content-range") ? t->response.headers["content-range"] : "";
      long long start = -1;
      if (std::sscanf(range.c_str(), "bytes %lld-", &start) != 1 || start < 0 ||
          start > t->offset) {
        t->protocol_error = "the server answered a Range request from byte " +
                            std::to_string(t->offset) + " with Content-Range '" + range + "'";
        return 0;
      }
      t->offset = start;
      t->to_file = true;
    } else if (code == 200) {
      t->to_file = true;
      if (t->offset > 0) {  // the server ignored Range: start over
        t->response.restarted = true;
        t->offset = 0;
        if (::ftruncate(t->fd, 0) != 0) {
          t->write_errno = errno;
          return 0;
        }
      }
    }
    if (t->to_file && ::lseek(t->fd, t->offset, SEEK_SET) < 0) {
      t->write_errno = errno;
      return 0;
    }
  }
  if (t->to_file) {
    size_t done = 0;
    while (done < len) {
      const ssize_t w = ::write(t->fd, data + done, len - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        t->write_errno = errno;
        return 0;  // aborts the transfer
      }
      done += static_cast<size_t>(w);
    }
    return len;
  }
  const size_t room =
      t->max_body > t->response.body.size() ? t->max_body - t->response.body.size() : 0;
  t->response.body.append(data, std::min(room, len));
  return len;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress && *t->progress && t->to_file) {
    (*t->progress)(t->offset + dlnow, dltotal > 0 ? t->offset + dltotal : -1);
  }
  return 0;
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) { GlobalInit(); }

namespace {

StatusOr<HttpResponse> Perform(const HttpClientOptions& o, const std::string& url, bool head,
                               bool follow, Transfer& t) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Internal("libcurl: curl_easy_init failed");
  t.curl = curl.get();
  curl_slist* list = nullptr;
  for (const std::string& h : o.headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Accept-Encoding: identity");
  std::string range;
  if (t.fd >= 0 && t.offset > 0) {
    range = fmt::format("Range: bytes={}-", t.offset);
    list = curl_slist_append(list, range.c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(list, &curl_slist_free_all);
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kvpress.cpp/0.1");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (t.progress) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  const CURLcode rc = curl_easy_perform(c);
  if (t.write_errno != 0) {
    return DataLoss(
        fmt::format("{}: writing the download failed: {}", url, std::strerror(t.write_errno)));
  }
  if (!t.protocol_error.empty()) return DataLoss(fmt::format("{}: {}", url, t.protocol_error));
  if (rc != CURLE_OK) {
    return FailedPrecondition(
        fmt::format("{}: network error: {}", url, errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) t.response.effective_url = effective;
  return std::move(t.response);
}

}  // namespace

StatusOr<HttpResponse> HttpClient::Head(const std::string& url) const {
  Transfer t;
  return Perform(options_, url, /*head=*/true, /*follow=*/false, t);
}

StatusOr<HttpResponse> HttpClient::Get(const std::string& url, size_t max_body) const {
  Transfer t;
  t.max_body = max_body;
  return Perform(options_, url, /*head=*/false, /*follow=*/true, t);
}

StatusOr<HttpResponse> HttpClient::Download(const std::string& url, int fd, int64_t offset,
                                            const ProgressFn& progress) const {
  Transfer t;
  t.fd = fd;
  t.offset = offset;
  t.progress = &progress;
  return Perform(options_, url, /*head=*/false, /*follow=*/true, t);
}

}  // namespace kvpress::hub
