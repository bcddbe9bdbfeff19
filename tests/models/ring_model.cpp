// Relacy models of the bounded ring (channels/include/weft/detail/flavor_bounded.hpp) and its
// blocking loop (waker_list.hpp + waiter.hpp + the parker), instantiated with rl_atomics: the
// production code, not a copy. Sizes are tiny on purpose (capacity 1-2, 2-4 threads, 2-4 values):
// every slot is reused, every position wraps a lap, and Relacy explores the interleavings.
#include "model_support.hpp"

namespace weft::models {
namespace {

using weft::detail::bounded_chan;
using weft::status;

template <class P>
using ring = bounded_chan<payload, P>;

/// A send that yields to Relacy while the ring is full (no blocking: checks the ring alone).
template <class P>
void spin_send(ring<P>& r, int v) {
  payload p(v);
  while (r.try_send(p) == status::full) rl::yield(1, $);
}
template <class P>
int spin_recv(ring<P>& r) {
  for (;;) {
    auto x = r.try_recv();
    if (x) return x->v;
    RL_ASSERT(x.code() == status::empty);
    rl::yield(1, $);
  }
}

// ---- SPSC, capacity 1: value hand-over and slot reuse (ring P1) -------------------------------
// Two values through one slot: the second send reuses the slot the receiver just emptied, so a
// missing release/acquire on either stamp is a race on the slot's bytes.
template <class P>
struct ring_spsc : rl::test_suite<ring_spsc<P>, 2> {
  payload_cells cells;
  ring<P>* r = nullptr;
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() { delete r; }
  void thread(unsigned index) {
    if (index == 0) {
      spin_send(*r, 1);
      spin_send(*r, 2);
    } else {
      RL_ASSERT(spin_recv(*r) == 1);  // FIFO
      RL_ASSERT(spin_recv(*r) == 2);
    }
  }
};

// ---- the tiniest ring, for the full-search scheduler: one send, one try_recv, no loops -----------
template <class P>
struct ring_spsc_tiny : rl::test_suite<ring_spsc_tiny<P>, 2> {
  payload_cells cells;
  ring<P>* r = nullptr;
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() {
    RL_ASSERT(r->size() <= 1);
    delete r;
  }
  void thread(unsigned index) {
    if (index == 0) {
      payload p(1);
      RL_ASSERT(r->try_send(p) == status::ok);
    } else {
      auto x = r->try_recv();
      if (x) RL_ASSERT(x->v == 1);
      else RL_ASSERT(x.code() == status::empty);
    }
  }
};

// ---- MPMC, capacity 2: claims by CAS, laps, nothing lost or duplicated -------------------------
template <class P>
struct ring_mpmc : rl::test_suite<ring_mpmc<P>, 4> {
  payload_cells cells;
  ring<P>* r = nullptr;
  int got[2][2] = {};
  void before() {
    g_cells = &cells;
    r = new ring<P>(2);
  }
  void after() {
    // Each of the four values (sender s sends 10*s+1, 10*s+2) arrived exactly once.
    int seen[4] = {};
    for (auto& row : got)
      for (int v : row) {
        const int s = v / 10 - 1, k = v % 10 - 1;
        RL_ASSERT(s >= 0 && s < 2 && k >= 0 && k < 2);
        ++seen[s * 2 + k];
      }
    for (int n : seen) RL_ASSERT(n == 1);
    RL_ASSERT(r->size() == 0);
    delete r;
  }
  void thread(unsigned index) {
    if (index < 2) {
      const int s = static_cast<int>(index) + 1;
      spin_send(*r, 10 * s + 1);
      spin_send(*r, 10 * s + 2);
    } else {
      int* out = got[index - 2];
      out[0] = spin_recv(*r);
      out[1] = spin_recv(*r);
      // Per-sender FIFO: one receiver never sees a sender's second value before its first.
      if (out[0] / 10 == out[1] / 10) RL_ASSERT(out[0] < out[1]);
    }
  }
};

// ---- blocking send and receive: no lost wake-up (ring P2, waker_list P1) ------------------------
// Capacity 1, three values: the receiver blocks on an empty ring and the sender on a full one,
// both through the production waker lists, waiters and (mirrored) parker. A lost wake-up leaves a
// thread parked forever: Relacy reports DEADLOCK.
template <class P>
bool blocking_send(ring<P>& r, typename P::parker& pk, int v) {
  payload p(v);
  status st = status::full;
  block_until<P>(
      r.senders(), pk, [&] { return (st = r.try_send(p)) != status::full; }, [&] { return r.send_ready(); });
  return st == status::ok;
}
template <class P>
int blocking_recv(ring<P>& r, typename P::parker& pk) {  // the value, or -1 for closed
  int v = -2;
  block_until<P>(
      r.receivers(), pk,
      [&] {
        auto x = r.try_recv();
        if (x) v = x->v;
        else if (x.code() == status::closed) v = -1;
        return v != -2;
      },
      [&] { return r.recv_ready(); });
  return v;
}

// ---- a spinning receive's look (try_take_head) with two receivers and a close -------------------
// One sender sends 1, 2, 3 through a capacity-1 ring and closes; two receivers take with
// try_take_head (the spin-mode receive's look: chan.hpp ring_recv_slow) and every fourth look with
// the exact try_recv, which is what sees the close. Every value arrives exactly once (a look whose
// CAS loses to the other receiver's takes nothing), each receiver sees increasing values, both
// end on closed, the slot's reuse does not race with the look that read it, and every payload is
// destroyed once (the look destroys the value it moved out). With Park the sender blocks on the
// full ring through the waker list (blocking_send): the look's claim and notify_one must wake it
// (ring P2), or it stays parked while the receivers spin: Relacy reports a livelock.
template <class P>
int look_recv(ring<P>& r) {  // the value, or -1 once closed and drained
  for (unsigned look = 1;; ++look) {
    if (look % 4 != 0) {
      auto x = r.try_take_head();
      if (x) return x->v;
      RL_ASSERT(x.code() == status::empty);
    } else {
      auto x = r.try_recv();
      if (x) return x->v;
      if (x.code() == status::closed) return -1;
    }
    rl::yield(1, $);
  }
}

template <class P, bool Park>
struct ring_take_head : rl::test_suite<ring_take_head<P, Park>, 3> {
  payload_cells cells;
  ring<P>* r = nullptr;
  typename P::parker pk;
  int got[2][3] = {};
  int n[2] = {};
  void before() {
    g_cells = &cells;
    g_live_payloads = 0;
    r = new ring<P>(1);
  }
  void after() {
    int seen[3] = {};
    for (int k = 0; k < 2; ++k)
      for (int i = 0; i < n[k]; ++i) ++seen[got[k][i] - 1];
    for (int c : seen) RL_ASSERT(c == 1);
    RL_ASSERT(r->size() == 0);
    delete r;
    RL_ASSERT(g_live_payloads == 0);
  }
  void thread(unsigned index) {
    if (index == 0) {
      for (int v = 1; v <= 3; ++v) {
        if constexpr (Park) RL_ASSERT(blocking_send(*r, pk, v));
        else spin_send(*r, v);
      }
      r->close();
    } else {
      const unsigned k = index - 1;
      for (;;) {
        const int v = look_recv(*r);
        if (v == -1) break;
        RL_ASSERT(v >= 1 && v <= 3 && n[k] < 3);
        if (n[k] > 0) RL_ASSERT(got[k][n[k] - 1] < v);  // FIFO within one receiver
        got[k][n[k]++] = v;
      }
    }
  }
};

template <class P>
struct ring_blocking : rl::test_suite<ring_blocking<P>, 2> {
  payload_cells cells;
  ring<P>* r = nullptr;
  typename P::parker pk[2];
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() { delete r; }
  void thread(unsigned index) {
    if (index == 0) {
      for (int v = 1; v <= 3; ++v) RL_ASSERT(blocking_send(*r, pk[0], v));
    } else {
      for (int v = 1; v <= 3; ++v) RL_ASSERT(blocking_recv(*r, pk[1]) == v);
    }
  }
};

// ---- two blocked receivers, one value each: notify_one wakes a waiting one ---------------------
template <class P>
struct ring_two_receivers : rl::test_suite<ring_two_receivers<P>, 3> {
  payload_cells cells;
  ring<P>* r = nullptr;
  typename P::parker pk[3];
  int got[2] = {};
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() {
    RL_ASSERT(got[0] + got[1] == 3 && got[0] != got[1]);
    delete r;
  }
  void thread(unsigned index) {
    if (index == 0) {
      RL_ASSERT(blocking_send(*r, pk[0], 1));
      RL_ASSERT(blocking_send(*r, pk[0], 2));
    } else {
      got[index - 1] = blocking_recv(*r, pk[index]);
    }
  }
};

// ---- close versus park (ring P3): blocked receivers and senders see closed ----------------------
// A receiver blocks on an empty ring, a sender blocks on a full one (capacity 1, pre-filled), and
// a third thread closes. Both must return (no lost wake-up: DEADLOCK otherwise): the receiver
// drains the value sent before the close, then sees closed; the blocked sender gets closed or
// (if the receiver made room first) ok, and then a value sent ok is received before closed.
template <class P>
struct ring_close_vs_park : rl::test_suite<ring_close_vs_park<P>, 3> {
  payload_cells cells;
  ring<P>* r = nullptr;
  typename P::parker pk[3];
  bool second_sent = false;
  int received[3] = {};
  int n_received = 0;
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
    payload first(1);
    RL_ASSERT(r->try_send(first) == status::ok);
  }
  void after() {
    RL_ASSERT(n_received == (second_sent ? 2 : 1));
    RL_ASSERT(received[0] == 1);
    if (second_sent) RL_ASSERT(received[1] == 2);
    delete r;
  }
  void thread(unsigned index) {
    if (index == 0) {
      second_sent = blocking_send(*r, pk[0], 2);  // blocks: the ring is full
    } else if (index == 1) {
      for (;;) {
        const int v = blocking_recv(*r, pk[1]);
        if (v == -1) break;
        received[n_received++] = v;
      }
    } else {
      r->close();
    }
  }
};

// ---- close happens-before the closed it causes (API.md: close -> the recv that returns closed) --
// The closer writes `note` then closes. A receiver polls try_recv until it returns closed and an
// observer polls is_closed(); both then read `note`. Neither goes through a waker list, so the
// only edge is close's RMW on tail (release) and the loads that see the mark bit (acquire).
template <class P>
struct ring_close_publishes : rl::test_suite<ring_close_publishes<P>, 3> {
  payload_cells cells;
  ring<P>* r = nullptr;
  rl::var<int> note;
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() { delete r; }
  void thread(unsigned index) {
    if (index == 0) {
      note($).store(7);
      r->close();
    } else if (index == 1) {
      for (;;) {
        auto x = r->try_recv();
        RL_ASSERT(!x);
        if (x.code() == status::closed) break;
        rl::yield(1, $);
      }
      RL_ASSERT(note($).load() == 7);
    } else {
      while (!r->is_closed()) rl::yield(1, $);
      RL_ASSERT(note($).load() == 7);
    }
  }
};

// ---- the handles' lifetime (chan_state.hpp P1, P2): the last handle of each side ------------------
// Two sender handles and one receiver handle. Each sender sends one value (capacity 2: never full;
// closed if the receiver handle is already gone, the value left intact) and drops its handle; the
// receiver takes what is there (0-2 values) and drops its handle. The
// last sender closes; the side that drops last frees the channel (Relacy's heap: a double free or
// a leak is reported), destroying the values still inside: that destruction must happen-after
// their construction by any sender (a race on the slot otherwise), and every payload is destroyed
// exactly once.
template <class P>
struct chan_lifetime : rl::test_suite<chan_lifetime<P>, 3> {
  payload_cells cells;
  ring<P>* r = nullptr;
  void before() {
    g_cells = &cells;
    g_live_payloads = 0;
    r = ::new (rl::rl_malloc(sizeof(ring<P>), $)) ring<P>(2);  // one sender, one receiver handle
    r->acquire_sender();                                         // the second sender handle
  }
  void after() { RL_ASSERT(g_live_payloads == 0); }
  void free_channel() {
    r->~ring<P>();
    rl::rl_free(r, $);
  }
  void thread(unsigned index) {
    if (index < 2) {
      {
        payload v(static_cast<int>(index) + 1);
        const status st = r->try_send(v);  // closed once the receiver handle is gone
        RL_ASSERT(st == status::ok || (st == status::closed && v.v == static_cast<int>(index) + 1));
      }
      if (r->release_sender()) free_channel();
    } else {
      for (int k = 0; k < 2; ++k) {
        auto x = r->try_recv();
        if (!x) break;
      }
      if (r->release_receiver()) free_channel();
    }
  }
};

// ---- a capacity-1 ring used once: send, drop the sender, blocking receives --------------------
// (What the one-shot promise/future was until commit 750da68 replaced it with oneshot_state,
// modelled in oneshot_model.cpp; still the shape of a cap-1 hand-off followed by a disconnect.)
// The payload written before the send is visible after the receive; the next receive is closed.
template <class P>
struct ring_cap1_send_close : rl::test_suite<ring_cap1_send_close<P>, 2> {
  payload_cells cells;
  ring<P>* r = nullptr;
  typename P::parker pk[2];
  void before() {
    g_cells = &cells;
    r = new ring<P>(1);
  }
  void after() { delete r; }
  void thread(unsigned index) {
    if (index == 0) {
      payload v(42);
      RL_ASSERT(r->try_send(v) == status::ok);  // capacity 1, one send: never full
      r->disconnect_senders();                  // the promise's sender handle is dropped
    } else {
      RL_ASSERT(blocking_recv(*r, pk[1]) == 42);
      RL_ASSERT(blocking_recv(*r, pk[1]) == -1);  // taken: closed
    }
  }
};

// ---- mutations: one order weakened each; Relacy must report the failure ------------------------

WEFT_MUTATION(m_value_publish, ring_value_publish, relaxed);
WEFT_MUTATION(m_full_stamp_load, ring_full_stamp_load, relaxed);
WEFT_MUTATION(m_free_publish, ring_free_publish, relaxed);
WEFT_MUTATION(m_free_stamp_load, ring_free_stamp_load, relaxed);
WEFT_MUTATION(m_tail_claim, ring_tail_claim, acq_rel);
WEFT_MUTATION(m_head_claim, ring_head_claim, acq_rel);
WEFT_MUTATION(m_ready_check, ring_ready_check, acquire);
WEFT_MUTATION(m_has_waiters, waker_has_waiters, acquire);
WEFT_MUTATION(m_register_publish, waker_register_publish, release);
WEFT_MUTATION(m_close, ring_close, relaxed);
WEFT_MUTATION(m_empty_check, ring_empty_check, relaxed);
WEFT_MUTATION(m_closed_load, ring_closed_load, relaxed);
WEFT_MUTATION(m_chan_destroy, chan_destroy, relaxed);
WEFT_MUTATION(m_chan_side_release, chan_side_release, relaxed);

}  // namespace

using rl::test_result_success;
WEFT_MODEL("ring_spsc", "bounded ring cap 1, 1 sender 1 receiver, 2 values: FIFO, no race on slot reuse",
           test_result_success, ring_spsc<rl_atomics>);
WEFT_MODEL("ring_spsc_tiny", "bounded ring cap 1, one try_send vs one try_recv (for the full-search scheduler)",
           test_result_success, ring_spsc_tiny<rl_atomics>);
WEFT_MODEL("mut_ring_value_publish_tiny", "commit_send stamp store release -> relaxed (ring_spsc_tiny)",
           rl::test_result_data_race, ring_spsc_tiny<m_value_publish>);
WEFT_MODEL("ring_mpmc", "bounded ring cap 2, 2 senders 2 receivers, 2 values each: exactly once, per-sender FIFO",
           test_result_success, ring_mpmc<rl_atomics>);
WEFT_MODEL("ring_take_head",
           "bounded ring cap 1, 1 sender (3 values, close) vs 2 receivers looking with try_take_head",
           test_result_success, ring_take_head<rl_atomics, false>);
WEFT_MODEL("ring_take_head_park",
           "as ring_take_head, the sender blocking on the full ring: the looks' claims wake it",
           test_result_success, ring_take_head<rl_atomics, true>);
WEFT_MODEL("mut_ring_take_head_full_stamp_load", "stamp loads acquire -> relaxed (ring_take_head)",
           rl::test_result_data_race, ring_take_head<m_full_stamp_load, false>);
WEFT_MODEL("mut_ring_take_head_free_publish",
           "free stamp stores release -> relaxed (ring_take_head)",
           rl::test_result_data_race, ring_take_head<m_free_publish, false>);
WEFT_MODEL("mut_ring_take_head_claim", "head CAS seq_cst -> acq_rel (ring_take_head_park)",
           rl::test_result_livelock, ring_take_head<m_head_claim, true>);
WEFT_MODEL("ring_blocking", "bounded ring cap 1, blocking send/recv of 3 values: no lost wake-up either side",
           test_result_success, ring_blocking<rl_atomics>);
WEFT_MODEL("ring_two_receivers", "bounded ring cap 1, 2 blocked receivers, 2 values: each woken, one value each",
           test_result_success, ring_two_receivers<rl_atomics>);
WEFT_MODEL("ring_close_vs_park", "blocked receiver and blocked sender vs close: both return, drain then closed",
           test_result_success, ring_close_vs_park<rl_atomics>);
WEFT_MODEL("ring_close_publishes", "close -> try_recv()==closed and is_closed(): writes before close are visible",
           test_result_success, ring_close_publishes<rl_atomics>);
WEFT_MODEL("chan_lifetime", "2 senders + 1 receiver drop their handles: one free, after every send; values destroyed once",
           test_result_success, chan_lifetime<rl_atomics>);
WEFT_MODEL("mut_chan_destroy", "chan_state destroy_ exchange acq_rel -> relaxed (chan_lifetime)",
           rl::test_result_data_race, chan_lifetime<m_chan_destroy>);
WEFT_MODEL("mut_chan_side_release", "chan_state release_sender/receiver fetch_sub acq_rel -> relaxed (chan_lifetime)",
           rl::test_result_data_race, chan_lifetime<m_chan_side_release>);
WEFT_MODEL("ring_cap1_send_close", "cap-1 ring: send + disconnect_senders vs blocking recv: value, then closed",
           test_result_success, ring_cap1_send_close<rl_atomics>);

WEFT_MODEL("mut_ring_value_publish", "commit_send stamp store release -> relaxed (ring_spsc)",
           rl::test_result_data_race, ring_spsc<m_value_publish>);
WEFT_MODEL("mut_ring_full_stamp_load", "try_recv stamp load acquire -> relaxed (ring_spsc)",
           rl::test_result_data_race, ring_spsc<m_full_stamp_load>);
WEFT_MODEL("mut_ring_free_publish", "try_recv stamp store release -> relaxed (ring_spsc)",
           rl::test_result_data_race, ring_spsc<m_free_publish>);
WEFT_MODEL("mut_ring_free_stamp_load", "try_send stamp load acquire -> relaxed (ring_spsc)",
           rl::test_result_data_race, ring_spsc<m_free_stamp_load>);
WEFT_MODEL("mut_ring_tail_claim", "try_send tail CAS seq_cst -> acq_rel (ring_blocking)",
           rl::test_result_deadlock, ring_blocking<m_tail_claim>);
WEFT_MODEL("mut_ring_head_claim", "try_recv head CAS seq_cst -> acq_rel (ring_blocking)",
           rl::test_result_deadlock, ring_blocking<m_head_claim>);
WEFT_MODEL("mut_ring_ready_check", "send_ready/recv_ready loads seq_cst -> acquire (ring_blocking)",
           rl::test_result_deadlock, ring_blocking<m_ready_check>);
WEFT_MODEL("mut_waker_has_waiters", "has_waiters load seq_cst -> acquire (ring_blocking)",
           rl::test_result_deadlock, ring_blocking<m_has_waiters>);
WEFT_MODEL("mut_waker_register_publish", "register_entry empty_ store seq_cst -> release (ring_blocking)",
           rl::test_result_deadlock, ring_blocking<m_register_publish>);
WEFT_MODEL("mut_ring_close", "close fetch_or seq_cst -> relaxed (ring_close_publishes)",
           rl::test_result_data_race, ring_close_publishes<m_close>);
WEFT_MODEL("mut_ring_empty_check", "try_recv tail load seq_cst -> relaxed (ring_close_publishes)",
           rl::test_result_data_race, ring_close_publishes<m_empty_check>);
WEFT_MODEL("mut_ring_closed_load", "is_closed tail load acquire -> relaxed (ring_close_publishes)",
           rl::test_result_data_race, ring_close_publishes<m_closed_load>);

}  // namespace weft::models
