// The select engine (see detail/select_engine.hpp for the algorithm and its invariants).
#include <weft/detail/select_engine.hpp>

#include <algorithm>
#include <chrono>
#include <limits>

#include <weft/detail/chan_state.hpp>
#include <weft/detail/inject.hpp>
#include <weft/status.hpp>

namespace weft::detail {

namespace {
constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

std::uint64_t seed_rng() noexcept {
  std::uint64_t x = static_cast<std::uint64_t>(clock::now().time_since_epoch().count());
  int local = 0;
  x ^= reinterpret_cast<std::uintptr_t>(&local) * 0x9E3779B97F4A7C15ull;
  return x | 1;
}
// initial-exec: as the runtime's thread_locals (core/src/scheduler.cpp).
constinit thread_local std::uint64_t tls_rng [[gnu::tls_model("initial-exec")]] = 0;

// Tries the cases of order[0..n_chan) in a uniformly random order (shuffle_step) and fires the
// first that completes. order[] keeps the same entries, permuted.
std::size_t try_all(select_case* const* cases, std::uint32_t* order, std::size_t n_chan) {
  for (std::size_t left = n_chan; left > 0; --left) {
    const std::uint32_t i = shuffle_step(order, left);
    if (cases[i]->try_fire(nullptr)) return i;
  }
  return npos;
}

std::size_t fire(select_case* const* cases, std::size_t i) {
  cases[i]->fire();
  return i;
}
}  // namespace

// noinline: its callers (try_all, run_select) use it before and after a wait, and a task may
// resume on another thread; inlined, the compiler could keep tls_rng's address across the wait.
[[gnu::noinline]] std::uint32_t random_below(std::uint32_t bound) noexcept {
  std::uint64_t s = tls_rng;
  if (s == 0) s = seed_rng();
  // wyrand: a 64-bit state step and a 128-bit multiply mix.
  s += 0xa0761d6478bd642full;
  tls_rng = s;
  __extension__ using u128 = unsigned __int128;
  const u128 m = static_cast<u128>(s) * (s ^ 0xe7037ed1a0b428dbull);
  const auto r = static_cast<std::uint32_t>(static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m));
  // Lemire: (r * bound) >> 32 is uniform enough for select fairness (bias < bound / 2^32).
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(r) * bound) >> 32);
}

std::size_t run_select(select_case* const* cases, std::size_t n, waker_entry* entries, std::uint32_t* order,
                       bool scanned) {
  // Classify the cases.
  std::size_t n_chan = 0, otherwise_idx = npos, timer_idx = npos;
  time_point timer_at = no_deadline;
  time_point start{};
  bool have_start = false;
  for (std::size_t i = 0; i < n; ++i) {
    switch (cases[i]->kind()) {
      case case_kind::channel:
        if (!cases[i]->exhausted()) order[n_chan++] = static_cast<std::uint32_t>(i);
        break;
      case case_kind::timer: {
        if (!have_start) {
          start = clock::now();
          have_start = true;
        }
        const time_point t = cases[i]->timer_deadline(start);
        if (timer_idx == npos || t < timer_at) {
          timer_at = t;
          timer_idx = i;
        }
        break;
      }
      case case_kind::otherwise:
        if (otherwise_idx == npos) otherwise_idx = i;
        break;
    }
  }
  if (n_chan == 0 && otherwise_idx == npos && timer_idx == npos)
    throw_error(status::closed, "select: no case can ever fire (no cases, or only used-up send cases)");

  // 1. The fast pass.
  std::size_t fired = scanned ? npos : try_all(cases, order, n_chan);
  if (fired != npos) return fire(cases, fired);
  if (otherwise_idx != npos) return fire(cases, otherwise_idx);
  if (timer_idx != npos && clock::now() >= timer_at) return fire(cases, timer_idx);

  // 2. Spin (threads only, per wait strategy).
  auto retry = [&] {
    fired = try_all(cases, order, n_chan);
    return fired != npos;
  };
  if (n_chan > 0 && spin_phase(retry, timer_at, nullptr)) return fire(cases, fired);

  // 3. Register, re-check, park, unregister; repeat until a case fires.
  blocking_note note("select", nullptr);
  for (;;) {
    time_point d = timer_at;
    for (std::size_t k = 0; k < n_chan; ++k) d = std::min(d, cases[order[k]]->ready_at());
    waiter w(current_parker());
    for (std::size_t k = 0; k < n_chan; ++k) {
      const std::uint32_t i = order[k];
      entries[i] = waker_entry{&w, i};
      cases[i]->register_entry(entries[i]);
    }
    WEFT_INJECT_YIELD();  // registered in every list, not yet re-checked
    for (std::size_t k = 0; k < n_chan; ++k) {
      if (cases[order[k]]->is_ready(w)) {
        w.abort();
        break;
      }
    }
    const std::uintptr_t s = w.wait_until(d);
    WEFT_INJECT_YIELD();  // the wait ended, entries still registered
    for (std::size_t k = 0; k < n_chan; ++k) cases[order[k]]->unregister_entry(entries[order[k]]);
    if (s >= waiter::selected_base) {
      const std::size_t i = s - waiter::selected_base;
      if (cases[i]->complete_selected(entries[i], w)) return fire(cases, i);
    }
    fired = try_all(cases, order, n_chan);
    if (fired != npos) return fire(cases, fired);
    if (timer_idx != npos && clock::now() >= timer_at) return fire(cases, timer_idx);
  }
}

}  // namespace weft::detail
