// Relacy models of the waiter state machine (core/include/weft/detail/waiter.hpp) and of the
// select winner CAS as the select engine uses it (channels/src/select.cpp: run_select, step 3, with
// the cases of channels/include/weft/select.hpp over bounded rings), instantiated with rl_atomics.
#include "model_support.hpp"

namespace weft::models {
namespace {

using weft::status;
using weft::detail::basic_waiter;
using weft::detail::basic_waiter_queue;
using weft::detail::basic_waker_entry;
using weft::detail::basic_waker_list;
using weft::detail::bounded_chan;
using weft::detail::policy_guard;

/// Some finite deadline: model_parker turns it into "may time out at any step".
const time_point some_deadline = time_point(std::chrono::nanoseconds(1));

// ---- one waiter, three ways to end its wait (waiter I1, I2, P3) ---------------------------------
// The owner waits (deadline: it may abort) on case 0, registered in a rendezvous-style queue
// (flavor_rendezvous.hpp: the waker selects under the queue's lock, writes the hand-off packet
// OUTSIDE the lock, then wake()s), and on case 1, registered in a waker_list that a closer
// disconnects. Exactly one of {selected(0), disconnected, aborted} ends the wait; the packet
// written after the winning CAS is visible to the owner (the released_ handshake, P3); the waker
// never touches the waiter after wake() (the owner's frame ends right after). `TaskLike`: the
// owner's parker stands for a task's (unparked, then released); `FlagWait`: a thread owner
// waits on released_ (waiter P4) instead of its parker's token.
template <class P, bool TaskLike = false, bool FlagWait = false>
struct waiter_three_way : rl::test_suite<waiter_three_way<P, TaskLike, FlagWait>, 3> {
  typename P::parker pk{TaskLike};
  typename P::lock q0_lock;
  basic_waiter_queue<P> q0;
  basic_waker_list<P> l1;
  rl::var<int> packet;
  std::uintptr_t final_state = 0;
  bool handed_off = false;

  void after() {
    using W = basic_waiter<P>;
    RL_ASSERT(final_state == W::selected(0) || final_state == W::disconnected || final_state == W::aborted);
    RL_ASSERT(handed_off == (final_state == W::selected(0)));  // I1: the one CAS decided it
  }
  void thread(unsigned index) {
    using W = basic_waiter<P>;
    if (index == 0) {
      W w(pk, FlagWait);
      basic_waker_entry<P> e0{&w, 0}, e1{&w, 1};
      {
        policy_guard<typename P::lock> g(q0_lock);
        q0.push(e0);
      }
      l1.register_entry(e1);
      final_state = w.wait_until(some_deadline);
      {
        policy_guard<typename P::lock> g(q0_lock);
        q0.remove(e0);
      }
      l1.unregister_entry(e1);
      if (final_state == W::selected(0)) RL_ASSERT(packet($).load() == 42);  // P3
    } else if (index == 1) {
      basic_waker_entry<P>* e;
      {
        policy_guard<typename P::lock> g(q0_lock);
        e = q0.select_one(nullptr);
      }
      if (e != nullptr) {
        handed_off = true;
        packet($).store(42);  // the hand-off, after the winning CAS, outside the lock
        e->w->wake();
      }
    } else {
      l1.disconnect_all();
    }
  }
};

// ---- the tiniest hand-off, for the full-search scheduler -----------------------------------------
// The owner registers in a rendezvous-style queue and waits without a deadline; the waker selects
// it, writes the packet, wakes it. The owner must see the packet (P3).
template <class P>
struct waiter_tiny : rl::test_suite<waiter_tiny<P>, 2> {
  typename P::parker pk;
  typename P::lock q_lock;
  basic_waiter_queue<P> q;
  rl::var<int> packet;
  rl::atomic<int> registered;  // test scaffolding: the waker starts once the owner registered
  // relaxed: initialisation before the threads start.
  void before() { registered($).store(0, rl::mo_relaxed); }
  void thread(unsigned index) {
    using W = basic_waiter<P>;
    if (index == 0) {
      W w(pk);
      basic_waker_entry<P> e{&w, 0};
      {
        policy_guard<typename P::lock> g(q_lock);
        q.push(e);
      }
      // relaxed: a scheduling aid only (the waker waits for the entry); the lock orders it.
      registered($).store(1, rl::mo_relaxed);
      RL_ASSERT(w.wait_until(no_deadline) == W::selected(0));
      RL_ASSERT(packet($).load() == 42);
    } else {
      // relaxed: only a scheduling aid; the queue's lock orders the registration.
      while (registered($).load(rl::mo_relaxed) == 0) rl::yield(1, $);
      basic_waker_entry<P>* e;
      {
        policy_guard<typename P::lock> g(q_lock);
        e = q.select_one(nullptr);
      }
      RL_ASSERT(e != nullptr);
      packet($).store(42);
      e->w->wake();
    }
  }
};

// ---- select over two rings (select.cpp run_select step 3; select.hpp's ring recv cases) ---------
// Case 0 receives from ring a, case 1 from ring b. One thread sends one value into a, another
// closes b. The select fires exactly one case: a's value, or b's closed; nothing is lost (a's
// value stays in a if case 1 fired) and the select never sleeps through both events.
template <class P>
using ring = bounded_chan<payload, P>;

template <class P>
struct select_two_rings : rl::test_suite<select_two_rings<P>, 3> {
  payload_cells cells;
  ring<P>* a = nullptr;
  ring<P>* b = nullptr;
  typename P::parker pk[3];
  int fired = -1;  // 0: a's value arrived; 1: b reported closed
  void before() {
    g_cells = &cells;
    a = new ring<P>(1);
    b = new ring<P>(1);
  }
  void after() {
    RL_ASSERT(fired == 0 || fired == 1);
    RL_ASSERT(a->size() == (fired == 0 ? 0u : 1u));  // nothing lost, nothing taken twice
    delete a;
    delete b;
  }
  // try_fire for case i (select.hpp: a recv case fires on a value or on closed).
  bool try_fire(std::size_t i) {
    ring<P>& r = i == 0 ? *a : *b;
    auto x = r.try_recv();
    if (x) {
      RL_ASSERT(i == 0 && x->v == 5);
      fired = 0;
      return true;
    }
    if (x.code() == status::closed) {
      RL_ASSERT(i == 1);
      fired = 1;
      return true;
    }
    return false;
  }
  void thread(unsigned index) {
    using W = basic_waiter<P>;
    if (index == 0) {
      // The fast pass, then register / re-check / wait / unregister until a case fires.
      if (try_fire(0) || try_fire(1)) return;
      for (;;) {
        W w(pk[0]);
        basic_waker_entry<P> e0{&w, 0}, e1{&w, 1};
        a->receivers().register_entry(e0);
        b->receivers().register_entry(e1);
        if (a->recv_ready() || b->recv_ready()) w.abort();
        const std::uintptr_t s = w.wait_until(no_deadline);
        a->receivers().unregister_entry(e0);
        b->receivers().unregister_entry(e1);
        if (s >= W::selected_base && try_fire(s - W::selected_base)) return;  // complete_selected
        if (try_fire(0) || try_fire(1)) return;                                 // try_all again
      }
    } else if (index == 1) {
      payload v(5);
      RL_ASSERT(a->try_send(v) == status::ok);
    } else {
      b->close();
    }
  }
};

WEFT_MUTATION(m_release_store, waiter_release_store, relaxed);
WEFT_MUTATION(m_released_load, waiter_released_load, relaxed);
WEFT_MUTATION(m_lock_take, lock_take, relaxed);
WEFT_MUTATION(m_lock_give, lock_give, relaxed);
// Weakenings that no model catches (documented in README.md: redundant with another edge).
WEFT_MUTATION(t_waiter_select, waiter_select, relaxed);
WEFT_MUTATION(t_waiter_abort, waiter_abort, relaxed);
WEFT_MUTATION(t_waiter_abort_fail, waiter_abort_fail, relaxed);
WEFT_MUTATION(t_waiter_state_load, waiter_state_load, relaxed);
WEFT_MUTATION(t_parker_unpark, parker_unpark, relaxed);
WEFT_MUTATION(t_parker_take, parker_take, relaxed);
WEFT_MUTATION(t_parker_wake_take, parker_wake_take, relaxed);

}  // namespace

using rl::test_result_success;
WEFT_MODEL("waiter_three_way", "hand-off vs disconnect vs deadline abort: one winner, packet visible (P3)",
           test_result_success, waiter_three_way<rl_atomics>);
WEFT_MODEL("waiter_three_way_flag", "waiter_three_way, the owner waiting on released_ (waiter P4)",
           test_result_success, waiter_three_way<rl_atomics, false, true>);
WEFT_MODEL("mut_waiter_release_store_flag", "wake() released_ exchange release -> relaxed, flag wait",
           rl::test_result_data_race, waiter_three_way<m_release_store, false, true>);
WEFT_MODEL("waiter_three_way_task", "waiter_three_way with a task's parker (unpark, then released_)",
           test_result_success, waiter_three_way<rl_atomics, true>);
WEFT_MODEL("mut_waiter_release_store_task", "wake() released_ store release -> relaxed, task path",
           rl::test_result_data_race, waiter_three_way<m_release_store, true>);
WEFT_MODEL("waiter_tiny", "one hand-off through a waiter, no deadline (for the full-search scheduler)",
           test_result_success, waiter_tiny<rl_atomics>);
WEFT_MODEL("mut_waiter_release_store_tiny", "wake() released_ store release -> relaxed (waiter_tiny)",
           rl::test_result_data_race, waiter_tiny<m_release_store>);
WEFT_MODEL("select_two_rings", "select recv over 2 rings vs a send and a close: one case fires, nothing lost",
           test_result_success, select_two_rings<rl_atomics>);

WEFT_MODEL("mut_waiter_release_store", "wake() released_ store release -> relaxed (waiter_three_way)",
           rl::test_result_data_race, waiter_three_way<m_release_store>);
WEFT_MODEL("mut_waiter_released_load", "wait_released() load acquire -> relaxed (waiter_three_way)",
           rl::test_result_data_race, waiter_three_way<m_released_load>);
WEFT_MODEL("mut_lock_take", "spin lock exchange acquire -> relaxed (waiter_three_way)",
           rl::test_result_data_race, waiter_three_way<m_lock_take>);
WEFT_MODEL("mut_lock_give", "spin lock unlock store release -> relaxed (waiter_three_way)",
           rl::test_result_data_race, waiter_three_way<m_lock_give>);

WEFT_MODEL("tolerated_waiter_select", "try_select CAS acq_rel -> relaxed: covered by P3 (expected to pass)",
           test_result_success, waiter_three_way<t_waiter_select>);
WEFT_MODEL("tolerated_waiter_abort", "abort CAS acq_rel -> relaxed: covered by P3 (expected to pass)",
           test_result_success, waiter_three_way<t_waiter_abort>);
WEFT_MODEL("tolerated_waiter_abort_fail", "abort CAS failure acquire -> relaxed: covered by P3",
           test_result_success, waiter_three_way<t_waiter_abort_fail>);
WEFT_MODEL("tolerated_waiter_state_load", "state() load acquire -> relaxed: covered by P3",
           test_result_success, waiter_three_way<t_waiter_state_load>);
WEFT_MODEL("tolerated_parker_unpark", "unpark exchange release -> relaxed: covered by P3",
           test_result_success, waiter_three_way<t_parker_unpark>);
WEFT_MODEL("tolerated_parker_take", "take_token CAS acquire -> relaxed: covered by P3",
           test_result_success, waiter_three_way<t_parker_take>);
WEFT_MODEL("tolerated_parker_wake_take", "post-futex exchange acquire -> relaxed: covered by P3",
           test_result_success, waiter_three_way<t_parker_wake_take>);

}  // namespace weft::models
