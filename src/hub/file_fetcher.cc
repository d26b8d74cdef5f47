#include "hub/file_fetcher.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.h"
#include "hub/download_progress.h"
#include "hub/file_lock.h"
#include "hub/sha256.h"

namespace kvpress::hub {
namespace {

// ETag / X-Linked-Etag value -> blob name: no W/ prefix, no quotes.
std::string NormalizeEtag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

bool IsSafeBlobName(const std::string& e) {
  if (e.empty() || e.size() > 256 || e[0] == '.') return false;
  for (char c : e) {
    if (c == '/' || c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

int64_t ParseSize(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return (end && *end == '\0' && v >= 0) ? static_cast<int64_t>(v) : -1;
}

// "scheme://host[:port]" of an absolute URL ("" when it is not one).
std::string Origin(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

// The absolute target of a redirect from `url` to `location` when it stays on the same host, else
// "".
std::string SameHostTarget(const std::string& url, const std::string& location) {
  if (location.empty()) return "";
  if (location[0] == '/' && (location.size() < 2 || location[1] != '/'))
    return Origin(url) + location;
  const std::string origin = Origin(url);
  if (!origin.empty() && Origin(location) == origin) return location;
  return "";
}

HttpClientOptions ClientOptions(const HubOptions& o) {
  HttpClientOptions h;
  if (!o.token.empty()) h.headers.push_back("Authorization: Bearer " + o.token);
  h.connect_timeout_s = o.connect_timeout_s;
  h.stall_timeout_s = o.stall_timeout_s;
  return h;
}

}  // namespace

FileFetcher::FileFetcher(const RepoId& repo, HubOptions options)
    : repo_(repo),
      options_(std::move(options)),
      cache_(options_.cache_dir, repo),
      http_(ClientOptions(options_)) {
  commit_ = cache_.LocalCommit(repo_.revision);
}

std::string FileFetcher::Url(const std::string& file) const {
  const std::string& rev = commit_.empty() ? repo_.revision : commit_;
  return fmt::format("{}/{}/{}/resolve/{}/{}", options_.endpoint, repo_.org, repo_.name,
                     UrlEncode(rev), UrlEncodePath(file));
}

Status FileFetcher::VerifyBlob(const std::string& sha256) {
  const std::string blob = cache_.BlobPath(sha256);
  ASSIGN_OR_RETURN(const std::string got, Sha256File(blob));
  if (got != sha256) {
    return DataLoss(
        fmt::format("{}: sha256 mismatch (expected {}, got {}): the cached file is corrupt", blob,
                    sha256, got));
  }
  return cache_.MarkVerified(sha256);
}

StatusOr<std::string> FileFetcher::FromCache(const std::string& file, bool& miss) {
  miss = false;
  if (!commit_.empty()) {
    if (cache_.HasFile(commit_, file)) {
      const std::string etag = cache_.LinkedEtag(commit_, file);
      if (!IsSha256Hex(etag) || cache_.IsVerified(etag)) return cache_.SnapshotFile(commit_, file);
      const Status v = VerifyBlob(etag);
      if (v.ok()) return cache_.SnapshotFile(commit_, file);
      if (v.code() != StatusCode::kDataLoss) return v;
      if (options_.offline) {
        return DataLoss(fmt::format(
            "{} ({}@{}): {}; delete it, or run without HF_HUB_OFFLINE to download it again", file,
            repo_.Id(), repo_.revision, v.message()));
      }
      Log(LogLevel::kWarning, "{}; downloading {} from {} again", v.message(), file, repo_.Id());
      ::unlink(cache_.BlobPath(etag).c_str());
      cache_.UnlinkFile(commit_, file);
    } else if (cache_.IsMarkedAbsent(commit_, file)) {
      return std::string();
    }
  }
  miss = true;
  return std::string();
}

Status FileFetcher::HttpError(long status, const std::string& file, const HttpResponse& r) const {
  const std::string code = r.Header("x-error-code");
  const std::string server_msg = r.Header("x-error-message");
  const std::string detail = server_msg.empty() ? "" : " (server: " + server_msg + ")";
  if (status == 401) {
    return FailedPrecondition(fmt::format(
        "{}: 401 Unauthorized fetching {} from {}{}: the repository is gated or private (or does "
        "not exist). {}",
        repo_.Id(), file, options_.endpoint, detail,
        options_.token.empty()
            ? "Set HF_TOKEN (or write a token to $HF_HOME/token) with access to it."
            : "The token in HF_TOKEN / $HF_HOME/token was rejected; check it has access."));
  }
  if (status == 403) {
    return FailedPrecondition(
        fmt::format("{}: 403 Forbidden fetching {}{}: your HF_TOKEN has no access; for a gated "
                    "model accept its conditions at "
                    "{}/{} with the token's account.",
                    repo_.Id(), file, detail, options_.endpoint, repo_.Id()));
  }
  if (status == 404 && code == "RepoNotFound") {
    return NotFound(fmt::format("{}: repository not found on {} (404){}", repo_.Id(),
                                options_.endpoint, detail));
  }
  if (status == 404 && code == "RevisionNotFound") {
    return NotFound(
        fmt::format("{}: revision '{}' not found (404){}", repo_.Id(), repo_.revision, detail));
  }
  return FailedPrecondition(
      fmt::format("{}: HTTP {} fetching {} ({}){}", repo_.Id(), status, file, Url(file), detail));
}

StatusOr<FileFetcher::Remote> FileFetcher::Head(const std::string& file, bool& absent) {
  absent = false;
  // Redirects on the same host (a renamed repository) are followed; those to another host (the
  // LFS/Xet CDN) are not: that reply carries the file's headers. (The Python client does the same.)
  std::string url = Url(file);
  StatusOr<HttpResponse> head = Internal("not run");
  for (int hops = 0;; ++hops) {
    head = http_.Head(url);
    if (!head.ok()) {
      return FailedPrecondition(
          fmt::format("{}: cannot reach the Hugging Face hub: {}. Check the network (or "
                      "HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use only the cache.",
                      repo_.Id(), head.status().message()));
    }
    if (head->status < 300 || head->status > 308 || hops == 5) break;
    const std::string next = SameHostTarget(url, head->Header("location"));
    if (next.empty()) break;
    url = next;
  }
  const HttpResponse& r = *head;
  const std::string commit = r.Header("x-repo-commit");
  if (commit_.empty() && IsCommitSha(commit)) {
    commit_ = commit;
    RETURN_IF_ERROR(cache_.WriteRef(repo_.revision, commit_));
  }
  if (r.status == 404) {
    const std::string code = r.Header("x-error-code");
    if (code == "RepoNotFound" || code == "RevisionNotFound") return HttpError(r.status, file, r);
    absent = true;
    if (!commit_.empty()) RETURN_IF_ERROR(cache_.MarkAbsent(commit_, file));
    return Remote{};
  }
  if (!((r.status >= 200 && r.status < 300) || (r.status >= 301 && r.status <= 308))) {
    return HttpError(r.status, file, r);
  }
  if (commit_.empty()) {
    return FailedPrecondition(
        fmt::format("{}: the server ({}) did not send X-Repo-Commit for {}; is HF_ENDPOINT a "
                    "Hugging Face hub?",
                    repo_.Id(), options_.endpoint, file));
  }
  Remote remote;
  std::string etag = r.Header("x-linked-etag");
  if (etag.empty()) etag = r.Header("etag");
  remote.etag = NormalizeEtag(etag);
  if (!IsSafeBlobName(remote.etag)) {
    return FailedPrecondition(fmt::format("{}: no usable ETag for {} from {} (got '{}')",
                                          repo_.Id(), file, options_.endpoint, etag));
  }
  remote.size = ParseSize(r.Header("x-linked-size"));
  if (remote.size < 0 && r.status < 300) remote.size = ParseSize(r.Header("content-length"));
  return remote;
}

Status FileFetcher::DownloadBlob(const std::string& file, const Remote& remote) {
  RETURN_IF_ERROR(MakeDirs(cache_.RepoDir() + "/blobs"));
  const std::string incomplete = cache_.IncompletePath(remote.etag);
  const std::string blob = cache_.BlobPath(remote.etag);
  const bool check_sha = IsSha256Hex(remote.etag);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(incomplete.c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC | (attempt > 0 ? O_TRUNC : 0), 0644);
    if (fd < 0)
      return FailedPrecondition(
          fmt::format("{}: cannot create: {}", incomplete, std::strerror(errno)));
    struct stat st {};
    ::fstat(fd, &st);
    int64_t offset = static_cast<int64_t>(st.st_size);
    if (remote.size >= 0 && offset > remote.size) {  // not a prefix of this blob: start over
      if (::ftruncate(fd, 0) != 0) {
        ::close(fd);
        return FailedPrecondition(
            fmt::format("{}: cannot truncate: {}", incomplete, std::strerror(errno)));
      }
      offset = 0;
    }
    if (offset > 0) Log(LogLevel::kInfo, "{}: resuming {} at byte {}", repo_.Id(), file, offset);
    StatusOr<HttpResponse> got = Internal("not run");
    {
      DownloadProgress bar(file, options_.progress, offset);
      got = http_.Download(Url(file), fd, offset, [&](int64_t done, int64_t total) {
        bar.Update(done, total >= 0 ? total : remote.size);
      });
    }
    const int close_rc = ::close(fd);
    if (!got.ok()) {
      if (got.status().code() == StatusCode::kDataLoss) return got.status();
      return FailedPrecondition(
          fmt::format("{}: download of {} interrupted: {}. Run again to resume ({} is kept).",
                      repo_.Id(), file, got.status().message(), incomplete));
    }
    if (close_rc != 0)
      return DataLoss(fmt::format("{}: write failed: {}", incomplete, std::strerror(errno)));
    const HttpResponse& r = *got;
    const bool already_complete =
        r.status == 416 && remote.size >= 0 && FileSize(incomplete) == remote.size;
    if (!already_complete && r.status != 200 && r.status != 206)
      return HttpError(r.status, file, r);
    const int64_t have = FileSize(incomplete);
    if (remote.size >= 0 && have != remote.size) {
      return DataLoss(
          fmt::format("{}: download of {} is incomplete ({} of {} bytes). Run again to resume.",
                      repo_.Id(), file, have, remote.size));
    }
    if (check_sha) {
      ASSIGN_OR_RETURN(const std::string sha, Sha256File(incomplete));
      if (sha != remote.etag) {
        ::unlink(incomplete.c_str());
        if (attempt == 0) {
          Log(LogLevel::kWarning,
              "{}: {} failed its sha256 check; downloading it again from the start", repo_.Id(),
              file);
          continue;
        }
        return DataLoss(
            fmt::format("{}: downloaded {} has sha256 {} but the hub says {}; the file was removed",
                        repo_.Id(), file, sha, remote.etag));
      }
    }
    if (::rename(incomplete.c_str(), blob.c_str()) != 0) {
      return FailedPrecondition(
          fmt::format("{}: cannot rename to {}: {}", incomplete, blob, std::strerror(errno)));
    }
    if (check_sha) RETURN_IF_ERROR(cache_.MarkVerified(remote.etag));
    return Status::Ok();
  }
  return Internal("unreachable");
}

StatusOr<std::string> FileFetcher::Fetch(const std::string& file) {
  bool miss = false;
  ASSIGN_OR_RETURN(std::string cached, FromCache(file, miss));
  if (!miss) return cached;
  if (options_.offline) {
    if (commit_.empty()) {
      return NotFound(
          fmt::format("HF_HUB_OFFLINE is set and {} is not in the Hugging Face cache ({} has no "
                      "refs/{}); run once with network access, or unset HF_HUB_OFFLINE",
                      repo_.Display(), cache_.RepoDir(), repo_.revision));
    }
    return std::string();
  }
  const bool knew_commit = !commit_.empty();
  bool absent = false;
  ASSIGN_OR_RETURN(const Remote remote, Head(file, absent));
  if (absent) return std::string();
  if (!knew_commit) {  // the HEAD told us the commit: the snapshot may already have the file
    ASSIGN_OR_RETURN(cached, FromCache(file, miss));
    if (!miss) return cached;
  }
  {
    ASSIGN_OR_RETURN(auto lock, FileLock::Acquire(cache_.LockPath(remote.etag)));
    // Another process may have downloaded the blob while we waited; or another revision has it.
    bool have = FileSize(cache_.BlobPath(remote.etag)) >= 0;
    if (have && remote.size >= 0 && FileSize(cache_.BlobPath(remote.etag)) != remote.size)
      have = false;
    if (have && IsSha256Hex(remote.etag) && !cache_.IsVerified(remote.etag)) {
      const Status v = VerifyBlob(remote.etag);
      if (!v.ok() && v.code() != StatusCode::kDataLoss) return v;
      have = v.ok();
    }
    if (!have) {
      ::unlink(cache_.BlobPath(remote.etag).c_str());
      RETURN_IF_ERROR(DownloadBlob(file, remote));
    }
  }
  RETURN_IF_ERROR(cache_.LinkFile(commit_, file, remote.etag));
  return cache_.SnapshotFile(commit_, file);
}

}  // namespace kvpress::hub
