// The thread side of the parker: futex waits on a monotonic clock, the adaptive spin rule, the
// per-thread wait strategy, and the pool that keeps thread parkers type-stable.
#include <weft/detail/parker.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/detail/backoff.hpp>
#include <weft/detail/inject.hpp>
#include <weft/detail/platform.hpp>

namespace weft {
namespace {
constinit thread_local wait_strategy tls_wait_strategy [[gnu::tls_model("initial-exec")]] = wait_strategy::adaptive;
}  // namespace

void this_thread::set_wait_strategy(wait_strategy s) noexcept { tls_wait_strategy = s; }
wait_strategy this_thread::get_wait_strategy() noexcept { return tls_wait_strategy; }

namespace detail {

void backoff::snooze() noexcept {
  if (step_ <= spin_limit) {
    for (std::uint32_t i = 0; i < (1u << step_); ++i) cpu_relax();
  } else {
    sched_yield();
  }
  if (step_ <= yield_limit) ++step_;
}

void spin_poll::yield_cpu() noexcept { sched_yield(); }

namespace {

// ---- adaptive spin admission ----------------------------------------------------------------
// At most one spinning waiter per core past the first free polls (adaptive_spin): the others
// park after those, so waiters never take every core from the threads that would make them ready
// (W2: 8 threads on 2 cores). The spin budget is short (spin_poll: 4 us of polling, then a few
// sched_yield), and the yields hand the core to a runnable partner when the machine is
// oversubscribed. (An earlier estimate of runnable
// threads as "threads that ever waited in weft minus threads parked now" counted a thread blocked
// in join() as runnable forever and switched spinning off for good: bench/README.md, W4.)
alignas(cache_line_size) std::atomic<std::uint32_t> g_spinners{0};
const std::uint32_t g_cores = [] {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1u : n;
}();

// ---- futex -------------------------------------------------------------------------------------
static_assert(sizeof(std::atomic<parker::state>) == sizeof(std::uint32_t) &&
                  alignof(std::atomic<parker::state>) >= alignof(std::uint32_t),
              "the futex word must be a plain 32-bit word");

// Waits while *word == expected, until woken or the absolute CLOCK_MONOTONIC deadline.
void futex_wait(std::atomic<parker::state>* word, parker::state expected, const timespec* abs_deadline) noexcept {
  // FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC (= steady_clock on Linux).
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
          static_cast<std::uint32_t>(expected), abs_deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake_one(std::atomic<parker::state>* word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, nullptr, 0);
}

timespec to_timespec(time_point t) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

// ---- the wake-follow spin ---------------------------------------------------------------------
// A futex wake reaches a sleeping thread late: on a VM the woken vCPU is halted and the host must
// run it again (10-50 us typically on the session-11 Firecracker VM, up to a few hundred). A
// thread that has just woken a sleeper and now waits for that sleeper's answer (ping-pong,
// request/reply) would park too after its 4 us spin, so the answer's wake is late in turn: once
// one side has parked, every later hop pays a wake-up, and W4 threads sat in such chains for
// 10-80% of its time (bench/RESULTS.md, session 11). The rule: the wait that follows a thread's
// futex wake of a sleeper (its next park_thread_until, adaptive strategy) spins until the wake's
// time plus `budget`, then parks as usual. Only OS threads follow: a task that wakes a thread
// marks its worker thread, which never waits here.
// The budget adapts per thread, from the answers: it moves a quarter of the way towards four
// times the wait of each answer caught (or that came from another CPU within the cap after a
// spin that ran out: the wake-ups are slower than the budget), and shrinks by a quarter after
// each other spin that ran out, within [wake_follow_min_ns, wake_follow_cap_ns] (parker.hpp;
// the rule is wake_follow_budget, below). An answer from the spinner's own CPU does not grow it:
// measured with both threads free to move (bench/tools/w4probe), a wakee that the kernel had
// queued on the spinner's CPU answered only after the spinner stopped (200-350 us after the
// budget, whatever the budget, sched_yield every few microseconds notwithstanding), and never
// with the threads pinned to different CPUs. The spin yields the CPU every few microseconds and
// holds a spin admission.

// When this thread last futex-woke a sleeper (ns on the steady clock; 0: it has waited since),
// and its wake-follow budget (ns). Thread-local: written and read by the owner only.
constinit thread_local std::int64_t tls_woke_at [[gnu::tls_model("initial-exec")]] = 0;
constinit thread_local std::int64_t tls_follow_budget [[gnu::tls_model("initial-exec")]] = wake_follow_initial_ns;

std::int64_t ns_of(time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Deadlines closer than this are met by spinning (sched_yield when the machine is busy), not by a
// futex timeout: a futex wake-up on these VMs is 5-60 us late even with 1 ns timer slack (and
// up to a few hundred us when the host is slow to run a halted vCPU: the wake-follow spin).
constexpr auto final_spin_window = std::chrono::microseconds(100);

// ---- thread parker pool ----------------------------------------------------------------------
// Thread parkers are never freed: a waker may call unpark() on a parker whose thread has just
// left its wait (and even exited). Recycling them keeps that late unpark harmless (a stale token).
struct parker_pool {
  std::mutex mu;
  std::vector<parker*> free;
};
parker_pool& pool() noexcept {
  static parker_pool* p = new parker_pool;  // leaked on purpose: threads may exit after main
  return *p;
}

struct thread_parker_holder {
  parker* p = nullptr;
  ~thread_parker_holder() {
    if (p == nullptr) return;
    parker_pool& pl = pool();
    std::lock_guard lk(pl.mu);
    pl.free.push_back(p);
  }
};
thread_local thread_parker_holder tls_holder;
constinit thread_local parker* tls_thread_parker [[gnu::tls_model("initial-exec")]] = nullptr;

[[gnu::noinline, gnu::cold]] parker& make_thread_parker() noexcept {
  parker* p = nullptr;
  {
    parker_pool& pl = pool();
    std::lock_guard lk(pl.mu);
    if (!pl.free.empty()) {
      p = pl.free.back();
      pl.free.pop_back();
    }
  }
  if (p == nullptr) p = new parker(nullptr);
  tls_holder.p = p;
  tls_thread_parker = p;
  // Timer slack: the kernel may delay a timed futex wake-up by the thread's slack (50 us by
  // default). weft's deadlines promise a few microseconds, so ask for 1 ns on every thread that
  // waits in weft. Costs one system call per thread, once.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  return *p;
}

}  // namespace

task* current_task() noexcept { return current_task_tls; }

parker& thread_parker() noexcept {
  parker* p = tls_thread_parker;
  return p != nullptr ? *p : make_thread_parker();
}

bool try_begin_spin() noexcept { return try_begin_spin(g_cores); }

bool try_begin_spin(std::uint32_t limit) noexcept {
  // relaxed: an admission counter, not a synchronisation point; nothing is published through it.
  if (g_spinners.load(std::memory_order_relaxed) >= limit) return false;
  // relaxed: same as above; a brief overshoot by one spinner is harmless.
  if (g_spinners.fetch_add(1, std::memory_order_relaxed) >= limit) {
    // relaxed: undoing our own increment.
    g_spinners.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void end_spin() noexcept {
  // relaxed: admission counter only.
  g_spinners.fetch_sub(1, std::memory_order_relaxed);
}

std::uint32_t spinners_now() noexcept {
  // relaxed: a snapshot of the admission counter; tests read it once the spinners have returned.
  return g_spinners.load(std::memory_order_relaxed);
}

void parker::unpark_thread() noexcept {
  // release: publishes what the waker wrote before unpark (waiter state, packet); pairs with the
  // acquire exchange/CAS in park_thread_until (P1). After this store the parker may be consumed
  // and its owner gone; futex_wake on the (type-stable) word is then at worst a spurious wake.
  if (state_.exchange(state::notified, std::memory_order_release) == state::parked) {
    // relaxed: a hint read by the owner after it wakes (the wake-follow spin); a late or lost value only
    // misguides one budget step. Written before the wake so the woken owner normally sees it.
    waker_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
    futex_wake_one(&state_);
    // This thread's next wait may follow the wake (the wake-follow spin); pointless on one core.
    if (g_cores >= 2) tls_woke_at = ns_of(clock::now());
  }
}

namespace {
// Consumes a token if there is one. acquire: pairs with unpark's release exchange (P1).
bool take_token(std::atomic<parker::state>& s) noexcept {
  parker::state expected = parker::state::notified;
  return s.compare_exchange_strong(expected, parker::state::empty, std::memory_order_acquire,
                                   std::memory_order_relaxed);
}
// The spin loops' poll: read first, CAS only when a token is there. A CAS, failed or not, takes
// the line exclusive (lock cmpxchg on x86-64): polling with it steals the parker's line from
// the waker at every poll, and the waker's exchange then waits for it to come back.
// relaxed: a look only; take_token's CAS does the acquire (P1).
bool poll_token(std::atomic<parker::state>& s) noexcept {
  return s.load(std::memory_order_relaxed) == parker::state::notified && take_token(s);
}

// The wake-follow spin: polls until `until` (ns) or the deadline, yielding the CPU every 64
// polls (a few microseconds). Needs a spin admission that leaves a core not spinning: the wakee
// needs a core to answer on (with one core, it needs ours), and on an oversubscribed machine
// (W6: 5 threads on 2 cores) each follow spinner takes a core from the threads that would make
// the waiters ready.
enum class follow_end { caught, expired, cut_short };
template <class Poll>
follow_end follow_spin(Poll&& poll, std::int64_t until, time_point deadline, std::int64_t& ended_at) noexcept {
  if (g_cores < 2 || !try_begin_spin(g_cores - 1)) return follow_end::cut_short;
  follow_end how = follow_end::cut_short;
  for (std::uint32_t i = 1;; ++i) {
    if (poll()) {
      how = follow_end::caught;
      ended_at = ns_of(clock::now());
      break;
    }
    cpu_relax();
    if ((i & 63) == 0) {
      const time_point now = clock::now();
      if (ns_of(now) >= until) {
        how = follow_end::expired;
        break;
      }
      if (now >= deadline) break;  // cut short: says nothing about the budget
      sched_yield();
    }
  }
  end_spin();
  return how;
}
}  // namespace

std::int64_t wake_follow_budget(std::int64_t budget, bool caught, std::int64_t wait_ns) noexcept {
  if (!caught) return std::max(budget - budget / 4, wake_follow_min_ns);
  const std::int64_t target = std::clamp<std::int64_t>(4 * wait_ns, wake_follow_min_ns, wake_follow_cap_ns);
  const std::int64_t step = (target - budget) / 4;
  return step != 0 ? budget + step : target;  // the last few ns in one step: it gets there
}

namespace {
// A flag wait's poll (parker.hpp park_until with a flag). acquire: pairs with the waker's
// release exchange (waiter.hpp wake): the waiter's state and packet, written before it, are
// visible.
bool flag_is_set(const std::atomic<std::uint8_t>& flag) noexcept {
  return flag.load(std::memory_order_acquire) == parker::flag_set;
}
// Before a flag wait sleeps: pending -> sleeping, so the waker unparks. False if the flag was set
// meanwhile (then there is nothing to sleep for). acquire on failure: the flag is set, as in
// flag_is_set. On success nothing needs an order (the owner publishes nothing to the waker; the
// one order of this CAS and the waker's exchange on one word decides who sees whom), but a
// failure order may not be stronger than the success order for gcc (-Winvalid-memory-model).
bool announce_sleep(std::atomic<std::uint8_t>& flag) noexcept {
  std::uint8_t expected = parker::flag_pending;
  return flag.compare_exchange_strong(expected, parker::flag_sleeping, std::memory_order_acquire,
                                      std::memory_order_acquire) ||
         expected == parker::flag_sleeping;
}
}  // namespace

bool parker::park_thread_until(time_point deadline, std::atomic<std::uint8_t>* flag) noexcept {
  // Every wait consumes the wake mark, whichever way it ends: only the wait right after a wake
  // follows it (see "the wake-follow spin" above).
  const std::int64_t woke_at = tls_woke_at;
  tls_woke_at = 0;
  if (flag != nullptr) {
    // A flag wait polls the flag; a token can only matter once the owner announced its sleep.
    // acquire: as flag_is_set.
    const std::uint8_t f = flag->load(std::memory_order_acquire);
    if (f == flag_set) return true;
    if (f == flag_sleeping) return park_sleep(deadline);  // spun already: the waker unparks us
  } else if (take_token(state_)) {
    return true;
  }
  const wait_strategy ws = tls_wait_strategy;
  const auto ready = [this, flag] { return flag != nullptr ? flag_is_set(*flag) : poll_token(state_); };
  // The futex phase; a flag wait announces it first (then the waker unparks).
  const auto sleep = [this, flag](time_point d) {
    if (flag != nullptr && !announce_sleep(*flag)) return true;
    return park_sleep(d);
  };

  // Spin phase: spin mode spins until the token or the deadline; adaptive spins a short budget.
  if (ws == wait_strategy::spin) {
    for (std::uint32_t i = 0;; ++i) {
      if (ready()) return true;
      cpu_relax();
      if ((i & 63) == 63 && deadline != no_deadline && clock::now() >= deadline) return false;
    }
  }
  if (ws == wait_strategy::adaptive && adaptive_spin(ready, deadline)) return true;

  // Wake-follow: this wait began soon after this thread woke a sleeper (see "the wake-follow spin" above).
  if (woke_at != 0 && ws == wait_strategy::adaptive) {
    const std::int64_t budget = tls_follow_budget;
    const time_point now = clock::now();
    if (now < deadline && ns_of(now) < woke_at + budget) {
      std::int64_t caught_at = 0;
      const follow_end how = follow_spin(ready, woke_at + budget, deadline, caught_at);
      if (how == follow_end::caught) {
        tls_follow_budget = wake_follow_budget(budget, true, caught_at - woke_at);
        return true;
      }
      if (how == follow_end::expired) {
        // Parks. If the answer then comes from another CPU, the budget was too short for this
        // machine's wake-ups: grow it from the answer's wait. If it comes from this CPU (the
        // kernel queued the wakee here, behind the spin) or not at all, spinning did not help.
        const int spun_on = sched_getcpu();
        // relaxed: the hint is this thread's own to clear (see unpark_thread).
        waker_cpu_.store(-1, std::memory_order_relaxed);
        const bool got = sleep(deadline);
        const std::int64_t answered_at = ns_of(clock::now());
        // relaxed: a hint only.
        const int from = waker_cpu_.load(std::memory_order_relaxed);
        const bool elsewhere = got && from != spun_on && answered_at - woke_at < wake_follow_cap_ns;
        tls_follow_budget = wake_follow_budget(budget, elsewhere, answered_at - woke_at);
        return got;
      }
    }
  }
  return sleep(deadline);
}

bool parker::park_sleep(time_point deadline) noexcept {
  for (;;) {
    time_point now = clock::now();
    if (now >= deadline) return take_token(state_);
    if (deadline != no_deadline && deadline - now <= final_spin_window) {
      // Final spin to the deadline: yields when the machine is busy, so it never starves a partner.
      backoff b;
      while (clock::now() < deadline) {
        if (poll_token(state_)) return true;
        b.snooze();
      }
      return take_token(state_);
    }
    // Announce the sleep. acquire on success is not needed (no token consumed); on failure the
    // state is `notified`: consume it with acquire (P1).
    state expected = state::empty;
    if (!state_.compare_exchange_strong(expected, state::parked, std::memory_order_relaxed,
                                        std::memory_order_relaxed)) {
      // relaxed above is safe: a failed CAS consumed nothing; take_token re-reads with acquire.
      if (take_token(state_)) return true;
      continue;
    }
    if (deadline == no_deadline) {
      futex_wait(&state_, state::parked, nullptr);
    } else {
      const timespec ts = to_timespec(deadline - final_spin_window / 2);
      futex_wait(&state_, state::parked, &ts);
    }
    // Leave `parked`: either a token arrived (notified) or we timed out / woke spuriously.
    // acquire: if the previous value is `notified` we consume the token (P1).
    if (state_.exchange(state::empty, std::memory_order_acquire) == state::notified) return true;
  }
}

}  // namespace detail
}  // namespace weft
