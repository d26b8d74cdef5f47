// An exclusive advisory lock on a file (flock), held for the object's lifetime. The Python hub
// client locks <cache>/.locks/<repo>/<etag>.lock the same way (filelock), so concurrent downloads
// of one blob — from kvpress processes (e.g. sweep shards) or Python — wait for each other.
// A holder may remove the lock file on release (RemoveOnRelease): every locker checks after
// locking that the path still names the file it locked, and starts over if not, so a late-comer
// that opened the removed file never holds a lock of its own beside a newer one.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "core/status.h"

namespace kvpress::hub {

class FileLock {
 public:
  // Creates `path` (and its folder) if needed and blocks until the lock is held.
  static StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& path);
  // The same without waiting: null when another process holds the lock.
  static StatusOr<std::unique_ptr<FileLock>> TryAcquire(const std::string& path);
  // Deletes the lock file just before the lock is released (while still holding it), so a
  // finished job leaves no file behind. Safe against concurrent lockers (see above).
  void RemoveOnRelease() { remove_on_release_ = true; }
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  FileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path, bool wait);
  int fd_;
  std::string path_;
  bool remove_on_release_ = false;
};

}  // namespace kvpress::hub
