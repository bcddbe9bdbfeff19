// The out-of-line half of detail::wait_list: list surgery, waking and parking.
// Invariants and orderings: see <weft/detail/sync_wait_list.hpp> (I1-I3, P1-P2).
#include <weft/detail/sync_wait_list.hpp>

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
    // Read everything we need before woken_: after it the owner may return and free `*chain`.
    sync_waiter* next = chain->next_;
    parker* p = chain->parker_;
    // release: the owner's acquire load of woken_ must see what we did before waking it (the
    // owner's condition, a stored result); P2.
    chain->woken_.store(true, std::memory_order_release);
    p->unpark();  // type-stable parker: safe even if the owner already returned (I2)
    chain = next;
  }
}

bool wait_list::park_until(sync_waiter& w, time_point deadline) noexcept {
  // acquire (each load below): pairs with wake()'s release store; P2.
  auto woken = [&w] { return w.woken_.load(std::memory_order_acquire); };
  parker& p = *w.parker_;
  for (;;) {
    if (woken()) return true;
    // park_until may return spuriously (a stale token, an interrupted futex wait): the loop
    // re-checks woken_, and a `false` counts as the deadline only once the clock agrees.
    if (!p.park_until(deadline) && clock::now() >= deadline) return woken();
  }
}

}  // namespace weft::detail
