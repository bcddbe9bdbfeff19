// Spawning workload tasks and waiting for them from the runner's main thread WITHOUT blocking in
// a weft operation.
//
// Why: weft's adaptive wait strategy admits a spinner only while "live minus parked" weft
// threads do not exceed the cores, and a thread becomes "live" the first time it parks in weft
// and stays so until it exits. If the runner's main thread waited for tasks with future::get(),
// it would count as a runnable thread for the rest of the process even while it sleeps in
// join(), so on this 2-core VM every later OS-thread workload (`weft` variant) would park instead
// of spinning and its figure would depend on which workloads ran before it (W4/weft: ~0.4 us
// alone, ~17 us after a weft-fiber run; see RESULTS.md). So the main thread sleeps on a plain
// std::atomic wait until the tasks have signalled, then collects each outcome with try_get().
#pragma once

#include "runner.hpp"

#include <weft/weft.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace weft_bench {

/// Counts tasks still running; each task's last act is to count itself out.
class task_tracker {
 public:
  explicit task_tracker(int n) : left_(std::make_shared<std::atomic<int>>(n)) {}

  /// Wraps f so that it counts itself out when it ends, even by an exception (which still
  /// reaches the task's future). The counter is shared, so a late notify never touches freed
  /// memory.
  template <class F>
  auto wrap(F f) const {
    return [left = left_, f = std::move(f)]() mutable {
      struct count_out {
        std::atomic<int>& left;
        ~count_out() {
          // release: everything the task did happens before the waiter's acquire load.
          if (left.fetch_sub(1, std::memory_order_release) == 1) left.notify_all();
        }
      } guard{*left};
      return f();
    };
  }

  /// Sleeps (futex, not weft) until every wrapped task has counted out.
  void wait() const {
    for (int v = left_->load(std::memory_order_acquire); v != 0; v = left_->load(std::memory_order_acquire)) {
      left_->wait(v, std::memory_order_acquire);
    }
  }

 private:
  std::shared_ptr<std::atomic<int>> left_;
};

/// The outcome of a task known to have ended (or about to: its future completes just after its
/// body returns), read without parking the calling thread.
template <class T>
weft::result<T> collect(weft::future<T>& f) {
  for (;;) {
    weft::result<T> r = f.try_get();
    if (r.code() != weft::status::empty) return r;
    std::this_thread::yield();
  }
}

/// Runs f as one task on rt and waits for it as above; returns its outcome.
template <class F>
weft::result<void> run_task(weft::runtime& rt, F f) {
  task_tracker t(1);
  weft::future<void> fut = weft::spawn(rt, t.wrap(std::move(f)));
  t.wait();
  return collect(fut);
}

}  // namespace weft_bench
