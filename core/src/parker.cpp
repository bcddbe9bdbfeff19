// The thread side of the parker: futex waits on a monotonic clock, the adaptive spin rule, the
// per-thread wait strategy, and the pool that keeps thread parkers type-stable.
#include <weft/detail/parker.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

// Deadlines closer than this are met by spinning (sched_yield when the machine is busy), not by a
// futex timeout: a futex wake-up on this VM is 5-60 us late even with 1 ns timer slack.
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

bool try_begin_spin() noexcept {
  // relaxed: an admission counter, not a synchronisation point; nothing is published through it.
  if (g_spinners.load(std::memory_order_relaxed) >= g_cores) return false;
  // relaxed: same as above; a brief overshoot by one spinner is harmless.
  if (g_spinners.fetch_add(1, std::memory_order_relaxed) >= g_cores) {
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

void parker::unpark_thread() noexcept {
  // release: publishes what the waker wrote before unpark (waiter state, packet); pairs with the
  // acquire exchange/CAS in park_thread_until (P1). After this store the parker may be consumed
  // and its owner gone; futex_wake on the (type-stable) word is then at worst a spurious wake.
  if (state_.exchange(state::notified, std::memory_order_release) == state::parked) futex_wake_one(&state_);
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
}  // namespace

bool parker::park_thread_until(time_point deadline) noexcept {
  if (take_token(state_)) return true;
  const wait_strategy ws = tls_wait_strategy;

  // Spin phase: spin mode spins until the token or the deadline; adaptive spins a short budget.
  if (ws == wait_strategy::spin) {
    for (std::uint32_t i = 0;; ++i) {
      if (poll_token(state_)) return true;
      cpu_relax();
      if ((i & 63) == 63 && deadline != no_deadline && clock::now() >= deadline) return false;
    }
  }
  if (ws == wait_strategy::adaptive && adaptive_spin([this] { return poll_token(state_); }, deadline)) return true;

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
