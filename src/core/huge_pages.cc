#include "core/huge_pages.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kvpress {

HugePageMode ReadHugePageMode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!in || !std::getline(in, line)) return HugePageMode::kUnknown;
  // The active choice is bracketed: "always [madvise] never".
  if (line.find("[always]") != std::string::npos) return HugePageMode::kAlways;
  if (line.find("[madvise]") != std::string::npos) return HugePageMode::kMadvise;
  if (line.find("[never]") != std::string::npos) return HugePageMode::kNever;
  return HugePageMode::kUnknown;
}

size_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

std::unique_ptr<HugePageBuffer> HugePageBuffer::Allocate(size_t bytes) {
  const size_t size = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  if (size == 0) return nullptr;
  // Over-allocate by one huge page, then trim both ends so the region starts on a 2 MiB boundary
  // (a huge page must be aligned virtually as well as physically).
  void* raw = ::mmap(nullptr, size + kHugePageBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto* base = static_cast<uint8_t*>(raw);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(base);
  const size_t head = (kHugePageBytes - addr % kHugePageBytes) % kHugePageBytes;
  if (head > 0) ::munmap(base, head);
  const size_t tail = kHugePageBytes - head;
  if (tail > 0) ::munmap(base + head + size, tail);
  uint8_t* data = base + head;
  ::madvise(data, size, MADV_HUGEPAGE);  // advice only: failure (THP compiled out) is harmless
  return std::unique_ptr<HugePageBuffer>(new HugePageBuffer(data, size));
}

HugePageBuffer::~HugePageBuffer() { ::munmap(data_, size_); }

size_t HugePageBuffer::HugeBytesResident() const {
  // /proc/self/smaps: a header line "start-end perms offset dev inode path" per mapping, then
  // "Key:   value kB" lines about it. The kernel may merge our region with a neighbour or split
  // it, so every entry that overlaps it counts (capped at our size).
  std::ifstream in("/proc/self/smaps");
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  std::string line;
  bool inside = false;
  size_t total_kib = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first.empty()) continue;
    if (first.back() != ':') {  // a header: "7f12a0000000-7f12a4000000"
      const size_t dash = first.find('-');
      if (dash == std::string::npos) continue;
      const uintptr_t start = std::strtoull(first.substr(0, dash).c_str(), nullptr, 16);
      const uintptr_t end = std::strtoull(first.c_str() + dash + 1, nullptr, 16);
      inside = start < hi && end > lo;
    } else if (inside && first == "AnonHugePages:") {
      size_t kib = 0;
      fields >> kib;
      total_kib += kib;
    }
  }
  return std::min(total_kib * 1024, size_);
}

}  // namespace kvpress
