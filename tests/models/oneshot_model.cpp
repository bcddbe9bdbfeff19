// Relacy models of the one-shot state (channels/include/weft/detail/oneshot_state.hpp: the state
// word set_bit | promise_done | future_gone, the outcome slot, the consumer's waker list, and the
// free-exactly-once rule I3), instantiated with rl_atomics; the state lives in Relacy's heap, so a
// double free or a leak is reported, and payload objects are counted (destroyed exactly once).
#include "model_support.hpp"

namespace weft::models {
namespace {

using weft::status;
using weft::detail::oneshot_state;

// The promise completes; the future blocks in get() (wait_take), then is dropped. Checked: the
// value arrives (P1), no lost wake-up (P2), the state is freed once (I3), every payload destroyed.
template <class P>
struct oneshot_get : rl::test_suite<oneshot_get<P>, 2> {
  payload_cells cells;
  typename P::parker pk[2];
  oneshot_state<payload, P>* s = nullptr;
  void before() {
    g_cells = &cells;
    g_live_payloads = 0;
    parker_table<P>::parkers = pk;
    s = oneshot_state<payload, P>::make();
  }
  void after() { RL_ASSERT(g_live_payloads == 0); }
  void thread(unsigned index) {
    if (index == 0) {
      s->complete(payload(7));
    } else {
      {
        auto r = s->wait_take(no_deadline, "get");
        RL_ASSERT(r && r->v == 7);
        RL_ASSERT(s->try_take().code() == status::closed);  // taken: closed afterwards
      }
      s->drop_future();
    }
  }
};

// The future is dropped unread while the promise completes: whichever side is second frees the
// state, and the outcome is destroyed exactly once (by the freeing side, or never built twice).
template <class P>
struct oneshot_drop : rl::test_suite<oneshot_drop<P>, 2> {
  payload_cells cells;
  typename P::parker pk[2];
  oneshot_state<payload, P>* s = nullptr;
  void before() {
    g_cells = &cells;
    g_live_payloads = 0;
    parker_table<P>::parkers = pk;
    s = oneshot_state<payload, P>::make();
  }
  void after() { RL_ASSERT(g_live_payloads == 0); }
  void thread(unsigned index) {
    if (index == 0) {
      s->complete(payload(9));
    } else {
      {
        auto r = s->try_take();  // may see the value, or empty
        RL_ASSERT(r.code() == status::empty || (r && r->v == 9));
      }
      s->drop_future();
    }
  }
};

WEFT_MUTATION(m_set, oneshot_set, release);
WEFT_MUTATION(m_set_relaxed, oneshot_set, relaxed);
WEFT_MUTATION(m_take_load, oneshot_take_load, relaxed);
WEFT_MUTATION(m_ready_check, oneshot_ready_check, acquire);
WEFT_MUTATION(m_promise_done, oneshot_promise_done, relaxed);
WEFT_MUTATION(m_future_gone, oneshot_future_gone, relaxed);

}  // namespace

using rl::test_result_success;
WEFT_MODEL("oneshot_get", "one-shot state: complete vs blocking get then drop: value, no lost wake-up, one free",
           test_result_success, oneshot_get<rl_atomics>);
WEFT_MODEL("oneshot_drop", "one-shot state: complete vs try_take + drop: one free, outcome destroyed once",
           test_result_success, oneshot_drop<rl_atomics>);

WEFT_MODEL("mut_oneshot_set_relaxed", "complete fetch_or(set_bit) seq_cst -> relaxed (oneshot_drop)",
           rl::test_result_data_race, oneshot_drop<m_set_relaxed>);
WEFT_MODEL("mut_oneshot_set", "complete fetch_or(set_bit) seq_cst -> release (oneshot_get)",
           rl::test_result_deadlock, oneshot_get<m_set>);
WEFT_MODEL("mut_oneshot_take_load", "try_take load acquire -> relaxed (oneshot_get)",
           rl::test_result_data_race, oneshot_get<m_take_load>);
WEFT_MODEL("mut_oneshot_ready_check", "is_ready load seq_cst -> acquire (oneshot_get)",
           rl::test_result_deadlock, oneshot_get<m_ready_check>);
WEFT_MODEL("mut_oneshot_promise_done", "complete fetch_or(promise_done) acq_rel -> relaxed (oneshot_get)",
           rl::test_result_data_race, oneshot_get<m_promise_done>);
WEFT_MODEL("mut_oneshot_future_gone", "drop_future fetch_or(future_gone) acq_rel -> relaxed (oneshot_get)",
           rl::test_result_data_race, oneshot_get<m_future_gone>);

}  // namespace weft::models
