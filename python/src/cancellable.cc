#include "cancellable.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <pybind11/pybind11.h>

namespace kvpress::py {
namespace {

// How long the caller sleeps between two looks at Python's signal flag.
constexpr std::chrono::milliseconds kPollInterval(50);

struct WorkState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
  std::atomic<bool> cancel{false};
};

// Waits with the GIL released until the work is done or `timeout` passes; true when done.
bool WaitDone(WorkState& s, std::chrono::milliseconds timeout) {
  pybind11::gil_scoped_release release;
  std::unique_lock<std::mutex> lock(s.mu);
  return s.cv.wait_for(lock, timeout, [&s] { return s.done; });
}

void WaitDoneForever(WorkState& s) {
  pybind11::gil_scoped_release release;
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&s] { return s.done; });
}

}  // namespace

void RunReleasingGil(const std::function<void(const std::atomic<bool>& cancel)>& work,
                     const std::function<void()>& on_poll) {
  WorkState state;
  std::thread worker([&state, &work] {
    std::exception_ptr error;
    try {
      work(state.cancel);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(state.mu);
    state.error = error;
    state.done = true;
    state.cv.notify_all();
  });
  // Stops the work, waits for it, joins the thread: every exit path below goes through here.
  auto stop = [&] {
    state.cancel = true;
    WaitDoneForever(state);
    worker.join();
  };
  try {
    while (!WaitDone(state, kPollInterval)) {
      if (PyErr_CheckSignals() != 0) throw pybind11::error_already_set();
      if (on_poll) on_poll();
    }
    if (on_poll) on_poll();
  } catch (...) {
    stop();
    throw;
  }
  worker.join();
  if (state.error) std::rethrow_exception(state.error);
}

}  // namespace kvpress::py
