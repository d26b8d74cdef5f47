// Memory backed by transparent huge pages (2 MiB) where the kernel grants them.
//
// Decoding streams every weight once per token. From a 4 KiB-page file mapping that stream crosses
// a page boundary every 4 KiB: one TLB walk each, and hardware prefetchers that stop at the
// boundary. From huge pages it does neither; on the 0.35B model (AMD EPYC Zen 4, 2 threads)
// one-sequence decoding ran 25 % faster in bf16, 12 % in Q8_0 and 4 % in Q4_K_M.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kvpress {

// How the kernel hands out transparent huge pages (/sys/kernel/mm/transparent_hugepage/enabled).
enum class HugePageMode {
  kAlways,   // every large anonymous mapping
  kMadvise,  // mappings advised with MADV_HUGEPAGE (HugePageBuffer does)
  kNever,    // none
  kUnknown,  // the file is absent or unreadable (not Linux, a restricted container)
};
HugePageMode ReadHugePageMode();

// MemAvailable of /proc/meminfo in bytes (free memory plus reclaimable caches); 0 when unknown.
size_t AvailableMemoryBytes();

// An anonymous, private, read-write mapping of `size()` bytes whose start is 2 MiB aligned,
// advised MADV_HUGEPAGE. Unmapped on destruction. The pages are faulted in on first write.
class HugePageBuffer {
 public:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;

  // Maps `bytes` (rounded up to whole huge pages); null when the mapping fails (out of address
  // space or memory limits), which callers treat as "stay where you are".
  static std::unique_ptr<HugePageBuffer> Allocate(size_t bytes);
  ~HugePageBuffer();
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Bytes of this buffer that huge pages back right now (AnonHugePages of its /proc/self/smaps
  // entry); 0 when none or unknown. Reads /proc: for reports, not hot paths.
  size_t HugeBytesResident() const;

 private:
  HugePageBuffer(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_;
  size_t size_;
};

}  // namespace kvpress
