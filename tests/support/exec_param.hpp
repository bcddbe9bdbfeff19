// tests/support/exec_param.hpp: the execution contexts a channel or select test runs in.
//
// STYLE.md section 8: each channel and select test runs as TEST_P over the contexts in
// `exec_values()`: OS threads, tasks on one worker, tasks on N workers. The task contexts are
// compiled in only when WEFT_TEST_WITH_TASKS is defined (CMake option WEFT_TESTS_WITH_TASKS),
// because `weft::runtime` and `weft::spawn` are written separately from the channels; until
// then the list holds `threads` only and every TEST_P still runs once.
//
// `run_concurrently(ctx, f1, f2, ...)` runs each callable as an OS thread or as a task in a
// fresh runtime, then joins them all. If they are not all done within `hang_deadline()` it
// prints what it was waiting for (and, for tasks, dump_blocked) and aborts the process: a hang
// becomes a failure of the one test (ctest runs each test in its own process) instead of
// a stuck CI job. An exception escaping a callable fails the test.
//
// Code running inside the callables must block only in weft operations (channels, select,
// `gate`), or spin with `relax()`: a std::latch would block a worker thread and deadlock the
// one-worker context.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <weft/weft.hpp>

#include "scale.hpp"

namespace weft::test {

enum class exec { threads, tasks_one_worker, tasks_n_workers };

inline const char* exec_name_of(exec e) {
  switch (e) {
    case exec::threads: return "Threads";
    case exec::tasks_one_worker: return "TasksOneWorker";
    case exec::tasks_n_workers: return "TasksNWorkers";
  }
  return "Unknown";
}

inline std::vector<exec> exec_list() {
  return {
      exec::threads,
#if defined(WEFT_TEST_WITH_TASKS)
      exec::tasks_one_worker,
      exec::tasks_n_workers,
#endif
  };
}

/// For INSTANTIATE_TEST_SUITE_P(Exec, Suite, exec_values(), exec_param_name).
inline auto exec_values() { return ::testing::ValuesIn(exec_list()); }

struct exec_param_name_t {
  std::string operator()(const ::testing::TestParamInfo<exec>& info) const {
    return exec_name_of(info.param);
  }
};
inline constexpr exec_param_name_t exec_param_name{};

/// Lets another thread or task run: weft::yield() inside tasks, std::this_thread::yield() else.
inline void relax() {
#if defined(WEFT_TEST_WITH_TASKS)
  weft::yield();
#else
  std::this_thread::yield();
#endif
}

/// Gives the other parties of a test a moment to reach their blocking call (about 2 ms).
/// Never needed for correctness: a test that uses it passes whether or not they got there;
/// it only makes the "already blocked" case the likely one, so it is the case exercised.
inline void let_others_block(std::chrono::microseconds how_long = std::chrono::microseconds(2000)) {
  const auto until = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < until) relax();
}

[[noreturn]] inline void abort_on_hang(const char* what) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::fprintf(stderr, "\nweft test HANG: %s.%s: %s did not finish within %lld s; aborting\n",
               info != nullptr ? info->test_suite_name() : "?", info != nullptr ? info->name() : "?",
               what, static_cast<long long>(hang_deadline().count()));
  std::fflush(stderr);
  std::abort();
}

namespace detail {

inline void run_guarded(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "exception escaped a concurrent test body: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "unknown exception escaped a concurrent test body";
  }
}

inline void run_threads(std::vector<std::function<void()>>& fns) {
  std::mutex m;
  std::condition_variable cv;
  std::size_t remaining = fns.size();
  std::vector<std::thread> threads;
  threads.reserve(fns.size());
  for (auto& fn : fns) {
    threads.emplace_back([&m, &cv, &remaining, &fn] {
      run_guarded(fn);
      std::lock_guard<std::mutex> lock(m);
      --remaining;
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(m);
    if (!cv.wait_for(lock, hang_deadline(), [&] { return remaining == 0; }))
      abort_on_hang("run_concurrently (threads)");
  }
  for (auto& t : threads) t.join();
}

#if defined(WEFT_TEST_WITH_TASKS)
inline void run_tasks(std::vector<std::function<void()>>& fns, std::size_t workers) {
  weft::runtime_options opts;
  opts.workers = workers;
  weft::runtime rt(opts);
  std::vector<weft::future<void>> futures;
  futures.reserve(fns.size());
  for (auto& fn : fns) futures.push_back(weft::spawn(rt, [&fn] { run_guarded(fn); }));
  const auto deadline = std::chrono::steady_clock::now() + hang_deadline();
  for (auto& f : futures) {
    auto r = f.get_until(deadline);
    if (r.code() == weft::status::timeout) {
      weft::dump_blocked(rt, std::cerr);
      abort_on_hang("run_concurrently (tasks)");
    }
    EXPECT_TRUE(static_cast<bool>(r)) << "task ended with " << r.code();
  }
}
#endif

}  // namespace detail

/// Runs every callable concurrently in context `ctx` and waits for all of them.
template <class... F>
void run_concurrently(exec ctx, F&&... fns) {
  std::vector<std::function<void()>> list{std::function<void()>(std::forward<F>(fns))...};
  switch (ctx) {
    case exec::threads: detail::run_threads(list); return;
#if defined(WEFT_TEST_WITH_TASKS)
    case exec::tasks_one_worker: detail::run_tasks(list, 1); return;
    case exec::tasks_n_workers: detail::run_tasks(list, 2); return;
#endif
    default: FAIL() << "execution context not compiled in"; return;
  }
}

/// Runs fn(0) .. fn(n-1) concurrently in context `ctx` and waits for all of them.
inline void run_concurrently_n(exec ctx, std::size_t n, const std::function<void(std::size_t)>& fn) {
  std::vector<std::function<void()>> list;
  list.reserve(n);
  for (std::size_t i = 0; i < n; ++i) list.emplace_back([&fn, i] { fn(i); });
  switch (ctx) {
    case exec::threads: detail::run_threads(list); return;
#if defined(WEFT_TEST_WITH_TASKS)
    case exec::tasks_one_worker: detail::run_tasks(list, 1); return;
    case exec::tasks_n_workers: detail::run_tasks(list, 2); return;
#endif
    default: FAIL() << "execution context not compiled in"; return;
  }
}

/// A one-shot barrier made of a channel, so waiting on it parks a task instead of its worker:
/// wait() returns once open() was called (by anyone, any number of times).
class gate {
 public:
  gate() : chan_(weft::make_chan<char>(0)) {}
  void open() { chan_.tx.close(); }
  void wait() { (void)chan_.rx.recv(); }
  bool is_open() const { return chan_.rx.is_closed(); }

 private:
  weft::chan<char> chan_;
};

}  // namespace weft::test
