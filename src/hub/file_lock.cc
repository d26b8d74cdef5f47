#include "hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hub/hub_cache.h"

namespace kvpress::hub {

StatusOr<std::unique_ptr<FileLock>> FileLock::Acquire(const std::string& path) {
  return Lock(path, true);
}

StatusOr<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& path) {
  return Lock(path, false);
}

namespace {

// True when `path` still names the open file `fd` (it was not removed or replaced meanwhile).
bool PathNamesFile(const std::string& path, int fd) {
  struct stat by_path {};
  struct stat by_fd {};
  if (::stat(path.c_str(), &by_path) != 0 || ::fstat(fd, &by_fd) != 0) return false;
  return by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
}

}  // namespace

StatusOr<std::unique_ptr<FileLock>> FileLock::Lock(const std::string& path, bool wait) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  // Each turn opens (or creates) the file and locks it; a holder that removed the file on
  // release leaves us a lock on an unlinked inode, so we start over on the new file.
  while (true) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return FailedPrecondition(path + ": cannot open lock file: " + std::strerror(errno));
    int rc;
    while ((rc = ::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK && !wait) return std::unique_ptr<FileLock>();
      return FailedPrecondition(path + ": cannot lock: " + std::strerror(err));
    }
    if (PathNamesFile(path, fd)) return std::unique_ptr<FileLock>(new FileLock(fd, path));
    ::flock(fd, LOCK_UN);
    ::close(fd);
  }
}

FileLock::~FileLock() {
  if (remove_on_release_) ::unlink(path_.c_str());
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace kvpress::hub
