#include "serve/job.h"

namespace kvpress::serve {

void Job::MarkStarted() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  cv_.notify_all();
}

void Job::PushText(const std::string& text) {
  if (text.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += text;
  }
  cv_.notify_all();
}

void Job::Finish(JobOutcome outcome) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    outcome_ = std::move(outcome);
    started_ = finished_ = true;
  }
  cv_.notify_all();
}

void Job::Fail(Status error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
    started_ = finished_ = true;
  }
  cv_.notify_all();
}

Status Job::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

bool Job::WaitStarted(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, until, [&] { return started_; });
}

JobEvent Job::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !text_.empty() || finished_; });
  JobEvent e;
  e.text.swap(text_);
  if (finished_) {
    e.finished = true;
    e.outcome = outcome_;
    e.error = error_;
  }
  return e;
}

}  // namespace kvpress::serve
