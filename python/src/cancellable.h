// Long library calls from Python: the work runs on a worker thread with the GIL released, while the
// calling thread wakes every 50 ms to let Python handle signals. Ctrl-C raises the work's cancel flag
// (the library stops before the next layer or token, DESIGN.md), waits for it to return, then raises
// KeyboardInterrupt in the caller. Other Python threads run meanwhile.
#pragma once

#include <atomic>
#include <functional>

namespace kvpress::py {

// Runs `work(cancel)` to completion on a worker thread. Must be called with the GIL held. `on_poll`
// (may be empty) is called with the GIL held at every wake-up and once at the end (progress
// reporting); a Python exception it raises cancels the work like Ctrl-C and is re-raised. A C++
// exception thrown by `work` is re-thrown here. The worker never touches Python objects.
void RunReleasingGil(const std::function<void(const std::atomic<bool>& cancel)>& work,
                     const std::function<void()>& on_poll = {});

}  // namespace kvpress::py
