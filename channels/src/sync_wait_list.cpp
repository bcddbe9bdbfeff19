// The out-of-line half of detail::wait_list: list surgery, waking and parking.
// Invariants and orderings: see <weft/detail/sync_wait_list.hpp> (I1-I3, P1-P2).
#include <weft/detail/sync_wait_list.hpp>

#include <weft/detail/backoff.hpp>

namespace weft::detail {

void wait_list::push_back_locked(sync_waiter& w) noexcept {
  w.prev_ = tail_;
  w.next_ = nullptr;
  if (tail_ != nullptr)
    tail_->next_ = &w;
  else
    head_ = &w;
  tail_ = &w;
  w.linked_ = true;
}

void wait_list::unlink_locked(sync_waiter& w) noexcept {
  if (w.prev_ != nullptr)
    w.prev_->next_ = w.next_;
  else
    head_ = w.next_;
  if (w.next_ != nullptr)
    w.next_->prev_ = w.prev_;
  else
    tail_ = w.prev_;
  w.prev_ = w.next_ = nullptr;
  w.linked_ = false;
}

sync_waiter* wait_list::take_all_locked() noexcept {
  sync_waiter* chain = head_;
  for (sync_waiter* w = chain; w != nullptr; w = w->next_) w->linked_ = false;  // I1
  head_ = tail_ = nullptr;
  return chain;  // still linked through next_, which only wake() reads from here on
}

sync_waiter* wait_list::take_one_locked() noexcept {
  sync_waiter* w = head_;
  if (w != nullptr) {
    unlink_locked(*w);  // leaves w->next_ == nullptr: a chain of one
  }
  return w;
}

void wait_list::wake(sync_waiter* chain) noexcept {
  while (chain != nullptr) {
    // Read the link before `released`: after it the owner may return and free `*chain`.
    sync_waiter* next = chain->next_;
    parker* p = chain->parker_;
    // release: the owner's acquire load must see what we did before waking it (its condition,
    // a stored result); P2. From here the owner neither parks again nor returns (I2).
    chain->signal_.store(sync_waiter::signal::woken, std::memory_order_release);
    p->unpark();
    // release: our unpark() is over; the owner may return, and its task (and runtime) end; P2.
    chain->signal_.store(sync_waiter::signal::released, std::memory_order_release);
    chain = next;
  }
}

bool wait_list::park_until(sync_waiter& w, time_point deadline) noexcept {
  parker& p = *w.parker_;
  for (;;) {
    // acquire: pairs with wake()'s release stores; P2.
    const sync_waiter::signal s = w.signal_.load(std::memory_order_acquire);
    if (s == sync_waiter::signal::released) return true;
    if (s == sync_waiter::signal::woken) {
      wait_released(w);
      return true;
    }
    // park_until may return spuriously (a stale token, an interrupted futex wait): the loop
    // re-checks signal_, and a `false` counts as the deadline only once the clock agrees.
    if (!p.park_until(deadline) && clock::now() >= deadline) {
      // acquire: as above; P2.
      if (w.signal_.load(std::memory_order_acquire) == sync_waiter::signal::waiting) return false;
      wait_released(w);
      return true;
    }
  }
}

void wait_list::wait_released(sync_waiter& w) noexcept {
  // The notifier is between its two stores (a few instructions, unless it was preempted).
  backoff b;
  // acquire: pairs with wake()'s `released` store; P2.
  while (w.signal_.load(std::memory_order_acquire) != sync_waiter::signal::released) b.snooze();
}

}  // namespace weft::detail
