#include "core/thread_pool.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/env.h"

namespace kvpress {
namespace thread_pool_internal {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Pause iterations an idle worker polls for the next region before it sleeps, and the caller polls
// for started tasks to finish before it sleeps (one pause is ~40 ns on current x86): $KVPRESS_SPIN,
// else kDefaultSpin.
constexpr int kDefaultSpin = 2000;
int SpinIterations() {
  static const int spin = [] {
    const std::string v = GetEnv("KVPRESS_SPIN");
    if (v.empty()) return kDefaultSpin;
    try {
      const int n = std::stoi(v);
      return n >= 0 ? n : kDefaultSpin;
    } catch (...) {
      return kDefaultSpin;
    }
  }();
  return spin;
}

// True on the pool's workers and on a caller while it runs tasks: ParallelFor there runs serially.
thread_local bool t_in_task = false;

class Pool {
 public:
  ~Pool() {
    stop_.store(true);
    WakeSleepers();
    for (std::thread& t : workers_) t.join();
  }

  // Runs fn(ctx, i) for i in [0, n) on the caller and up to threads - 1 workers.
  void Run(int64_t n, int threads, void (*fn)(void*, int64_t), void* ctx) {
    Grow(threads - 1);
    // First close the previous generation to claims: a worker still in Drain for it may hold a
    // state word from before its last claim and, reading this region's (larger) n below, claim
    // "task k of the old generation" while state_ still shows it — running this region's task k
    // with the old generation's count. That ran a task twice and left done_ past n, so the caller
    // waited forever (batched decoding: a 2-task packing region, then a 32-task multiply). With
    // the claim counter at its maximum such a claim fails its compare-exchange or finds no task.
    const uint64_t previous = state_.load(std::memory_order_relaxed) >> 32;
    state_.store((previous << 32) | kNoTaskLeft, std::memory_order_seq_cst);
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    n_.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
    helpers_.store(threads - 1, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = previous + 1;
    // Publishes the fields above; seq_cst so that either this store is seen by a worker going to
    // sleep or that worker's sleepers_ increment is seen below (no lost wakeup).
    state_.store(gen << 32, std::memory_order_seq_cst);
    if (sleepers_.load() > 0) WakeSleepers();
    t_in_task = true;
    Drain(gen);
    t_in_task = false;
    // Wait for the tasks other threads claimed (and only those).
    const uint32_t total = static_cast<uint32_t>(n);
    for (int spin = 0, limit = SpinIterations(); spin < limit; ++spin) {
      if (done_.load(std::memory_order_acquire) == total) return;
      CpuRelax();
    }
    // Sleep until the last claimed task returns. The finisher takes caller_mu_ before notifying,
    // so the wakeup cannot fall between the predicate check and the wait; the timeout bounds any
    // wakeup missed all the same (a hang under heavy load was once seen with futex waits here).
    std::unique_lock<std::mutex> lock(caller_mu_);
    caller_sleeping_.store(true);
    while (done_.load() != total) caller_cv_.wait_for(lock, kSleepBound);
    caller_sleeping_.store(false);
  }

 private:
  // Claims and runs tasks of generation `gen` until none is left or a newer generation starts.
  void Drain(uint64_t gen) {
    uint64_t s = state_.load(std::memory_order_acquire);
    // Fields are read before the claim: a successful claim proves they belong to `gen` (the caller
    // rewrites them only after every task of `gen` is done, which needs this claim's task).
    auto* fn = fn_.load(std::memory_order_relaxed);
    void* ctx = ctx_.load(std::memory_order_relaxed);
    const uint32_t n = n_.load(std::memory_order_relaxed);
    while ((s >> 32) == gen && static_cast<uint32_t>(s) < n) {
      if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
        continue;
      }
      fn(ctx, static_cast<int64_t>(static_cast<uint32_t>(s)));
      if (done_.fetch_add(1) + 1 == n && caller_sleeping_.load()) {
        // Taking the mutex orders this notify after the caller's check (or before it).
        { std::lock_guard<std::mutex> lock(caller_mu_); }
        caller_cv_.notify_all();
      }
      s = state_.load(std::memory_order_acquire);
    }
  }

  // Starts workers until there are `count`.
  void Grow(int count) {
    if (static_cast<int>(started_.load(std::memory_order_acquire)) >= count) return;
    std::lock_guard<std::mutex> lock(grow_mu_);
    while (static_cast<int>(workers_.size()) < count) {
      const int id = static_cast<int>(workers_.size());
      workers_.emplace_back([this, id] { WorkerLoop(id); });
    }
    started_.store(static_cast<int>(workers_.size()), std::memory_order_release);
  }

  void WorkerLoop(int id) {
    t_in_task = true;
    uint64_t seen = state_.load() >> 32;
    for (;;) {
      uint64_t s = state_.load(std::memory_order_acquire);
      for (int spin = 0, limit = SpinIterations(); (s >> 32) == seen && spin < limit; ++spin) {
        CpuRelax();
        s = state_.load(std::memory_order_acquire);
      }
      if ((s >> 32) == seen) {
        // Sleep until a new region (or stop). Run publishes state_ and then, seeing sleepers_,
        // takes sleep_mu_ before notifying: the wakeup cannot be lost between the check and the
        // wait.
        std::unique_lock<std::mutex> lock(sleep_mu_);
        sleepers_.fetch_add(1);
        while ((state_.load() >> 32) == seen && !stop_.load())
          sleep_cv_.wait_for(lock, kSleepBound);
        sleepers_.fetch_sub(1);
      }
      if (stop_.load()) return;
      s = state_.load(std::memory_order_acquire);
      seen = s >> 32;
      if (id < helpers_.load(std::memory_order_relaxed)) Drain(seen);
    }
  }

  // Wakes every sleeping worker (a new region, or stop).
  void WakeSleepers() {
    { std::lock_guard<std::mutex> lock(sleep_mu_); }
    sleep_cv_.notify_all();
  }

  // The claim counter of a closed generation: above any task count (Run takes n < 2^31).
  static constexpr uint64_t kNoTaskLeft = 0xFFFFFFFFu;

  // Longest sleep between checks of the condition a sleeper waits for.
  static constexpr std::chrono::milliseconds kSleepBound{20};

  // High 32 bits: the region's generation; low 32 bits: the next unclaimed task.
  alignas(64) std::atomic<uint64_t> state_{0};
  std::atomic<void (*)(void*, int64_t)> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<uint32_t> n_{0};
  std::atomic<int> helpers_{0};  // workers allowed to join this region
  // Own cache line: finishing a task does not invalidate the line the claims go through.
  alignas(64) std::atomic<uint32_t> done_{0};  // tasks of this region that have returned
  std::atomic<bool> caller_sleeping_{false};
  // Idle workers sleep on sleep_cv_; the caller waiting for the last tasks on caller_cv_.
  alignas(64) std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::atomic<int> sleepers_{0};
  std::mutex caller_mu_;
  std::condition_variable caller_cv_;
  std::atomic<bool> stop_{false};
  std::atomic<int> started_{0};
  std::mutex grow_mu_;
  std::vector<std::thread> workers_;
};

Pool& GlobalPool() {
  static Pool pool;  // destroyed at exit: workers are woken and joined
  return pool;
}

// Held by the thread whose region is in flight; a second concurrent caller runs serially.
std::atomic<bool> g_busy{false};

}  // namespace

void Run(int64_t n, int threads, void (*fn)(void*, int64_t), void* ctx) noexcept {
  constexpr int64_t kMaxTasks = int64_t{1} << 31;
  const bool serial = threads <= 1 || n <= 1 || n >= kMaxTasks || t_in_task ||
                      g_busy.exchange(true, std::memory_order_acquire);
  if (serial) {
    for (int64_t i = 0; i < n; ++i) fn(ctx, i);
    return;
  }
  if (threads > n) threads = static_cast<int>(n);
  GlobalPool().Run(n, threads, fn, ctx);
  g_busy.store(false, std::memory_order_release);
}

}  // namespace thread_pool_internal

int AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

namespace {

// The first line of a small sysfs/cgroup file; "" when it cannot be read.
std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// ceil(quota / period) from cgroup v2's "cpu.max" ("max 100000" = no quota); 0 when none.
int CgroupCpuLimit() {
  const std::string line = ReadFirstLine("/sys/fs/cgroup/cpu.max");
  const size_t space = line.find(' ');
  if (line.empty() || space == std::string::npos || line.compare(0, space, "max") == 0) return 0;
  try {
    const double quota = std::stod(line.substr(0, space));
    const double period = std::stod(line.substr(space + 1));
    if (quota <= 0 || period <= 0) return 0;
    return static_cast<int>(std::ceil(quota / period));
  } catch (...) {
    return 0;
  }
}

}  // namespace

int DefaultThreadCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int count = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    // One entry per (package, core): SMT siblings share both ids.
    std::set<std::pair<std::string, std::string>> cores;
    bool topology = true;
    for (int cpu = 0; cpu < CPU_SETSIZE && topology; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      const std::string core = ReadFirstLine(dir + "core_id");
      const std::string package = ReadFirstLine(dir + "physical_package_id");
      if (core.empty()) topology = false;
      cores.emplace(package, core);
    }
    count = topology ? static_cast<int>(cores.size()) : CPU_COUNT(&set);
  }
  if (count <= 0) count = AvailableCpus();
  const int quota = CgroupCpuLimit();
  if (quota > 0 && quota < count) count = quota;
  return count > 0 ? count : 1;
}

}  // namespace kvpress
