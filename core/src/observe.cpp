// leak_check and watchdog (<weft/leak_check.hpp>, <weft/watchdog.hpp>): both look at a
// runtime's task registry (scheduler.hpp: every task object ever made, type-stable, I1) under
// its pool lock and format dump_blocked()-style lines.
//
// Reading a task's fields while it runs is a diagnostic snapshot: every field read here is an
// atomic written with relaxed stores (scheduler.hpp, "Observability"), so a line may mix two
// moments of one task, never garbage. The deadlock check needs more than one snapshot, see
// find_deadlock().
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <weft/detail/blocking_info.hpp>
#include <weft/leak_check.hpp>
#include <weft/watchdog.hpp>

#include "scheduler.hpp"
#include "task_snapshot.hpp"

namespace weft {

namespace detail {
namespace {

/// Every task of rt that is not free and for which keep(task, state) holds; `pc` converts park
/// times (a caller that also filters on them passes the clock it filtered with).
template <class Keep>
std::vector<task_snapshot> snapshot_tasks(runtime_impl* rt, Keep&& keep, const park_clock& pc = park_clock()) {
  std::vector<task_snapshot> out;
  std::lock_guard lk(rt->pool_mu_);
  for (const task& t : rt->tasks_) {
    // relaxed: a snapshot; a task may change state as we read.
    const task_state st = t.state_.load(std::memory_order_relaxed);
    if (st == task_state::free || !keep(t, st)) continue;
    out.push_back(snapshot_of(t, st, pc));
  }
  return out;
}

/// "  recv     object=0x... cap=16 size=16 ("orders") spawned=f.cpp:12 waiting=1.250s\n"
void append_line(std::string& out, const task_snapshot& s, std::int64_t now_ns) {
  char object[96];
  if (s.state != task_state::parked)
    std::snprintf(object, sizeof object, "-");
  else
    format_blocked_object(object, sizeof object, s);
  const bool named = s.state == task_state::parked && s.object != nullptr && s.name != nullptr;
  const char* op = s.state == task_state::running    ? "running"
                   : s.state == task_state::runnable ? "runnable"
                   : s.op != nullptr                 ? s.op
                                                     : "park";
  const std::int64_t waited =
      s.state == task_state::parked && s.since_ns != 0 ? std::max<std::int64_t>(0, now_ns - s.since_ns) : 0;
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-8s object=%s%s%s%s spawned=%s:%u waiting=%.3fs%s\n", op, object,
                named ? " (\"" : "", named ? s.name : "", named ? "\")" : "", s.file != nullptr ? s.file : "?",
                s.line, static_cast<double>(waited) / 1e9,
                s.state == task_state::parked && s.timed ? " (timed)" : "");
  out += buf;
}

void append_lines(std::string& out, std::vector<task_snapshot>& tasks) {
  // Oldest wait first, like dump_blocked(); tasks that are not parked last.
  std::sort(tasks.begin(), tasks.end(), [](const task_snapshot& a, const task_snapshot& b) {
    const bool pa = a.state == task_state::parked, pb = b.state == task_state::parked;
    if (pa != pb) return pa;
    return a.since_ns < b.since_ns;
  });
  const std::int64_t now = park_clock().now_ns();
  for (const task_snapshot& s : tasks) append_line(out, s, now);
}

/// Switches into any task of rt so far (a progress clock: a wake-up always leads to one).
std::uint64_t tasks_run(runtime_impl* rt) noexcept {
  std::uint64_t n = 0;
  // relaxed: statistics with one writer each; see find_deadlock() for why a sum suffices.
  for (worker* w : rt->workers_) n += w->tasks_run_.load(std::memory_order_relaxed);
  return n;
}

std::atomic<std::uint64_t> g_next_scope{1};

std::uint64_t current_scope() noexcept {
  task* t = current_task_tls;
  // relaxed: only the task itself writes its scope after it started.
  return t != nullptr ? t->scope_.load(std::memory_order_relaxed) : leak_scope_tls;
}

void set_current_scope(std::uint64_t id) noexcept {
  task* t = current_task_tls;
  if (t != nullptr)
    t->scope_.store(id, std::memory_order_relaxed);  // relaxed: as in current_scope()
  else
    leak_scope_tls = id;
}

/// "All asleep": every non-free task parked with no timer pending (and at least one).
struct asleep_look {
  bool asleep = false;
  std::uint64_t ran = 0;  // tasks_run() before the walk
  std::vector<task_snapshot> tasks;
};

asleep_look look_asleep(runtime_impl* rt) {
  asleep_look l;
  l.ran = tasks_run(rt);
  bool all = true;
  l.tasks = snapshot_tasks(rt, [&](const task& t, task_state st) {
    // relaxed: as in snapshot_of.
    if (st != task_state::parked || t.timed_park_.load(std::memory_order_relaxed)) all = false;
    return true;
  });
  l.asleep = all && !l.tasks.empty();
  return l;
}

watchdog_report deadlock_report(asleep_look& l) {
  watchdog_report r;
  r.what = watchdog_report::kind::all_asleep;
  r.tasks = l.tasks.size();
  char head[400];
  std::snprintf(head, sizeof head,
                "weft: all tasks are asleep - deadlock! %zu task(s) parked in weft operations, no timer "
                "pending, none ran for the whole check (unless an outside thread still holds a channel end "
                "or other handle that will wake one):\n",
                l.tasks.size());
  r.text = head;
  append_lines(r.text, l.tasks);
  return r;
}

}  // namespace
}  // namespace detail

// ---- leak_check ------------------------------------------------------------------------------

leak_check::leak_check(runtime& rt, leak_check_options options, detail::source_location where)
    : rt_(&rt),
      options_(std::move(options)),
      where_(where),
      // relaxed: a unique number; nothing is published through it.
      id_(detail::g_next_scope.fetch_add(1, std::memory_order_relaxed)),
      previous_(detail::current_scope()),
      actors_at_start_(detail::actors_live()) {
  detail::set_current_scope(id_);
}

leak_check::leak_check(leak_check_options options, detail::source_location where)
    : leak_check(default_runtime(), std::move(options), where) {}

leak_check::~leak_check() {
  if (!checked_) {
    leak_report r = check();
    if (r.leaked()) {
      if (options_.on_leak) {
        options_.on_leak(r);
      } else {
        std::fputs(r.text.c_str(), stderr);
        std::fflush(stderr);
        std::abort();
      }
    }
  }
  close_scope();
}

void leak_check::close_scope() noexcept {
  if (!open_) return;
  open_ = false;
  detail::set_current_scope(previous_);
}

leak_report leak_check::check() {
  close_scope();
  checked_ = true;
  detail::runtime_impl* rt = &rt_->impl();
  const detail::task* self = detail::current_task_tls;
  const std::uint64_t id = id_;
  const bool whole = options_.whole_runtime;
  auto mine = [self, id, whole](const detail::task& t, detail::task_state) {
    // relaxed: a snapshot of the tag copied at spawn.
    return &t != self && (whole || t.scope_.load(std::memory_order_relaxed) == id);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto give_up = start + options_.grace;
  auto pause = std::chrono::microseconds(50);
  std::vector<detail::task_snapshot> alive;
  std::size_t actors = 0;
  for (;;) {
    alive = detail::snapshot_tasks(rt, mine);
    const std::size_t now_actors = detail::actors_live();
    actors = options_.count_actors && now_actors > actors_at_start_ ? now_actors - actors_at_start_ : 0;
    if ((alive.empty() && actors == 0) || std::chrono::steady_clock::now() >= give_up) break;
    weft::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
  }
  leak_report r;
  r.tasks = alive.size();
  r.actors = actors;
  if (!r.leaked()) return r;
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char head[512];
  std::snprintf(head, sizeof head, "weft::leak_check (opened at %s:%u): %zu task(s) and %zu actor(s) still alive after %.3f s\n",
                where_.file_name(), static_cast<unsigned>(where_.line()), r.tasks, r.actors, waited);
  r.text = head;
  detail::append_lines(r.text, alive);
  if (actors != 0) {
    std::snprintf(head, sizeof head, "  actors: %zu live now, %zu when the check opened (process-wide)\n",
                  detail::actors_live(), actors_at_start_);
    r.text += head;
  }
  return r;
}

// ---- deadlock check ----------------------------------------------------------------------------

std::optional<watchdog_report> find_deadlock(runtime& rt, std::chrono::nanoseconds settle) {
  detail::runtime_impl* r = &rt.impl();
  // Two looks `settle` apart, each "every task parked, none timed", with no switch into any
  // task in between (the tasks_run sum unchanged from before the first walk to before the
  // second): a task woken between the looks would have run (or be runnable at the second look).
  // A parked task with no timer can be woken only by an unpark from another task (which would
  // have had to run) or from outside the runtime (the documented blind spot).
  detail::asleep_look a = detail::look_asleep(r);
  if (!a.asleep) return std::nullopt;
  std::this_thread::sleep_for(settle);
  detail::asleep_look b = detail::look_asleep(r);
  if (!b.asleep || b.ran != a.ran || b.tasks.size() != a.tasks.size()) return std::nullopt;
  return detail::deadlock_report(b);
}

// ---- watchdog ----------------------------------------------------------------------------------

struct watchdog::state {
  runtime* rt;
  watchdog_options opts;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;

  // Watchdog thread only:
  // (task, since) episodes, keyed on the raw park-clock reading: a converted time moves by a few
  // ns between looks (each park_clock measures the rate afresh) and would be reported again.
  std::set<std::pair<const detail::task*, std::uint64_t>> reported;
  bool was_asleep = false;
  std::uint64_t asleep_ran = 0;        // tasks_run at the previous "asleep" look
  bool deadlock_reported = false;      // for the current asleep episode

  void emit(const watchdog_report& r) {
    if (opts.on_report) {
      opts.on_report(r);
    } else {
      std::fputs(r.text.c_str(), stderr);
      std::fflush(stderr);
    }
  }

  void look_blocked() {
    const detail::park_clock pc;
    const std::int64_t now = pc.now_ns();
    const std::int64_t threshold = opts.blocked_threshold.count();
    std::vector<detail::task_snapshot> old = detail::snapshot_tasks(&rt->impl(), [&](const detail::task& t, detail::task_state st) {
      if (st != detail::task_state::parked) return false;
      const std::int64_t since = pc.ns(detail::since_ticks_of(t));
      return since != 0 && now - since >= threshold;
    }, pc);
    std::set<std::pair<const detail::task*, std::uint64_t>> current;
    std::vector<detail::task_snapshot> fresh;
    for (const detail::task_snapshot& s : old) {
      current.emplace(s.t, s.since_ticks);
      if (reported.count({s.t, s.since_ticks}) == 0) fresh.push_back(s);
    }
    reported = std::move(current);
    if (fresh.empty()) return;
    watchdog_report r;
    r.what = watchdog_report::kind::blocked_too_long;
    r.tasks = fresh.size();
    char head[160];
    std::snprintf(head, sizeof head, "weft: watchdog: %zu task(s) blocked for more than %.3f s:\n", fresh.size(),
                  static_cast<double>(threshold) / 1e9);
    r.text = head;
    detail::append_lines(r.text, fresh);
    emit(r);
  }

  void look_asleep() {
    detail::asleep_look l = detail::look_asleep(&rt->impl());
    if (!l.asleep) {
      was_asleep = false;
      deadlock_reported = false;
      return;
    }
    // Asleep at two consecutive looks with nothing run in between: see find_deadlock().
    if (was_asleep && l.ran == asleep_ran && !deadlock_reported) {
      emit(detail::deadlock_report(l));
      deadlock_reported = true;
    } else if (l.ran != asleep_ran) {
      deadlock_reported = false;
    }
    was_asleep = true;
    asleep_ran = l.ran;
  }

  void run() {
    std::unique_lock lk(mu);
    for (;;) {
      if (cv.wait_for(lk, opts.interval, [this] { return stop; })) return;
      lk.unlock();
      if (opts.blocked_threshold.count() > 0) look_blocked();
      if (opts.detect_deadlock) look_asleep();
      lk.lock();
    }
  }
};

watchdog::watchdog(runtime& rt, watchdog_options options) : s_(std::make_unique<state>()) {
  s_->rt = &rt;
  s_->opts = std::move(options);
  if (s_->opts.interval <= std::chrono::nanoseconds::zero()) s_->opts.interval = std::chrono::milliseconds(1);
  s_->thread = std::thread([s = s_.get()] { s->run(); });
}

watchdog::watchdog(watchdog_options options) : watchdog(default_runtime(), std::move(options)) {}

watchdog::~watchdog() {
  {
    std::lock_guard lk(s_->mu);
    s_->stop = true;
  }
  s_->cv.notify_all();
  s_->thread.join();
}

}  // namespace weft
