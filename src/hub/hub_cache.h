// The on-disk layout of one repository in the Hugging Face cache (model-formats.md §7), shared
// with the Python tools:
//   <cache>/models--org--name/refs/<revision>           the commit sha, no newline
//   <cache>/models--org--name/snapshots/<commit>/<file> -> ../../blobs/<etag> (relative symlink)
//   <cache>/models--org--name/blobs/<etag>[.incomplete]
//   <cache>/models--org--name/.no_exist/<commit>/<file> empty marker: known absent
//   <cache>/.locks/models--org--name/<etag>.lock        the Python client's download lock
// plus one kvpress-only folder the Python tools ignore:
//   <cache>/models--org--name/.kvpress/verified/<sha256>  "<size> <mtime_ns>" of a blob whose
//                                                          sha256 was checked
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "hub/repo_id.h"

namespace kvpress::hub {

class HubCache {
 public:
  HubCache(std::string cache_dir, const RepoId& repo);

  const std::string& RepoDir() const { return repo_dir_; }
  std::string BlobPath(const std::string& etag) const { return repo_dir_ + "/blobs/" + etag; }
  std::string IncompletePath(const std::string& etag) const {
    return BlobPath(etag) + ".incomplete";
  }
  std::string SnapshotDir(const std::string& commit) const {
    return repo_dir_ + "/snapshots/" + commit;
  }
  std::string SnapshotFile(const std::string& commit, const std::string& file) const {
    return SnapshotDir(commit) + "/" + file;
  }
  std::string LockPath(const std::string& etag) const;

  // The commit `revision` points to: the revision itself when it is a commit sha, else the contents
  // of refs/<revision>; "" when unknown.
  std::string LocalCommit(const std::string& revision) const;
  // Records refs/<revision> = commit (atomically). A no-op when revision == commit.
  Status WriteRef(const std::string& revision, const std::string& commit) const;

  // snapshots/<commit>/<file> exists and resolves to a file (a dangling link does not count).
  bool HasFile(const std::string& commit, const std::string& file) const;
  // The blob name a snapshot file links to ("" when it is not a symlink into blobs/).
  std::string LinkedEtag(const std::string& commit, const std::string& file) const;
  // Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, replacing what was
  // there.
  Status LinkFile(const std::string& commit, const std::string& file,
                  const std::string& etag) const;
  // Removes snapshots/<commit>/<file> (a link or file); missing is fine.
  void UnlinkFile(const std::string& commit, const std::string& file) const;

  bool IsMarkedAbsent(const std::string& commit, const std::string& file) const;
  Status MarkAbsent(const std::string& commit, const std::string& file) const;

  // Whether blobs/<sha256> was verified and has not changed (same size and mtime) since.
  bool IsVerified(const std::string& sha256) const;
  Status MarkVerified(const std::string& sha256) const;

 private:
  std::string cache_dir_;
  std::string folder_;
  std::string repo_dir_;
};

// Creates `dir` and its parents. FailedPrecondition naming the directory on failure.
Status MakeDirs(const std::string& dir);

// st_size of `path` following links, or -1.
int64_t FileSize(const std::string& path);

}  // namespace kvpress::hub
