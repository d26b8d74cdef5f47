// Fetches files of one repository revision into the Hugging Face cache, the way the Python client
// does: from the cache when present, else HEAD (no redirects) for X-Repo-Commit / etag / size,
// then a GET that follows the CDN redirect into blobs/<etag>.incomplete (resumed with Range),
// verified (size; sha256 when the etag is one), renamed, and linked from snapshots/<commit>/.
#pragma once

#include <string>

#include "core/status.h"
#include "hub/http_client.h"
#include "hub/hub_cache.h"
#include "hub/hub_options.h"
#include "hub/repo_id.h"

namespace kvpress::hub {

class FileFetcher {
 public:
  FileFetcher(const RepoId& repo, HubOptions options);

  // The path of snapshots/<commit>/<file>, or "" when the file does not exist in the repository
  // (a 404, recorded as a .no_exist marker) — or, offline, when the cache does not have it.
  // A cached LFS blob whose sha256 no longer matches (changed since it was verified) is downloaded
  // again when online, and a DataLoss error offline. Errors name the repository and the file:
  // NotFound (unknown repository or revision; offline and the revision is not cached),
  // FailedPrecondition (401/403, network failure, other HTTP errors), DataLoss (bad size or
  // sha256).
  StatusOr<std::string> Fetch(const std::string& file);

  // The commit being fetched ("" until known).
  const std::string& commit() const { return commit_; }
  const HubCache& cache() const { return cache_; }
  const RepoId& repo() const { return repo_; }
  const HubOptions& options() const { return options_; }

 private:
  struct Remote {
    std::string etag;
    int64_t size = -1;
  };
  // From the cache: the path, "" when known absent, or nullopt-like `miss` when it must be fetched.
  StatusOr<std::string> FromCache(const std::string& file, bool& miss);
  StatusOr<Remote> Head(const std::string& file, bool& absent);
  Status DownloadBlob(const std::string& file, const Remote& remote);
  // Hashes blobs/<sha256>; Ok and stamped when it matches, DataLoss otherwise.
  Status VerifyBlob(const std::string& sha256);
  std::string Url(const std::string& file) const;
  Status HttpError(long status, const std::string& file, const HttpResponse& r) const;

  RepoId repo_;
  HubOptions options_;
  HubCache cache_;
  HttpClient http_;
  std::string commit_;
};

}  // namespace kvpress::hub
