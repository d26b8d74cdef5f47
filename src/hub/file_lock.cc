#include "hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hub/hub_cache.h"

namespace kvpress::hub {

StatusOr<std::unique_ptr<FileLock>> FileLock::Acquire(const std::string& path) { return Lock(path, true); }

StatusOr<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& path) { return Lock(path, false); }

StatusOr<std::unique_ptr<FileLock>> FileLock::Lock(const std::string& path, bool wait) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return FailedPrecondition(path + ": cannot open lock file: " + std::strerror(errno));
  while (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && !wait) {
      ::close(fd);
      return std::unique_ptr<FileLock>();
    }
    const std::string err = std::strerror(errno);
    ::close(fd);
    return FailedPrecondition(path + ": cannot lock: " + err);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace kvpress::hub
