// W10 timeout_overshoot: recv_for(50 us) on an empty, open channel, 20,000 times in a row on one
// thread. Overshoot = time from the call until it returned, minus 50 us.
// Metrics: median_overshoot_us, p99_overshoot_us. Variants: weft (adaptive: parks on a futex
// with a deadline, a short final spin for deadlines under 100 us) and weft-spin (busy-waits to
// the deadline).
// Checks: every call returns `timeout`, none returns before its deadline (that would break the
// contract's "deadline passed"), and the channel is still empty and open afterwards.
#include "runner.hpp"

#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace weft_bench {
namespace {

rep_result run_w10(const exec& ex, const options& opt) {
  using namespace std::chrono_literals;
  constexpr auto timeout = 50us;
  constexpr std::int64_t timeout_ns = std::chrono::nanoseconds(timeout).count();
  rep_result res;
  const std::uint64_t n = scaled(opt, 20'000, 10);
  auto ch = weft::make_chan<std::uint64_t>(1);
  weft::sender<std::uint64_t>& tx = ch.tx;  // not a structured binding: clang 14 cannot capture one
  weft::receiver<std::uint64_t>& rx = ch.rx;
  std::vector<std::int64_t> over(n, 0);
  std::uint64_t not_timeout = 0, early = 0;
  run_one(ex, [&] {
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::int64_t t0 = now_ns();
      weft::result<std::uint64_t> r = rx.recv_for(timeout);
      const std::int64_t waited = now_ns() - t0;
      not_timeout += r.code() != weft::status::timeout;
      early += waited < timeout_ns;
      over[i] = waited - timeout_ns;
    }
  }, res);
  if (not_timeout != 0) res.fail(mismatch("W10 calls that did not return timeout", not_timeout, 0));
  if (early != 0) res.fail(mismatch("W10 calls that returned before their deadline", early, 0));
  if (rx.try_recv().code() != weft::status::empty || tx.is_closed()) res.fail("W10 channel not empty and open afterwards");
  res.add("median_overshoot_us", percentile(over, 50.0) / 1000.0);
  res.add("p99_overshoot_us", percentile(over, 99.0) / 1000.0);
  return res;
}

}  // namespace

std::vector<workload_case> timeout_workloads() {
  std::vector<workload_case> v;
  for (const exec& ex : {exec{exec_kind::threads_adaptive}, exec{exec_kind::threads_spin}}) {
    v.push_back({"W10", peer_of(ex), [ex](const options& o) { return run_w10(ex, o); }});
  }
  return v;
}

}  // namespace weft_bench
