// weft/leak_check.hpp: fail a test when tasks (or actors) it started outlive it.
//
// A `leak_check` opens a scope: every task spawned while it is open -- from the thread (or task)
// that made it, and transitively from the tasks those spawn -- is tagged with the scope. check()
// waits a bounded time (`grace`) for those tasks to end and returns a report naming, for each one
// still alive, what it is blocked on and where it was spawned (the dump_blocked() line shape).
// Unlike a process-wide check (Go's goleak), scopes do not see each other's tasks, so tests that
// run in parallel on one runtime can each use their own.
//
//   TEST(Orders, PipelineEndsItsTasks) {
//     weft::leak_check lc;                       // the default runtime
//     run_pipeline();                            // spawns tasks
//     auto r = lc.check();                       // waits up to 2 s for them to end
//     EXPECT_FALSE(r) << r.text;                 // "recv object=0x... ("orders") spawned=..."
//   }
//
// Threads vs tasks: a leak_check may be made on an OS thread or in a task (it then tags the
// tasks that task spawns). check() waits with weft::sleep_for, so in a task it parks only the
// task. Tasks started by other threads (an OS thread the test made) are tagged only if that
// thread opened its own scope: the tag follows spawns, not data.
// Actors: an actor's runner tasks are tagged like any task, but an idle actor has no task; the
// actor count (count_actors) is process-wide, so with actors in parallel tests set it to false.
// Waiters: OS threads blocked in weft operations are not counted (the runtime does not see them).
// Cost: a spawn copies its spawner's scope tag (one load, one store); nothing on send/recv.
// Allocation: check() allocates its report.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <weft/detail/source_location.hpp>
#include <weft/runtime.hpp>

namespace weft {

/// What a leak check found.
struct leak_report {
  std::size_t tasks = 0;   ///< tasks of the scope still alive when the grace period ran out
  std::size_t actors = 0;  ///< live actors above the count when the scope opened (process-wide)
  /// Empty when nothing leaked; else a header line and one line per task, e.g.
  /// "weft::leak_check (opened at t.cpp:12): 1 task(s) still alive after 2.000 s\n"
  /// "  recv     object=0x5581 cap=0 size=0 ("orders") spawned=t.cpp:14 waiting=2.001s\n"
  std::string text;
  bool leaked() const noexcept { return tasks != 0 || actors != 0; }
  /// True when something leaked: `EXPECT_FALSE(r) << r.text`.
  explicit operator bool() const noexcept { return leaked(); }
};

struct leak_check_options {
  /// How long check() waits for the scope's tasks (and actors) to end before reporting them.
  std::chrono::nanoseconds grace = std::chrono::seconds(2);
  /// Check every task of the runtime, not only those spawned in the scope (for a test main
  /// that runs tests one at a time).
  bool whole_runtime = false;
  /// Also require the process-wide live actor count to come back to its value at the start.
  bool count_actors = true;
  /// Called by ~leak_check when check() was never called and something leaked. Default (empty):
  /// write the report to stderr and std::abort().
  std::function<void(const leak_report&)> on_leak;
};

class leak_check {
 public:
  /// Opens a scope on `rt`: tasks spawned from here (by this thread or task) are tagged.
  explicit leak_check(runtime& rt, leak_check_options options = {},
                      detail::source_location where = detail::source_location::current());
  /// On the default runtime.
  explicit leak_check(leak_check_options options = {},
                      detail::source_location where = detail::source_location::current());
  leak_check(const leak_check&) = delete;
  leak_check& operator=(const leak_check&) = delete;
  /// Closes the scope. If check() was not called, calls it and hands a leak to options.on_leak.
  /// Must be destroyed on the thread (or in the task) that made it.
  ~leak_check();

  /// Closes the scope (tasks spawned afterwards are not tagged), waits up to `grace` for the
  /// scope's tasks to end, and reports those still alive. May be called again (it re-checks).
  /// Memory ordering: none promised; it is a diagnostic.
  leak_report check();

  /// The scope's tag (nonzero).
  std::uint64_t id() const noexcept { return id_; }

 private:
  void close_scope() noexcept;

  runtime* rt_;
  leak_check_options options_;
  detail::source_location where_;
  std::uint64_t id_;
  std::uint64_t previous_;  // the scope tag this one replaced (restored when it closes)
  std::size_t actors_at_start_;
  bool open_ = true;
  bool checked_ = false;
};

}  // namespace weft
