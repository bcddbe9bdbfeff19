// A worker's timers: a binary min-heap of (deadline, task, park sequence) entries, owned by one
// worker thread (no synchronisation). A task that parks with a deadline gets an entry on the
// worker where it parked; the worker's scheduler loop pops the due entries and wakes their tasks,
// and a worker with nothing to run parks with a timeout = the earliest deadline.
//
// Entries are never removed early: a task woken before its deadline leaves a stale entry that is
// recognised when it comes due (its sequence no longer matches the task's current park) and
// dropped; and when the heap has doubled since the last clean-up the worker drops every stale
// entry at once (remove_if), so a task that parks with a long deadline and is always woken early
// (recv_for(30s) in a busy loop) cannot grow the heap without bound. The task objects are type-stable (pooled for the runtime's lifetime), so reading a
// stale entry's task is safe.
//
// Why per worker, and not stealable (issue 3 asked; decided against for now):
//   - A parked (idle) worker's timers do fire: park_idle sleeps on the worker's futex with a
//     timeout at its earliest deadline (final spin under 100 us), so no due timer waits for
//     someone else's work. Only a worker that is *busy* delays its timers, and only until its
//     running task switches out: the loop runs due timers before every pick, and the direct
//     hand-off between tasks (scheduler.cpp D3) yields to the loop at least every runnext_cap
//     switches. A task that computes without switching delays its worker's timers exactly as it
//     delays that worker's run-next task (which other workers do steal, but only after a while).
//   - Stealing timers needs the heap to be shared: a lock (or a lock-free heap) on every
//     timed park and every loop pass of the owner, for the rare case of a long-running task on
//     a worker whose timers are due. Go pays this (timers per P with a lock, stolen by idle Ps);
//     weft keeps the owner's path lock-free and leaves this to a later change if a workload
//     shows the delay (W10's receive-with-timeout parks the only task of its worker, which
//     then sleeps until the deadline: the case that matters is covered).
//
// Invariants:
//   I1  heap_ is a min-heap on deadline_ (std::push_heap/pop_heap with `later`).
// Protocol: the owning worker thread only.
// Orderings: none (single-threaded); see scheduler.cpp for how a due entry wakes its task.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <weft/detail/parker.hpp>

namespace weft::detail {

template <class Task>
class timer_heap {
 public:
  struct entry {
    time_point deadline_;
    Task* task_;
    std::uint64_t seq_;  // the task's park sequence number when the entry was made
  };

  bool is_empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  /// Precondition: !is_empty().
  time_point earliest() const noexcept { return heap_.front().deadline_; }

  /// May allocate while the heap grows to its high-water mark; never after.
  void push(time_point deadline, Task* t, std::uint64_t seq) {
    heap_.push_back(entry{deadline, t, seq});
    std::push_heap(heap_.begin(), heap_.end(), later{});
  }
  /// Drops every entry for which `is_stale(entry)` is true and restores I1. O(size).
  template <class Pred>
  void remove_if(Pred is_stale) {
    std::erase_if(heap_, is_stale);
    std::make_heap(heap_.begin(), heap_.end(), later{});
  }
  /// Precondition: !is_empty().
  entry pop() noexcept {
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    entry e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  struct later {
    bool operator()(const entry& a, const entry& b) const noexcept { return a.deadline_ > b.deadline_; }
  };
  std::vector<entry> heap_;
};

}  // namespace weft::detail
