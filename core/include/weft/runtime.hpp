// weft/runtime.hpp: the M:N runtime that runs weft tasks (green threads) on a few OS threads.
//
// A `runtime` owns N worker threads. Each task runs on a fiber (Boost.Context) with its own
// small stack; when it blocks in a weft operation (a channel, a future, a select, sleep_for) its
// fiber is parked and its worker runs another task. `weft::spawn` (<weft/spawn.hpp>) starts a
// task and returns the future of its result. Most programs use the default runtime, made on first
// use with one worker per hardware thread; make your own to choose the options.
//
// Scheduling: each worker has a local run queue, a "run next" slot (a task woken by a task runs
// right after the waker blocks: that is what makes ping-pong fast), timers, and steals half of
// another worker's queue when it runs dry. Idle workers spin briefly, then park. With
// `workers == 1` and a non-zero `seed`, the runtime is deterministic (see runtime_options::seed).
//
// Threads vs tasks: everything here works from plain OS threads too. yield() and sleep_for() on
// a thread yield or sleep the thread; in a task they yield or park only the task's fiber.
// Allocation: none in steady state. Task objects and their stacks are pooled per runtime and
// reused; a spawn makes no system call once the pool is warm.
// Ending: ~runtime() waits for every task (tasks may keep spawning meanwhile). If some stay
// blocked it writes dump_blocked() to stderr after 1 s, and every 10 s after, so a hang is never
// silent. The default runtime is never destroyed: at process exit it does not wait for tasks.
//
//   weft::runtime rt({.workers = 2});
//   auto f = weft::spawn(rt, [] { weft::sleep_for(std::chrono::milliseconds(1)); return 42; });
//   int v = f.get().value();          // 42
//   weft::dump_blocked(std::cerr);    // what the default runtime's tasks are blocked on
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <vector>

namespace weft {

namespace detail {
struct runtime_impl;
}

struct runtime_options {
  /// Worker threads; 0: one per hardware thread (std::thread::hardware_concurrency()).
  std::size_t workers = 0;
  /// Bytes of stack per task, rounded up to whole pages.
  /// 64 KiB trades headroom for address space, not memory: stack pages are committed only when
  /// touched, so an idle task blocked in a channel costs the one page at the top of its stack
  /// (plus its ~0.3 KB task object), whatever this size is. 64 KiB leaves room for ordinary
  /// library calls (iostreams and std::format need 5-20 KiB) and keeps a million tasks at 64 GB
  /// of (never committed) address space. Stacks do not grow: deep recursion or large local arrays
  /// in a task need a bigger value here. Overflow past the stack's end is detected by a canary at
  /// the next switch and aborts with the task's spawn site; `guard_pages` makes it fault at once.
  /// Measured: tests/runtime/idle_rss_test.cpp (1,000,000 idle tasks) and bench/micro.
  std::size_t stack_size = 64 * 1024;
  /// Debugging: a PROT_NONE guard page below every stack. Costs two kernel mappings per stack
  /// (vm.max_map_count = 65,530 then caps the runtime near 32K tasks).
  bool guard_pages = false;
  /// Deterministic mode, with `workers == 1` (ignored otherwise): every time the worker picks the
  /// next task (after a park, a yield or a spawn) it picks uniformly at random among all runnable
  /// tasks, from a generator seeded with `seed`. The same program with the same seed then runs
  /// the same interleaving, as long as its tasks interact only with each other (not with outside
  /// threads or the clock); a different seed explores a different one. For tests that hunt
  /// ordering bugs. 0: off (normal FIFO / run-next scheduling).
  std::uint64_t seed = 0;
};

class runtime {
 public:
  explicit runtime(runtime_options options = {});
  /// Waits for every task of this runtime (see the file comment). Must not be called from one of
  /// its own tasks (that would wait for itself; it aborts with a message instead).
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The number of worker threads.
  std::size_t workers() const noexcept;
  const runtime_options& options() const noexcept;

  detail::runtime_impl& impl() noexcept { return *impl_; }

 private:
  detail::runtime_impl* impl_;
};

/// The default runtime (created on first use, never destroyed).
runtime& default_runtime();

/// Per-worker counters (a snapshot; each read is individually consistent, not all together).
struct worker_stats {
  std::size_t run_queue_depth = 0;  ///< tasks in the local queue and run-next slot
  std::uint64_t tasks_run = 0;      ///< switches into a task
  std::uint64_t steals = 0;         ///< successful steals from other workers
  std::uint64_t parks = 0;          ///< times the worker went to sleep for lack of work
};

struct runtime_stats {
  std::size_t tasks_live = 0;     ///< spawned and not yet finished
  std::size_t tasks_blocked = 0;  ///< parked in a weft operation (sleep included)
  std::size_t actors_live = 0;    ///< process-wide
  std::size_t global_queue_depth = 0;
  std::vector<worker_stats> workers;
};

/// A snapshot of the default runtime (stats(rt) for another). Takes the runtime's pool lock and
/// walks every task object: for monitoring, not for hot paths.
runtime_stats stats();
runtime_stats stats(runtime& rt);

/// Writes one line per task blocked for longer than `older_than`: the operation (recv, send,
/// select, sleep, ...), the object, the spawn site as file:line, and how long it has waited
/// (millisecond resolution), oldest first.
void dump_blocked(std::ostream& os, std::chrono::nanoseconds older_than = {});
void dump_blocked(runtime& rt, std::ostream& os, std::chrono::nanoseconds older_than = {});

namespace detail {
void sleep_until(std::chrono::steady_clock::time_point deadline) noexcept;
/// The default runtime if something made it already, else nullptr (observers do not make it).
runtime* default_runtime_if_made() noexcept;
}

/// In a task: lets the other runnable tasks of its worker run first, then continues.
/// On a thread: std::this_thread::yield().
void yield() noexcept;

/// In a task: parks the task's fiber for at least `d` (its worker runs other tasks meanwhile);
/// on a thread: parks the thread. Both wake within a few microseconds of the deadline (the
/// worker's timer and the thread parker finish with a short spin). d <= 0 returns at once.
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return;
  detail::sleep_until(std::chrono::steady_clock::now() +
                      std::chrono::ceil<std::chrono::steady_clock::duration>(d));
}

/// Like sleep_for, to an absolute deadline on the steady clock.
inline void sleep_until(std::chrono::steady_clock::time_point deadline) noexcept {
  detail::sleep_until(deadline);
}

}  // namespace weft
