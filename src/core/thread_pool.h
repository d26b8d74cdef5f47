// A persistent fork-join thread pool for the kernels' parallel loops (MatMul rows, attention
// heads).
//
// Why not OpenMP: a decoded token enters ~200 parallel regions, and an OpenMP region ends in a
// barrier that waits for every team thread, so when a foreign process holds a core the whole token
// waits for the descheduled thread's next time slice at every region (measured: eval 13-25x slower). Here
// tasks are claimed one at a time from a shared counter, the caller claims too, and the caller
// waits only for tasks some thread has started: a worker that is not running when a region starts
// simply finds no work left when it wakes. Idle workers poll briefly (regions follow each other
// within microseconds while decoding; $KVPRESS_SPIN pause iterations, default 2000, 0 = sleep at
// once), then sleep on a futex (std::atomic::wait), so an idle pool costs no CPU. The pool never
// waits for a worker to start, so it also survives fork() (the child's caller does all the work).
#pragma once

#include <cstdint>
#include <type_traits>

namespace kvpress {

// Calls body(i) for every i in [0, n), spread over up to `threads` threads (the caller is one of
// them; the others come from the process-wide pool, which grows on demand). Returns when every call
// has returned. Tasks run in no particular order and each exactly once; callers give each task a
// disjoint part of the output. Runs serially (in order, on the calling thread) when threads <= 1,
// n <= 1, when called from inside a task (nested) or while another thread is using the pool.
// `body` must not throw: the call is noexcept, so an escaping exception terminates the program.
template <class F>
void ParallelFor(int64_t n, int threads, F&& body) noexcept;

// Threads to use when the user gives none: the physical cores (SMT siblings counted once) of the
// CPUs this process may run on (sched_getaffinity), capped by a cgroup v2 CPU quota (cpu.max) when
// one is set; at least 1.
int DefaultThreadCount();

// The number of CPUs this process may run on (sched_getaffinity; SMT siblings each count); at
// least 1.
int AvailableCpus();

namespace thread_pool_internal {
// The type-erased entry behind ParallelFor.
void Run(int64_t n, int threads, void (*fn)(void*, int64_t), void* ctx) noexcept;
}  // namespace thread_pool_internal

template <class F>
void ParallelFor(int64_t n, int threads, F&& body) noexcept {
  using Body = std::remove_reference_t<F>;
  thread_pool_internal::Run(
      n, threads, [](void* ctx, int64_t i) { (*static_cast<Body*>(ctx))(i); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

}  // namespace kvpress
