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
