// An exclusive advisory lock on a file (flock), held for the object's lifetime. The Python hub
// client locks <cache>/.locks/<repo>/<etag>.lock the same way (filelock), so concurrent downloads
// of one blob — from kvpress processes (e.g. sweep shards) or Python — wait for each other.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace kvpress::hub {

class FileLock {
 public:
  // Creates `path` (and its folder) if needed and blocks until the lock is held.
  static StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& path);
  // The same without waiting: null when another process holds the lock.
  static StatusOr<std::unique_ptr<FileLock>> TryAcquire(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  static StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path, bool wait);
  int fd_;
};

}  // namespace kvpress::hub
