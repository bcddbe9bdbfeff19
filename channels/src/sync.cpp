// The out-of-line parts of wait_group and group: slow paths, misuse errors, slot handling.
// Invariants and orderings: see <weft/sync.hpp> (wait_group W1-W3, P1; group G1-G3, P1-P2).
#include <weft/sync.hpp>

#include <string>

#include <weft/detail/blocking_info.hpp>

namespace weft {

namespace {
/// Notes what the calling task waits on (dump_blocked) for one wait, unless an enclosing call
/// already did (group::wait -> wait_group's wait keeps the label "group.wait").
class outer_note {
 public:
  outer_note(const char* op, const void* object) noexcept : mine_(detail::noted_blocking() == nullptr) {
    if (mine_) detail::note_blocking(op, object);
  }
  ~outer_note() {
    if (mine_) detail::note_unblocked();
  }
  outer_note(const outer_note&) = delete;
  outer_note& operator=(const outer_note&) = delete;

 private:
  const bool mine_;
};
}  // namespace

// ---- wait_group ----------------------------------------------------------------------------

void wait_group::add_positive(std::uint64_t n, detail::source_location where) {
  // relaxed: only the starting guess for the CAS below.
  std::uint64_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (counter_of(w) + n > max_count) [[unlikely]]
      detail::throw_error(status::failed, "wait_group::add(n): the counter would exceed INT32_MAX", where);
    // relaxed: a raise publishes nothing (the done()s of the round do, P1); an RMW keeps the
    // release sequence of earlier decrements intact whatever its order.
    if (word_.compare_exchange_weak(w, w + n * one_count, std::memory_order_relaxed,
                                    std::memory_order_relaxed))
      return;
  }
}

bool wait_group::release_waiters(std::uint64_t k) noexcept {
  return list_.notify_all_if([this, k]() noexcept {
    // relaxed: a guess; the CAS below decides. Under the lock the waiter count is stable (W1),
    // but the counter may still move through lock-free add()/done().
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (counter_of(w) != k || waiters_of(w) == 0) return false;  // changed: retry lock-free
      // acq_rel: as in remove() (P1); the whole word goes to zero: every counted waiter is
      // linked (W1) and leaves the list in this critical section (W2).
      if (word_.compare_exchange_weak(w, 0, std::memory_order_acq_rel, std::memory_order_relaxed))
        return true;
    }
  });
}

bool wait_group::wait_slow(std::chrono::steady_clock::time_point t) {
  outer_note note("wait_group.wait", this);
  const bool zero = list_.wait_until(
      [this]() noexcept {
        // acquire (load and CAS failure): reading zero synchronises with the round's done()s; P1.
        std::uint64_t w = word_.load(std::memory_order_acquire);
        for (;;) {
          if (counter_of(w) == 0) return true;  // no need to wait
          if (waiters_of(w) == waiter_mask) return true;  // cannot count more: never happens
          // acq_rel: count this waiter (W1); acquire on failure as above.
          if (word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire))
            return false;
        }
      },
      [this]() noexcept {
        // relaxed: un-count this timed-out waiter (W1); it publishes nothing. Subtracting 1
        // cannot borrow from the counter: this waiter is counted.
        word_.fetch_sub(1, std::memory_order_relaxed);
      },
      t);
  return zero;
}

void wait_group::throw_negative(const char* op, detail::source_location where) {
  std::string what = op;
  what += ": the counter would become negative (more done() than add())";
  detail::throw_error(status::failed, what.c_str(), where);
}

// ---- group ---------------------------------------------------------------------------------

group::group(const context& parent) : group(with_cancel(parent)) {}

group::group(std::pair<context, cancel_fn> c) : ctx_(std::move(c.first)), cancel_(std::move(c.second)) {}

group::~group() {
  // relaxed: wait() ran on this thread, or the caller synchronised with it before destroying.
  if (!waited_.load(std::memory_order_relaxed)) wg_.wait();
  cancel_();
}

void group::set_limit(std::size_t n, detail::source_location where) {
  if (n == 0) detail::throw_error(status::failed, "group::set_limit(0): the limit must be >= 1", where);
  // relaxed: a spawner that read the old limit re-checks under slots_'s lock before parking,
  // and notify_all() below takes that lock after this store (the lock orders them; P2).
  limit_.store(n, std::memory_order_relaxed);
  slots_.notify_all();  // a raise may let several waiting spawners through; they re-check
}

void group::check_not_waited(const char* op, detail::source_location where) const {
  // acquire: pairs with wait()'s release store (usually the same thread anyway).
  if (waited_.load(std::memory_order_acquire)) [[unlikely]]
    detail::throw_error(status::closed, op, where);
}

bool group::try_acquire_slot() noexcept {
  // relaxed: a slot publishes no data (tasks publish through wg_); a spawner that must wait
  // re-checks under slots_'s lock, which orders it against release_slot()/set_limit(); P2.
  std::size_t a = active_.load(std::memory_order_relaxed);
  for (;;) {
    // relaxed: as above.
    if (a >= limit_.load(std::memory_order_relaxed)) return false;
    // relaxed: as above; the CAS alone makes the slot count exact.
    if (active_.compare_exchange_weak(a, a + 1, std::memory_order_relaxed, std::memory_order_relaxed))
      return true;
  }
}

void group::acquire_slot() {
  if (try_acquire_slot()) return;
  outer_note note("group.spawn(limit)", this);
  for (;;) {
    bool got = false;
    // Re-check under slots_'s lock (P2): a release_slot() or set_limit() we missed above either
    // happened before this critical section (the re-check sees it) or notifies after it.
    (void)slots_.wait_until([this, &got]() noexcept { return got = try_acquire_slot(); },
                            []() noexcept {}, detail::no_deadline);
    // Woken by a release: take the slot (another spawner or try_spawn may have been first).
    if (got || try_acquire_slot()) return;
  }
}

void group::release_slot() noexcept {
  // relaxed: happens before notify_one()'s lock section, which a waiting spawner's re-check
  // follows or precedes (then it is in the list and gets woken); P2.
  active_.fetch_sub(1, std::memory_order_relaxed);
  slots_.notify_one();
}

void group::finish(result<void>&& r) noexcept {
  if (!r) {
    // relaxed: the exchange only elects the first failure; first_ reaches wait() through wg_
    // (done() -> wait(), P1), not through this flag. Atomicity alone makes one winner.
    if (!has_failure_.exchange(true, std::memory_order_relaxed)) {
      first_ = std::move(r);
      cancel_();  // siblings observe ctx().done() / ctx().err() == cancelled
    }
  }
  release_slot();
  wg_.done();  // the last touch of *this (G1)
}

result<void> group::wait() {
  {
    outer_note note("group.wait", this);
    wg_.wait();
  }
  // release: a spawn() on another thread that sees it must not start tasks (it throws).
  waited_.store(true, std::memory_order_release);
  cancel_();
  return first_;
}

}  // namespace weft
