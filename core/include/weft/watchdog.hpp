// weft/watchdog.hpp: an opt-in stuck detector for one runtime.
//
// A `watchdog` runs one OS thread that looks at its runtime every `interval` and reports
//   - tasks blocked longer than `blocked_threshold` (each blocking episode once), and
//   - "all tasks are asleep - deadlock!" (Go's message) when every live task of the runtime is
//     parked in a weft operation with no deadline (no timer pending) and nothing ran for a whole
//     `interval`: then no task and no timer of this runtime can ever wake one of them.
// find_deadlock(rt) runs the second check once, synchronously.
//
// What it can and cannot tell. The runtime sees its own tasks only. "All asleep" is certain
// when nothing outside the runtime holds a way to wake them; it is a false alarm when
//   - an OS thread (or a task of another runtime) still holds a sender/receiver, a promise, a
//     wait_group, a cancel_fn, ... and will use it later (the runtime cannot see who holds a
//     handle);
//   - an actor will get a message from outside (an idle actor has no task to look at);
//   - a task is blocked in a non-weft call (a mutex, a socket read): it shows as running, so the
//     check never fires while it lasts (no false alarm, but no report either).
// A task parked with a deadline (sleep_for, recv_for, select with on_timeout, a context with a
// deadline, after/tick) always counts as "timer pending": such a runtime is never reported as
// deadlocked, even if the deadline is far away. Tasks blocked for long are still reported.
//
//   weft::watchdog wd(rt, {.blocked_threshold = std::chrono::seconds(5)});   // reports to stderr
//   // or collect the reports:
//   weft::watchdog wd2(rt, {.interval = std::chrono::milliseconds(50),
//                           .on_report = [](const weft::watchdog_report& r) { log(r.text); }});
//
// Cost: nothing on any weft operation; each look walks the runtime's task registry under its
// pool lock (about 1 ms per 100k tasks), so keep `interval` at 100 ms or more in production.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <weft/runtime.hpp>

namespace weft {

struct watchdog_report {
  enum class kind {
    blocked_too_long,  ///< tasks blocked longer than blocked_threshold (newly past it)
    all_asleep,        ///< every task parked with no timer pending: a deadlock (see above)
  };
  kind what = kind::blocked_too_long;
  std::size_t tasks = 0;  ///< tasks listed in text
  /// A header line, then one dump_blocked()-style line per task, e.g.
  /// "weft: all tasks are asleep - deadlock! 2 task(s) parked, no timer pending\n"
  /// "  recv     object=0x... cap=0 size=0 ("ping") spawned=t.cpp:12 waiting=0.104s\n"
  std::string text;
};

struct watchdog_options {
  /// Report tasks blocked longer than this (0: do not report long blocks).
  std::chrono::nanoseconds blocked_threshold = std::chrono::seconds(10);
  /// How often the watchdog looks; also how long nothing must run before "all asleep".
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  /// Report "all tasks are asleep" deadlocks.
  bool detect_deadlock = true;
  /// Called on the watchdog's thread for each report. Default (empty): write text to stderr.
  std::function<void(const watchdog_report&)> on_report;
};

class watchdog {
 public:
  /// Starts watching `rt` (which must outlive the watchdog).
  explicit watchdog(runtime& rt, watchdog_options options = {});
  /// Watches the default runtime.
  explicit watchdog(watchdog_options options = {});
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  /// Stops the thread (waits for a report in progress to return).
  ~watchdog();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

/// One synchronous "all tasks are asleep" check of rt: looks, waits `settle`, looks again.
/// Returns the report (kind all_asleep) if every live task stayed parked with no timer pending
/// and nothing ran in between; nullopt otherwise (including when rt has no live task).
std::optional<watchdog_report> find_deadlock(runtime& rt,
                                             std::chrono::nanoseconds settle = std::chrono::milliseconds(20));

}  // namespace weft
