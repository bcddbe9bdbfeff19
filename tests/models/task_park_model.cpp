// Relacy model of the runtime's task park/wake protocol (core/src/scheduler.cpp: finalise_park,
// unpark_task, fire_timer, park_task_until's token take; "Parking a task" / "Waking a task"
// there). That code is not templated over an atomics policy (it is the runtime's, one worker
// thread per OS thread), so this is a MIRROR, line for line in its atomic steps, like
// rl_bridge.hpp's model_parker of the thread parker.
//
// The scenario that matters is the plain-store wake: a waker that finds the word `parked` (a park
// without deadline) takes it with a plain load and store, no locked instruction. That is right
// only if nobody else can write the word meanwhile; the dangerous other writer is a STALE timer
// entry of an earlier timed park, whose sequence check (a relaxed load) can pass just before the
// task parks again. So the owner here parks twice:
//   park 1 with a deadline (`parked_timed`): its waiter may be won by the waker (exchange path)
//     or the owner's timer may fire first (the owner then aborts its waiter, or loses the abort
//     to the waker and waits for `released`, as waiter.hpp's wait_until does);
//   park 2 without deadline (`parked`): woken by the waker's plain store;
// while park 1's timer entry fires at any moment, also after park 2 began. Checked: every park
// is made runnable exactly once (never a second enqueue while the first is pending or after it
// ran: a task run twice; never none: Relacy reports the owner spinning forever), the switched-out
// fiber is visible to whoever enqueues the task (P1), the waker's packet to the task (P2/P4).
#include "model_support.hpp"

namespace weft::models {
namespace {

enum : int { empty = 0, notified = 1, parked = 2, parked_timed = 3 };

/// The production choices; a mutation overrides one.
struct task_park_policy {
  /// finalise_park publishes `parked_timed` for a park with a deadline (false: `parked` always,
  /// and the timer CASes from `parked`: the design before the plain-store wake's guard).
  static constexpr bool tag_timed = true;
  /// unpark_task's first look at the word (acquire: P1).
  static constexpr std::memory_order plain_look = std::memory_order_acquire;
  /// The run queue's hand-off of the task (P4).
  static constexpr std::memory_order enqueue = std::memory_order_release;
  /// Wait 2 parks through park_task_publish (P5): the wait is registered only once the task has
  /// switched out, with the word stored `parked` (no CAS) just before the registering CAS.
  static constexpr bool publish_park = false;
  /// That registering CAS's order (release: P5).
  static constexpr std::memory_order publish = std::memory_order_release;
  /// The word is stored `parked` before the registering CAS (false: after it).
  static constexpr bool parked_first = true;
};

template <class P>
struct task_park_stale_timer : rl::test_suite<task_park_stale_timer<P>, 3> {
  rl_atomic<int> word{empty};          // task::parker_.state_
  rl_atomic<int> park_seq{0};          // task::park_seq_
  rl_atomic<int> parks{0};             // parks published (finalise_park's CAS succeeded)
  rl_atomic<int> enqueues{0};          // make_runnable calls (the run queue, abstracted)
  rl::var<int> ctx;                    // task::ctx_: the switched-out fiber
  rl::var<int> packet1, packet2;       // what the waker hands over in each wait
  rl_atomic<int> w1{0}, w2{0};         // the two waits' waiter states: 0 waiting, 1 selected, 2 aborted
  rl_atomic<int> released1{0}, released2{0};
  rl_atomic<int> registered2{0};       // wait 2 is registered (the waker may select it)

  static constexpr int waker = 1, timer = 2;

  void after() { RL_ASSERT(enqueues.load(std::memory_order_relaxed) == parks.load(std::memory_order_relaxed)); }

  // make_runnable: the fiber must be completely switched out (P1); at most one enqueue per park.
  void enqueue() {
    (void)ctx($).load();
    const int n = enqueues.fetch_add(1, P::enqueue) + 1;
    // relaxed: the enqueuer acquired the word that finalise_park published after this count.
    RL_ASSERT(n <= parks.load(std::memory_order_relaxed));
  }

  // unpark_task.
  void unpark() {
    if (word.load(P::plain_look) == parked) {
      word.store(empty, std::memory_order_relaxed);
      enqueue();
      return;
    }
    const int old = word.exchange(notified, std::memory_order_acq_rel);
    if (old == parked || old == parked_timed) enqueue();
  }

  // fire_timer for the first park's entry (seq 1, a timed park), whenever the worker that holds
  // it gets to it: on time, or late (stale: that park is over, the task may be parked again).
  void fire_stale_or_due_timer() {
    if (park_seq.load(std::memory_order_relaxed) != 1) return;
    int expected = P::tag_timed ? parked_timed : parked;
    if (word.compare_exchange_strong(expected, empty, std::memory_order_acq_rel, std::memory_order_relaxed))
      enqueue();
  }

  // park_task_until's token take.
  bool take_token() {
    return word.load(std::memory_order_relaxed) == notified &&
           word.exchange(empty, std::memory_order_acquire) == notified;
  }

  // park_task_until: switch out, finalise_park, wait to be run. Returns park_task_until's result
  // (false: "the deadline passed", which a timed park may say when no token was taken).
  bool park(bool timed) {
    if (take_token()) return true;
    // relaxed (all): only this thread writes them; enqueue() reads `parks` after acquiring the
    // word published below.
    const int seq = park_seq.load(std::memory_order_relaxed) + 1;
    const int k = parks.load(std::memory_order_relaxed) + 1;
    ctx($).store(seq);  // the fiber switches out
    park_seq.store(seq, std::memory_order_relaxed);
    parks.store(k, std::memory_order_relaxed);  // counted before it is published (enqueue's check)
    int expected = empty;
    const int p = timed && P::tag_timed ? parked_timed : parked;
    if (!word.compare_exchange_strong(expected, p, std::memory_order_acq_rel, std::memory_order_acquire)) {
      parks.store(k - 1, std::memory_order_relaxed);  // a token came: run again at once
    } else {
      // acquire: the run queue's hand-off (P4).
      while (enqueues.load(std::memory_order_acquire) < k) rl::yield(1, $);
    }
    if (take_token()) return true;
    return !timed || rl::rand(2) == 0;
  }

  // park_task_publish: switch out, then finalise_park's publish branch: the word is stored
  // `parked` (relaxed: nobody can reach it before the CAS below), then the wait is registered
  // (the channel slot's CAS from idle; here always idle: the task is its only user). Then wait to
  // be run, as park().
  void park_publish() {
    const int seq = park_seq.load(std::memory_order_relaxed) + 1;
    const int k = parks.load(std::memory_order_relaxed) + 1;
    ctx($).store(seq);  // the fiber switches out
    park_seq.store(seq, std::memory_order_relaxed);
    parks.store(k, std::memory_order_relaxed);
    if (P::parked_first) word.store(parked, std::memory_order_relaxed);  // a stale token of wait 1 is dropped
    int idle = 0;
    RL_ASSERT(registered2.compare_exchange_strong(idle, 1, P::publish, std::memory_order_relaxed));
    if (!P::parked_first) word.store(parked, std::memory_order_relaxed);
    // acquire: the run queue's hand-off (P4).
    while (enqueues.load(std::memory_order_acquire) < k) rl::yield(1, $);
  }

  void thread(unsigned index) {
    if (index == 0) {  // the task
      // Wait 1 (waiter.hpp wait_until with a deadline).
      int s;
      for (;;) {
        s = w1.load(std::memory_order_acquire);
        if (s != 0) break;
        if (!park(true)) {
          int expected = 0;
          s = w1.compare_exchange_strong(expected, 2, std::memory_order_acq_rel, std::memory_order_acquire) ? 2
                                                                                                            : expected;
          break;
        }
      }
      if (s != 2) {
        while (released1.load(std::memory_order_acquire) == 0) rl::yield(1, $);
        RL_ASSERT(packet1($).load() == 11);
      }
      // Wait 2, no deadline.
      if (P::publish_park) park_publish();
      else registered2.store(1, std::memory_order_release);
      for (;;) {
        if (w2.load(std::memory_order_acquire) != 0) break;
        park(false);
      }
      while (released2.load(std::memory_order_acquire) == 0) rl::yield(1, $);
      RL_ASSERT(packet2($).load() == 22);
    } else if (index == waker) {
      int expected = 0;
      if (w1.compare_exchange_strong(expected, 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        packet1($).store(11);
        unpark();
        released1.store(1, std::memory_order_release);
      }
      while (registered2.load(std::memory_order_acquire) == 0) rl::yield(1, $);
      expected = 0;
      RL_ASSERT(w2.compare_exchange_strong(expected, 1, std::memory_order_acq_rel, std::memory_order_relaxed));
      packet2($).store(22);
      unpark();
      released2.store(1, std::memory_order_release);
    } else {
      fire_stale_or_due_timer();
    }
  }
};

/// No `parked_timed`: a timed park is published as `parked`, so the plain-store wake may race a
/// due or stale timer's CAS, and the task is enqueued twice.
struct mut_untagged : task_park_policy {
  static constexpr bool tag_timed = false;
};
/// The plain-store wake's look at the word relaxed: the fiber's switch-out is not ordered before
/// the enqueue.
struct mut_plain_look : task_park_policy {
  static constexpr std::memory_order plain_look = std::memory_order_relaxed;
};

/// Wait 2 through park_task_publish (the unbuffered channel's exclusive waits by tasks).
struct publish_policy : task_park_policy {
  static constexpr bool publish_park = true;
};
/// park_task_publish's registering CAS relaxed: the switched-out fiber and the `parked` word
/// are not published to the waker that takes the wait.
struct mut_publish_relaxed : publish_policy {
  static constexpr std::memory_order publish = std::memory_order_relaxed;
};

/// `parked` stored after the registering CAS: the waker may find the word `empty`, leave a token
/// and not enqueue, and the store then erases the token: the task is never run again.
struct mut_publish_parked_late : publish_policy {
  static constexpr bool parked_first = false;
};

}  // namespace

WEFT_MODEL("task_park_publish",
           "park_task_publish (P5): `parked` stored without CAS, then the wait registered; vs a stale timer and a stale token",
           rl::test_result_success, task_park_stale_timer<publish_policy>);
WEFT_MODEL("mut_task_park_publish_relaxed", "park_task_publish's registering CAS release -> relaxed: the fiber is not published",
           rl::test_result_data_race, task_park_stale_timer<mut_publish_relaxed>);
WEFT_MODEL("mut_task_park_publish_parked_late", "`parked` stored after park_task_publish's CAS: a wake-up lost, the task never runs",
           rl::test_result_livelock, task_park_stale_timer<mut_publish_parked_late>);
WEFT_MODEL("task_park_stale_timer",
           "task park/wake: plain-store wake vs a stale timer entry; one enqueue per park, fiber and packet visible",
           rl::test_result_success, task_park_stale_timer<task_park_policy>);
WEFT_MODEL("mut_task_park_untagged", "timed parks published as `parked` (no parked_timed): a task enqueued twice",
           rl::test_result_user_assert_failed, task_park_stale_timer<mut_untagged>);
WEFT_MODEL("mut_task_park_plain_look", "unpark_task's first look acquire -> relaxed: the fiber is not published",
           rl::test_result_data_race, task_park_stale_timer<mut_plain_look>);

}  // namespace weft::models
