#include "hub/hub_cache.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file_util.h"

namespace kvpress::hub {
namespace {

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string StatStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return fmt::format("{} {}", static_cast<int64_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec);
}

}  // namespace

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return FailedPrecondition(fmt::format("{}: cannot create directory: {}", dir, ec.message()));
  return Status::Ok();
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return static_cast<int64_t>(st.st_size);
}

HubCache::HubCache(std::string cache_dir, const RepoId& repo)
    : cache_dir_(std::move(cache_dir)),
      folder_(RepoFolderName(repo)),
      repo_dir_(cache_dir_ + "/" + folder_) {}

std::string HubCache::LockPath(const std::string& etag) const {
  return cache_dir_ + "/.locks/" + folder_ + "/" + etag + ".lock";
}

std::string HubCache::LocalCommit(const std::string& revision) const {
  if (IsCommitSha(revision)) return revision;
  std::ifstream in(repo_dir_ + "/refs/" + revision);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string commit = Trim(ss.str());
  return IsCommitSha(commit) ? commit : "";
}

Status HubCache::WriteRef(const std::string& revision, const std::string& commit) const {
  if (revision == commit) return Status::Ok();
  const std::string path = repo_dir_ + "/refs/" + revision;
  RETURN_IF_ERROR(MakeDirs(ParentOf(path)));
  return WriteFileAtomic(path, commit);
}

bool HubCache::HasFile(const std::string& commit, const std::string& file) const {
  return FileSize(SnapshotFile(commit, file)) >= 0;
}

std::string HubCache::LinkedEtag(const std::string& commit, const std::string& file) const {
  std::error_code ec;
  const std::filesystem::path target =
      std::filesystem::read_symlink(SnapshotFile(commit, file), ec);
  if (ec) return "";
  const std::string t = target.string();
  const size_t pos = t.rfind("blobs/");
  if (pos == std::string::npos || t.find('/', pos + 6) != std::string::npos) return "";
  return t.substr(pos + 6);
}

Status HubCache::LinkFile(const std::string& commit, const std::string& file,
                          const std::string& etag) const {
  const std::string link = SnapshotFile(commit, file);
  RETURN_IF_ERROR(MakeDirs(ParentOf(link)));
  // One "../" for snapshots/<commit>/ and one more per folder inside the repository path.
  std::string target = "../../";
  for (char c : file) {
    if (c == '/') target += "../";
  }
  target += "blobs/" + etag;
  const std::string tmp = fmt::format("{}.tmp.{}", link, ::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return FailedPrecondition(
        fmt::format("{}: cannot create symlink: {}", link, std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return FailedPrecondition(fmt::format("{}: cannot place symlink: {}", link, err));
  }
  return Status::Ok();
}

void HubCache::UnlinkFile(const std::string& commit, const std::string& file) const {
  ::unlink(SnapshotFile(commit, file).c_str());
}

bool HubCache::IsMarkedAbsent(const std::string& commit, const std::string& file) const {
  struct stat st {};
  return ::lstat((repo_dir_ + "/.no_exist/" + commit + "/" + file).c_str(), &st) == 0;
}

Status HubCache::MarkAbsent(const std::string& commit, const std::string& file) const {
  const std::string path = repo_dir_ + "/.no_exist/" + commit + "/" + file;
  RETURN_IF_ERROR(MakeDirs(ParentOf(path)));
  std::ofstream out(path, std::ios::app);
  if (!out) return FailedPrecondition(path + ": cannot create marker");
  return Status::Ok();
}

bool HubCache::IsVerified(const std::string& sha256) const {
  std::ifstream in(repo_dir_ + "/.kvpress/verified/" + sha256);
  if (!in) return false;
  std::string recorded;
  std::getline(in, recorded);
  const std::string now = StatStamp(BlobPath(sha256));
  return !now.empty() && Trim(recorded) == now;
}

Status HubCache::MarkVerified(const std::string& sha256) const {
  const std::string dir = repo_dir_ + "/.kvpress/verified";
  RETURN_IF_ERROR(MakeDirs(dir));
  const std::string stamp = StatStamp(BlobPath(sha256));
  if (stamp.empty()) return NotFound(BlobPath(sha256) + ": missing after verification");
  return WriteFileAtomic(dir + "/" + sha256, stamp + "\n");
}

}  // namespace kvpress::hub
