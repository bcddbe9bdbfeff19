// The out-of-line parts of the resilience helpers: retry's schedule and context-aware wait,
// circuit_breaker's state changes. Invariants and orderings: see <weft/resilience.hpp>.
#include <weft/resilience.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <thread>

namespace weft {

// ---- retry ---------------------------------------------------------------------------------

namespace detail {

namespace {

/// Per-thread generator for jitter, seeded once from the OS entropy, the clock and the thread.
std::uint64_t next_random() noexcept {
  thread_local std::mt19937_64 gen = [] {
    std::uint64_t seed = static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
    seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id()) * 0x9e3779b97f4a7c15ull;
    try {
      std::random_device rd;
      seed ^= (static_cast<std::uint64_t>(rd()) << 32) | rd();
    } catch (...) {
      // no entropy device: the clock and thread id are enough to spread retries apart
    }
    return std::mt19937_64(seed);
  }();
  return gen();
}

}  // namespace

retry_schedule::retry_schedule(const retry_policy& p, detail::source_location where) {
  if (p.max_attempts < 1)
    throw_error(status::failed, "retry: retry_policy::max_attempts must be >= 1", where);
  if (p.initial_backoff.count() < 0 || p.max_backoff.count() < 0)
    throw_error(status::failed, "retry: retry_policy backoffs must not be negative", where);
  if (!(p.multiplier >= 1.0))  // also rejects NaN
    throw_error(status::failed, "retry: retry_policy::multiplier must be >= 1", where);
  // At most 2^62 ns (146 years): far beyond any real backoff, and exactly representable, so
  // the double -> int64 conversion in next_wait() can never overflow.
  max_ns_ = std::min(static_cast<double>(p.max_backoff.count()), 0x1p62);
  backoff_ns_ = std::min(static_cast<double>(p.initial_backoff.count()), max_ns_);
  multiplier_ = p.multiplier;
  jitter_ = p.jitter;
}

std::chrono::nanoseconds retry_schedule::next_wait() noexcept {
  const auto backoff = static_cast<std::int64_t>(backoff_ns_);
  std::int64_t wait = backoff;
  if (jitter_ && backoff > 0) {
    // Uniform in [0, backoff]. The modulo bias is below 2^-30 for any backoff under a year.
    wait = static_cast<std::int64_t>(next_random() % (static_cast<std::uint64_t>(backoff) + 1));
  }
  backoff_ns_ = std::min(backoff_ns_ * multiplier_, max_ns_);  // inf (overflow) caps too
  return std::chrono::nanoseconds(wait);
}

status wait_unless_done(const context& ctx, std::chrono::nanoseconds d) {
  if (const status s = ctx.err(); s != status::ok) return s;
  if (d.count() <= 0) return status::ok;
  const time_point until = deadline_after(d);
  auto done = ctx.done();  // closed when ctx is cancelled or passes its deadline
  for (;;) {
    // Blocks (task-aware) until done() closes (ctx ended) or `until` passes.
    (void)done.recv_until(until);
    if (const status s = ctx.err(); s != status::ok) return s;
    // Only the clock says the wait is over (done() never carries values, and an early
    // `timeout` must not shorten the backoff): otherwise wait out the rest.
    if (clock::now() >= until) return status::ok;
  }
}

}  // namespace detail

// ---- circuit_breaker -----------------------------------------------------------------------

const char* to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, breaker_state s) { return os << to_string(s); }

namespace {

int checked_threshold(const breaker_options& o, detail::source_location where) {
  if (o.failure_threshold < 1 || static_cast<std::uint64_t>(o.failure_threshold) > (std::uint64_t{1} << 30) - 1)
    detail::throw_error(status::failed, "circuit_breaker: failure_threshold must be in [1, 2^30)", where);
  if (o.cool_down.count() < 0)
    detail::throw_error(status::failed, "circuit_breaker: cool_down must not be negative", where);
  return o.failure_threshold;
}

std::int64_t now_ticks() noexcept {
  return static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(detail::clock::now().time_since_epoch()).count());
}

}  // namespace

circuit_breaker::circuit_breaker(breaker_options o, detail::source_location where)
    : threshold_(checked_threshold(o, where)), cool_down_(o.cool_down) {}

breaker_state circuit_breaker::state() const noexcept {
  // acquire: opened_at_ below is at least the one written with this open state; P1.
  const std::uint64_t w = word_.load(std::memory_order_acquire);
  const breaker_state s = state_of(w);
  if (s != breaker_state::open) return s;
  // relaxed: published by the acquire load above; P1.
  const std::int64_t opened = opened_at_.load(std::memory_order_relaxed);
  return now_ticks() - opened >= cool_down_.count() ? breaker_state::half_open : breaker_state::open;
}

circuit_breaker::ticket circuit_breaker::admit_slow() noexcept {
  detail::spin_guard g(lock_);
  // relaxed (both loads): every write of word_ and opened_at_ is made under lock_, which we hold.
  const std::uint64_t w = word_.load(std::memory_order_relaxed);
  switch (state_of(w)) {
    case breaker_state::closed:
      return {gen_of(w), true, false};
    case breaker_state::half_open:
      return {gen_of(w), false, false};  // the probe is in flight: reject
    case breaker_state::open:
      break;
  }
  // relaxed: written only under lock_, which we hold (as the word above).
  if (now_ticks() - opened_at_.load(std::memory_order_relaxed) < cool_down_.count())
    return {gen_of(w), false, false};
  const std::uint32_t gen = gen_of(w) + 1;
  // release: lock-free readers (state(), admit()) see a consistent word; P1.
  word_.store(pack(breaker_state::half_open, 0, gen), std::memory_order_release);
  return {gen, true, true};  // this call is the probe
}

void circuit_breaker::record_slow(ticket t, bool ok) noexcept {
  detail::spin_guard g(lock_);
  // relaxed: written only under lock_, which we hold.
  const std::uint64_t w = word_.load(std::memory_order_relaxed);
  if (gen_of(w) != t.gen) return;  // the breaker changed state since this call was admitted
  if (t.probe) {
    // (state_of(w) == half_open: only the probe leaves that state)
    if (ok)
      // release: as in admit_slow(); P1.
      word_.store(pack(breaker_state::closed, 0, t.gen + 1), std::memory_order_release);
    else
      open_locked(t.gen);
    return;
  }
  // A normal call of the current generation: the breaker is closed.
  if (ok) {
    // release: as in admit_slow(); P1. (Same generation: only the failure count resets.)
    word_.store(pack(breaker_state::closed, 0, t.gen), std::memory_order_release);
    return;
  }
  const std::uint64_t failures = failures_of(w) + 1;
  if (failures >= static_cast<std::uint64_t>(threshold_)) {
    open_locked(t.gen);
  } else {
    // release: as in admit_slow(); P1.
    word_.store(pack(breaker_state::closed, failures, t.gen), std::memory_order_release);
  }
}

void circuit_breaker::open_locked(std::uint32_t gen) noexcept {
  // relaxed: published by the release store of word_ below; P1.
  opened_at_.store(now_ticks(), std::memory_order_relaxed);
  // release: opened_at_ is visible to whoever sees `open`; P1.
  word_.store(pack(breaker_state::open, 0, gen + 1), std::memory_order_release);
}

}  // namespace weft
