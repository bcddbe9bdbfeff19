// Relacy models of the unbuffered channel's exclusive slot (channels/include/weft/detail/
// flavor_rendezvous.hpp: F1, F2, P4), run on the production rendezvous_chan instantiated with
// rl_atomics. The blocking loops mirror rendezvous_send_wait / rendezvous_recv_wait (the way
// block_until mirrors wait_for_ring): their production versions also read the clock, the context
// and the blocking note, which the models do not have.
#include "model_support.hpp"

#include <optional>

namespace weft::models {
namespace {

using weft::result;
using weft::status;
using weft::detail::basic_waiter;
using weft::detail::rendezvous_chan;
using weft::detail::rendezvous_block;
using weft::detail::rendezvous_frame;

template <class P>
using rdv = rendezvous_chan<payload, P>;
/// A channel built in before() and destroyed in after() (its atomics live only inside a
/// simulation). Not new/delete: Relacy's inline operator delete does not replace the sized
/// delete that `delete` of a final class calls, which then frees Relacy's memory with free().
template <class P>
using rdv_box = std::optional<rdv<P>>;

/// Some finite deadline: model_parker turns it into "may time out at any step".
const time_point some_deadline = time_point(std::chrono::nanoseconds(1));

/// do_send + rendezvous_send_wait. `exclusive`: no deadline (may wait in the slot, and in the
/// channel's home block when it is free: H2); else a deadline that may pass at any step
/// (the lock path; returns timeout with v intact).
template <class P>
status model_send_once(rdv<P>& c, rendezvous_block<payload, P>& f, payload& v, bool exclusive) {
  f.p.src = &v;
  if (!c.register_sender(f, exclusive)) return c.try_send(v);
  const std::uintptr_t s = f.w.wait_until(exclusive ? no_deadline : some_deadline);
  if (s == basic_waiter<P>::selected(0)) {
    rdv<P>::finish_send(f.p);
    return status::ok;
  }
  c.unregister_sender(f.e);
  if (status st = c.try_send(v); st != status::full) return st;
  return s == basic_waiter<P>::aborted ? status::timeout : status::full;  // the loop's deadline check
}
template <class P>
status model_send(rdv<P>& c, payload& v, typename P::parker& pk, bool exclusive) {
  if (status st = c.try_send(v); st != status::full) return st;
  for (;;) {
    status st;
    if (rendezvous_block<payload, P>* h = exclusive ? c.take_home(pk) : nullptr) {
      st = model_send_once(c, *h, v, exclusive);
      c.put_home();
    } else {
      rendezvous_frame<payload, P> f(pk, exclusive);  // exclusive: a flag wait (waiter P4)
      st = model_send_once(c, f, v, exclusive);
    }
    if (st != status::full) return st;
  }
}

/// do_recv + rendezvous_recv_wait; `exclusive` as in model_send. Returns the value, timeout
/// (-1) or closed (-2); -3: go round again.
template <class P>
int model_recv_once(rdv<P>& c, rendezvous_block<payload, P>& f, bool exclusive) {
  auto value_of = [](result<payload>& r) { return r ? r->v : r.code() == status::closed ? -2 : -3; };
  if (!c.register_receiver(f, exclusive)) {
    result<payload> r = c.try_recv();
    return value_of(r);
  }
  const std::uintptr_t s = f.w.wait_until(exclusive ? no_deadline : some_deadline);
  if (s == basic_waiter<P>::selected(0)) {
    result<payload> r = rdv<P>::finish_recv(f.p);
    RL_ASSERT(r);  // payload's move never throws
    return value_of(r);
  }
  c.unregister_receiver(f.e);
  result<payload> r = c.try_recv();
  if (r.code() != status::empty) return value_of(r);
  return s == basic_waiter<P>::aborted ? -1 : -3;
}
template <class P>
int model_recv(rdv<P>& c, typename P::parker& pk, bool exclusive) {
  if (c.recv_may_complete()) {
    result<payload> r = c.try_recv();
    if (r) return r->v;
    if (r.code() == status::closed) return -2;
  }
  for (;;) {
    int got;
    if (rendezvous_block<payload, P>* h = exclusive ? c.take_home(pk) : nullptr) {
      got = model_recv_once(c, *h, exclusive);
      c.put_home();
    } else {
      rendezvous_frame<payload, P> f(pk, exclusive);  // exclusive: a flag wait (waiter P4)
      got = model_recv_once(c, f, exclusive);
    }
    if (got != -3) return got;
  }
}

// ---- ping-pong through two slots: the common path (F2, P4) ----------------------------------------
// Both sides block without deadline on two channels, so every wait goes through a slot and every
// pairing is a claim. The values must arrive in order and the payload's bytes (the sender's
// object, read by the claimer) must be published by the registering CAS (P4).
template <class P>
struct rendezvous_slot_pingpong : rl::test_suite<rendezvous_slot_pingpong<P>, 2> {
  payload_cells cells;
  typename P::parker pk[2];
  rdv_box<P> a, b;
  void before() {
    g_cells = &cells;
    a.emplace();
    b.emplace();
  }
  void after() {
    a.reset();
    b.reset();
  }
  void thread(unsigned index) {
    for (int i = 0; i < 2; ++i) {
      if (index == 0) {
        payload v(10 * i + 1);
        RL_ASSERT(model_send(*a, v, pk[0], true) == status::ok);
        RL_ASSERT(model_recv(*b, pk[0], true) == 10 * i + 2);
      } else {
        RL_ASSERT(model_recv(*a, pk[1], true) == 10 * i + 1);
        payload v(10 * i + 2);
        RL_ASSERT(model_send(*b, v, pk[1], true) == status::ok);
      }
    }
  }
};

// ---- three threads on one channel, every wait exclusive: two do one operation each on one
// side, the third does two on the other; each value arrives once ------------------------------
//   two senders, one receiver: the second sender finds the slot taken and, under the lock,
//     moves the first into the list (spill, F1).
//   two receivers, one sender: the home block goes from one receiver's wait to the other's with
//     no other order between them than its take and put (H2).
template <class P, bool TwoReceivers>
struct rendezvous_two_on_one_side : rl::test_suite<rendezvous_two_on_one_side<P, TwoReceivers>, 3> {
  payload_cells cells;
  typename P::parker pk[3];
  rdv_box<P> c;
  int got[2] = {0, 0};
  void before() {
    g_cells = &cells;
    c.emplace();
  }
  void after() {
    RL_ASSERT((got[0] == 1 && got[1] == 2) || (got[0] == 2 && got[1] == 1));  // each once
    c.reset();
  }
  void send(int value, unsigned index) {
    payload v(value);
    RL_ASSERT(model_send(*c, v, pk[index], true) == status::ok);
  }
  void thread(unsigned index) {
    if (index < 2) {
      if constexpr (TwoReceivers) got[index] = model_recv(*c, pk[index], true);
      else send(static_cast<int>(index) + 1, index);
    } else {
      for (int i = 0; i < 2; ++i) {
        if constexpr (TwoReceivers) send(i + 1, index);
        else got[i] = model_recv(*c, pk[index], true);
      }
    }
  }
};
template <class P>
using rendezvous_slot_two_senders = rendezvous_two_on_one_side<P, false>;
template <class P>
using rendezvous_home_two_receivers = rendezvous_two_on_one_side<P, true>;

// ---- a slot's waiter vs a timed receive (lock path: spill) vs close (F1, F2) ----------------------
// The exclusive send ends only paired or disconnected; the timed receive may time out at any
// step; close() may come at any point. The send is ok exactly when the receive got its value; a
// send that did not complete still holds its value.
template <class P>
struct rendezvous_slot_spill_close : rl::test_suite<rendezvous_slot_spill_close<P>, 3> {
  payload_cells cells;
  typename P::parker pk[3];
  rdv_box<P> c;
  status sent = status::full;
  int got = 0;
  int left = 0;
  void before() {
    g_cells = &cells;
    c.emplace();
  }
  void after() {
    RL_ASSERT((sent == status::ok) == (got == 7));
    RL_ASSERT(sent == status::ok || (sent == status::closed && left == 7));
    RL_ASSERT(got == 7 || got == -1 || got == -2);
    c.reset();
  }
  void thread(unsigned index) {
    if (index == 0) {
      payload v(7);
      sent = model_send(*c, v, pk[0], true);
      left = v.v;
    } else if (index == 1) {
      got = model_recv(*c, pk[1], false);
    } else {
      c->close();
    }
  }
};

WEFT_MUTATION(m_slot_register, rendezvous_slot_register, relaxed);
WEFT_MUTATION(m_slot_claim, rendezvous_slot_claim, relaxed);
WEFT_MUTATION(m_slot_spill, rendezvous_slot_spill, relaxed);
WEFT_MUTATION(t_waiter_claim, waiter_claim, relaxed);
WEFT_MUTATION(m_home_take, rendezvous_home_take, relaxed);
WEFT_MUTATION(m_home_put, rendezvous_home_put, relaxed);

}  // namespace

using rl::test_result_success;
WEFT_MODEL("rendezvous_slot_pingpong", "2 tasks ping-pong over 2 unbuffered slots: values in order, the sender's bytes visible (P4)",
           test_result_success, rendezvous_slot_pingpong<rl_atomics>);
WEFT_MODEL("rendezvous_slot_two_senders", "2 exclusive senders, 1 receiver: the second spills the first into the list; each value once",
           test_result_success, rendezvous_slot_two_senders<rl_atomics>);
WEFT_MODEL("rendezvous_slot_spill_close", "a slot's sender vs a timed receive (spill) vs close: ok iff received, else closed with the value kept",
           test_result_success, rendezvous_slot_spill_close<rl_atomics>);
WEFT_MODEL("mut_rendezvous_slot_register", "slot register CAS release -> relaxed (rendezvous_slot_pingpong)",
           rl::test_result_data_race, rendezvous_slot_pingpong<m_slot_register>);
WEFT_MODEL("mut_rendezvous_slot_claim", "slot claim CAS acquire -> relaxed (rendezvous_slot_pingpong)",
           rl::test_result_data_race, rendezvous_slot_pingpong<m_slot_claim>);
WEFT_MODEL("mut_rendezvous_slot_spill", "slot spill CAS acquire -> relaxed (rendezvous_slot_two_senders)",
           rl::test_result_data_race, rendezvous_slot_two_senders<m_slot_spill>);
WEFT_MODEL("rendezvous_home_two_receivers", "2 exclusive receivers, 1 sender: the home block changes hands (H2); each value once",
           test_result_success, rendezvous_home_two_receivers<rl_atomics>);
WEFT_MODEL("mut_rendezvous_home_take", "home block take CAS acquire -> relaxed (rendezvous_home_two_receivers)",
           rl::test_result_data_race, rendezvous_home_two_receivers<m_home_take>);
WEFT_MODEL("mut_rendezvous_home_put", "home block put store release -> relaxed (rendezvous_home_two_receivers)",
           rl::test_result_data_race, rendezvous_home_two_receivers<m_home_put>);
WEFT_MODEL("tolerated_waiter_claim", "claim() store release -> relaxed: covered by the packet's ready flag (expected to pass)",
           test_result_success, rendezvous_slot_pingpong<t_waiter_claim>);

}  // namespace weft::models
