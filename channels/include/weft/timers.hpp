// weft/timers.hpp: after() and tick(): channels whose values come from the clock.
//
// after(d) delivers one value (the time it was received, >= start + d) and then stays silent
// forever; tick(d) delivers a value every d, the first at d, with at most one queued (a slow
// receiver skips ticks, it never sees a burst). Neither ever closes. Both are channel flavors
// computed from the clock on demand: no timer thread, no timer objects; a receiver blocked on
// one sleeps until its due time (futex timeout with 1 ns slack plus a short final spin on
// threads, the worker's timer on tasks). Use them in select:
//
//   auto heartbeat = weft::tick(1s);
//   for (;;) weft::select(weft::on_recv(orders, handle), weft::on_recv(heartbeat, send_heartbeat));
//
// Copies of the receiver share the one stream of values. Each call allocates one small state.
// Memory ordering: none beyond the clock (the values carry no data from another thread).
#pragma once

#include <atomic>
#include <chrono>

#include <weft/chan.hpp>

namespace weft {

namespace detail {

class after_chan final : public special_chan<time_point> {
 public:
  explicit after_chan(time_point at) noexcept : at_(at) {}
  result<time_point> try_recv() override {
    // relaxed pre-check: fired_ publishes nothing but itself.
    if (fired_.load(std::memory_order_relaxed)) return status::empty;
    const time_point now = clock::now();
    if (now < at_) return status::empty;
    // relaxed: only one receiver may win the single value; no data is attached to it.
    if (fired_.exchange(true, std::memory_order_relaxed)) return status::empty;
    return now;
  }
  bool is_ready() noexcept override {
    // relaxed: see try_recv.
    return !fired_.load(std::memory_order_relaxed) && clock::now() >= at_;
  }
  time_point ready_at() noexcept override {
    // relaxed: see try_recv.
    return fired_.load(std::memory_order_relaxed) ? no_deadline : at_;
  }
  std::size_t size() const noexcept override {
    // relaxed: see try_recv.
    return !fired_.load(std::memory_order_relaxed) && clock::now() >= at_ ? 1 : 0;
  }
  std::size_t capacity() const noexcept override { return 1; }

 private:
  const time_point at_;
  std::atomic<bool> fired_{false};
};

class tick_chan final : public special_chan<time_point> {
 public:
  tick_chan(time_point first, clock::duration period) noexcept
      : period_(period > clock::duration::zero() ? period : clock::duration(1)), next_(first.time_since_epoch().count()) {}
  result<time_point> try_recv() override {
    // relaxed: the due time is the only thing shared; the CAS decides which receiver takes it.
    auto next = next_.load(std::memory_order_relaxed);
    for (;;) {
      const time_point due{clock::duration(next)};
      const time_point now = clock::now();
      if (now < due) return status::empty;
      // At most one tick queued: the next one is the first period boundary after now.
      const auto behind = (now - due) / period_;
      const auto following = due + period_ * (behind + 1);
      // relaxed: as above.
      if (next_.compare_exchange_weak(next, following.time_since_epoch().count(), std::memory_order_relaxed))
        return now;
    }
  }
  bool is_ready() noexcept override { return clock::now() >= ready_at(); }
  time_point ready_at() noexcept override {
    // relaxed: see try_recv.
    return time_point{clock::duration(next_.load(std::memory_order_relaxed))};
  }
  std::size_t size() const noexcept override {
    // relaxed: see try_recv.
    return clock::now() >= time_point{clock::duration(next_.load(std::memory_order_relaxed))} ? 1 : 0;
  }
  std::size_t capacity() const noexcept override { return 1; }

 private:
  const clock::duration period_;
  std::atomic<clock::rep> next_;
};

/// Out of line on purpose: the allocation stays invisible to the caller's inliner, which would
/// otherwise "see" a special_chan through the handles' flavor switch and warn about the other
/// (dead) branches (gcc 12 -Warray-bounds false positive).
receiver<time_point> make_after(time_point at);
receiver<time_point> make_tick(time_point first, clock::duration period);

}  // namespace detail

/// One value at >= d from now, then silent (never closes). A negative d means now.
template <class Rep, class Period>
receiver<std::chrono::steady_clock::time_point> after(std::chrono::duration<Rep, Period> d) {
  return detail::make_after(detail::deadline_after(d));
}

/// A value every d, the first at d; at most one queued; never closes. d <= 0 ticks continuously.
template <class Rep, class Period>
receiver<std::chrono::steady_clock::time_point> tick(std::chrono::duration<Rep, Period> d) {
  const auto period = std::chrono::duration_cast<detail::clock::duration>(d);
  return detail::make_tick(detail::deadline_after(d), period);
}

}  // namespace weft
