// ParallelFor: every task runs exactly once, serial fallbacks (one thread, nested, concurrent
// callers) run in order on the calling thread, and DefaultThreadCount stays within the CPUs we
// have.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kvpress {
namespace {

// Runs ParallelFor(n, threads) and returns how often each index ran.
std::vector<int> CountCalls(int64_t n, int threads) {
  std::vector<std::atomic<int>> calls(static_cast<size_t>(n));
  ParallelFor(n, threads, [&](int64_t i) { calls[static_cast<size_t>(i)].fetch_add(1); });
  std::vector<int> out;
  for (auto& c : calls) out.push_back(c.load());
  return out;
}

TEST(ThreadPool, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
      const std::vector<int> calls = CountCalls(n, threads);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(calls[static_cast<size_t>(i)], 1)
            << "threads " << threads << " n " << n << " i " << i;
    }
  }
}

TEST(ThreadPool, ManyRegionsInARow) {
  // Back-to-back regions, as decoding enters them: no task lost or repeated across generations.
  std::vector<int64_t> out(64, 0);
  for (int region = 0; region < 5000; ++region) {
    ParallelFor(static_cast<int64_t>(out.size()), 2 + region % 3,
                [&](int64_t i) { out[static_cast<size_t>(i)] += i; });
  }
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], static_cast<int64_t>(i) * 5000);
}

TEST(ThreadPool, ShortRegionsThenLongerOnes) {
  // Back-to-back regions whose task count grows (batched decoding packs activations in 2 tasks,
  // then multiplies in 32): a worker still leaving a finished region must not claim a task of the
  // next one under the old generation. That once ran a task twice and left the done count past n,
  // so the caller waited forever.
  std::vector<std::atomic<int>> calls(40);
  constexpr int kRegions = 20000;
  for (int region = 0; region < kRegions; ++region) {
    const int64_t n = region % 2 == 0 ? 2 : static_cast<int64_t>(calls.size());
    ParallelFor(n, 2, [&](int64_t i) { calls[static_cast<size_t>(i)].fetch_add(1); });
  }
  for (size_t i = 0; i < calls.size(); ++i)
    EXPECT_EQ(calls[i].load(), i < 2 ? kRegions : kRegions / 2) << i;
}

TEST(ThreadPool, RegionsAfterIdleSleepsAndSlowWorkerTasks) {
  // The sleeping paths: idle gaps longer than the workers' spin (they go to sleep and must be
  // woken for the next region), and a slow task so the caller sleeps until a worker finishes it.
  std::vector<std::atomic<int>> calls(4);
  for (int region = 0; region < 200; ++region) {
    std::this_thread::sleep_for(std::chrono::microseconds(region % 2 == 0 ? 300 : 0));
    ParallelFor(4, 2, [&](int64_t i) {
      if (i == region % 4) std::this_thread::sleep_for(std::chrono::microseconds(200));
      calls[static_cast<size_t>(i)].fetch_add(1);
    });
  }
  for (auto& c : calls) EXPECT_EQ(c.load(), 200);
}

TEST(ThreadPool, OneThreadRunsInOrderOnTheCaller) {
  std::vector<int64_t> order;
  const std::thread::id caller = std::this_thread::get_id();
  bool same_thread = true;
  ParallelFor(10, 1, [&](int64_t i) {
    order.push_back(i);
    same_thread = same_thread && std::this_thread::get_id() == caller;
  });
  EXPECT_TRUE(same_thread);
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ThreadPool, NestedCallsRunSeriallyOnTheTaskThread) {
  std::vector<std::vector<int64_t>> inner(8);
  std::atomic<bool> same_thread{true};
  ParallelFor(8, 4, [&](int64_t i) {
    const std::thread::id me = std::this_thread::get_id();
    ParallelFor(5, 4, [&](int64_t j) {
      inner[static_cast<size_t>(i)].push_back(j);
      if (std::this_thread::get_id() != me) same_thread.store(false);
    });
  });
  EXPECT_TRUE(same_thread.load());
  for (const auto& v : inner) EXPECT_EQ(v, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(ThreadPool, ConcurrentCallersEachGetEveryTask) {
  // Two threads use the pool at once: one gets it, the other runs serially; both complete.
  std::vector<int64_t> sums(2, 0);
  auto work = [&](int who) {
    for (int region = 0; region < 500; ++region) {
      std::vector<std::atomic<int64_t>> part(4);
      ParallelFor(100, 2, [&](int64_t i) { part[static_cast<size_t>(i % 4)].fetch_add(i); });
      for (auto& p : part) sums[static_cast<size_t>(who)] += p.load();
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(sums[0], int64_t{4950} * 500);
  EXPECT_EQ(sums[1], int64_t{4950} * 500);
}

TEST(ThreadPool, BodyIsNoexcept) {
  // An exception cannot cross the pool: the entry is noexcept (an escaping one terminates).
  auto body = [](int64_t) {};
  static_assert(noexcept(ParallelFor(1, 2, body)));
}

TEST(ThreadPool, DefaultThreadCountIsWithinTheAvailableCpus) {
  const int n = DefaultThreadCount();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, AvailableCpus());
}

}  // namespace
}  // namespace kvpress
