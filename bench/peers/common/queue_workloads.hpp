// W1, W2, W3/W4 and W10 written once for any queue with blocking push/pop, used by the C++ queue
// peers (Boost.Fiber channels, moodycamel, TBB, atomic_queue). A peer supplies an adapter:
//
//   struct Q {
//     explicit Q(std::size_t capacity);
//     struct producer { explicit producer(Q&); void push(std::uint64_t v); };  // blocks while full
//     struct consumer { explicit consumer(Q&); std::uint64_t pop(); };        // blocks while empty
//     // W10 only: bool pop_for(consumer&, std::chrono::microseconds, std::uint64_t&);
//   };
//
// Per-thread producer/consumer handles let a peer use its per-thread tokens (moodycamel). None
// of these queues has close(), so the ends are signalled in-band with two reserved values that
// data never takes: 0 (data starts at 1) and UINT64_MAX.
//   W1  the consumer knows N and stops after N values.
//   W2  each producer ends with one 0 (a "producer done" marker). All the peers keep FIFO per
//       producer, so when a consumer takes the 4th marker every value has been taken; it then
//       pushes 4 x UINT64_MAX, one per consumer, and each consumer stops at the first it takes.
//       (Correct for queues that are not linearizable across producers, like moodycamel's.)
//   W3  the pinger sends 0 after its last round trip; the ponger stops there.
// The end values travel inside the timed region (8 extra messages in W2's 4,000,000, 1 in W3's
// 1,101,000); they are not counted as messages.
#pragma once

#include "peer.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace peer {

constexpr std::uint64_t end_marker = 0;
constexpr std::uint64_t stop_value = std::numeric_limits<std::uint64_t>::max();

/// Pushes one extra value from a thread that is not one of the workload's producers (W2's stop
/// values). A queue whose bounded push needs a registered producer offers Q::push_extra.
template <class Q>
void push_extra(Q& q, std::uint64_t v) {
  if constexpr (requires { Q::push_extra(q, v); }) {
    Q::push_extra(q, v);
  } else {
    typename Q::producer p(q);
    p.push(v);
  }
}

/// Whether the queue promises FIFO per producer to each consumer (checked in W2 if so). A queue
/// that does not says `static constexpr bool per_producer_fifo = false;`.
template <class Q>
constexpr bool per_producer_fifo() {
  if constexpr (requires { Q::per_producer_fifo; }) {
    return Q::per_producer_fifo;
  } else {
    return true;
  }
}

// ---------------------------------------------------------------- W1
template <class Q>
rep_result run_w1(const options& opt, std::size_t capacity = 1024) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 10'000'000);
  auto q = std::make_unique<Q>(capacity);
  checksum got;
  std::uint64_t bad = 0;
  const std::int64_t ns = run_threads(2, [&](int who) {
    if (who == 0) {
      typename Q::producer p(*q);
      for (std::uint64_t i = 1; i <= n; ++i) p.push(i);
    } else {
      typename Q::consumer c(*q);
      checksum cs;
      std::uint64_t expect = 1, b = 0;
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t v = c.pop();
        b += v != expect;
        expect = v + 1;
        cs.add(v);
      }
      got = cs;
      bad = b;
    }
  }, res);
  if (!(got == expected_checksum(1, n))) res.fail(mismatch("W1 received count", got.count, n) + " (or checksum differs)");
  if (bad != 0) res.fail(mismatch("W1 out-of-order values", bad, 0));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

// ---------------------------------------------------------------- W2
template <class Q>
rep_result run_w2(const options& opt, std::size_t capacity = 1024) {
  rep_result res;
  constexpr int producers = 4, consumers = 4;
  const std::uint64_t n = scaled(opt, 4'000'000, producers, producers);
  const std::uint64_t per = n / producers;
  auto q = std::make_unique<Q>(capacity);
  std::array<checksum, consumers> got{};
  std::array<std::uint64_t, consumers> bad{}, stops{};
  std::atomic<int> markers{0};
  const std::int64_t ns = run_threads(producers + consumers, [&](int who) {
    if (who < producers) {
      typename Q::producer p(*q);
      for (std::uint64_t s = 1; s <= per; ++s) p.push(tag(static_cast<std::uint64_t>(who), s));
      p.push(end_marker);
      return;
    }
    const auto k = static_cast<std::size_t>(who - producers);
    typename Q::consumer c(*q);
    checksum cs;
    order_check<producers> oc;
    for (;;) {
      const std::uint64_t v = c.pop();
      if (v == stop_value) {
        ++stops[k];
        break;
      }
      if (v == end_marker) {
        // acq_rel: the consumer taking the last marker pushes the stops after every marker.
        if (markers.fetch_add(1, std::memory_order_acq_rel) + 1 == producers) {
          for (int i = 0; i < consumers; ++i) push_extra(*q, stop_value);
        }
        continue;
      }
      oc.see(v);
      cs.add(v);
    }
    got[k] = cs;
    bad[k] = oc.bad;
  }, res);
  constexpr bool fifo = per_producer_fifo<Q>();
  checksum all;
  std::uint64_t order_bad = 0, stop_count = 0;
  for (std::size_t i = 0; i < consumers; ++i) {
    all.merge(got[i]);
    order_bad += bad[i];
    stop_count += stops[i];
  }
  if (!(all == expected_tagged(producers, per))) res.fail(mismatch("W2 received count", all.count, n) + " (or checksum differs)");
  if (order_bad != 0 && fifo) res.fail(mismatch("W2 per-producer order violations", order_bad, 0));
  if (order_bad != 0 && !fifo) {
    std::fprintf(stderr, "note: W2: %llu values arrived out of per-producer order (this queue does not promise that order)\n",
                 static_cast<unsigned long long>(order_bad));
  }
  if (stop_count != consumers) res.fail(mismatch("W2 stop values taken", stop_count, consumers));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

// ---------------------------------------------------------------- W3 / W4
/// Ping-pong as weft's runner: 1,000 untimed warm-up round trips, N timed back to back, then
/// 100,000 timed one by one for the percentiles. `exec` runs the two sides (default: two OS
/// threads; Boost.Fiber's W5 passes two fibers on one thread).
using executor = std::function<std::int64_t(int, const std::function<void(int)>&, rep_result&)>;
template <class Q>
rep_result run_pingpong(const char* id, const options& opt, std::size_t capacity,
                        const executor& exec = run_threads) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  const std::uint64_t samples = scaled(opt, 100'000, 100);
  const std::uint64_t warmup = std::min<std::uint64_t>(1'000, n);
  const std::uint64_t total = warmup + n + samples;
  auto a = std::make_unique<Q>(capacity);  // pinger -> ponger
  auto b = std::make_unique<Q>(capacity);  // ponger -> pinger
  std::vector<std::int64_t> lat(samples, 0);
  std::int64_t bulk_ns = 0;
  checksum ponged;
  std::uint64_t bad_replies = 0;
  exec(2, [&](int who) {
    if (who == 0) {
      typename Q::producer tx(*a);
      typename Q::consumer rx(*b);
      std::uint64_t v = 0, bad = 0;
      auto round_trip = [&] {
        ++v;
        tx.push(v);
        bad += rx.pop() != v + 1;
      };
      for (std::uint64_t i = 0; i < warmup; ++i) round_trip();
      const std::int64_t t0 = now_ns();
      for (std::uint64_t i = 0; i < n; ++i) round_trip();
      bulk_ns = now_ns() - t0;
      for (std::uint64_t i = 0; i < samples; ++i) {
        const std::int64_t s = now_ns();
        round_trip();
        lat[i] = now_ns() - s;
      }
      tx.push(end_marker);
      bad_replies = bad;
    } else {
      typename Q::consumer rx(*a);
      typename Q::producer tx(*b);
      checksum c;
      for (;;) {
        const std::uint64_t v = rx.pop();
        if (v == end_marker) break;
        c.add(v);
        tx.push(v + 1);
      }
      ponged = c;
    }
  }, res);
  if (bad_replies != 0) res.fail(mismatch(std::string(id) + " wrong replies", bad_replies, 0));
  if (!(ponged == expected_checksum(1, total))) {
    res.fail(mismatch(std::string(id) + " ponger received count", ponged.count, total) + " (or checksum differs)");
  }
  res.add("ns_per_round_trip", static_cast<double>(bulk_ns) / static_cast<double>(n));
  res.add("p50_ns", percentile(lat, 50.0));
  res.add("p99_ns", percentile(lat, 99.0));
  res.add("p99.9_ns", percentile(lat, 99.9));
  return res;
}

// ---------------------------------------------------------------- W10
/// A timed receive of 50 us on an empty queue, 20,000 times; checks as weft's: every call timed
/// out, none before its deadline.
template <class Q>
rep_result run_w10(const options& opt) {
  using namespace std::chrono_literals;
  constexpr auto timeout = 50us;
  constexpr std::int64_t timeout_ns = std::chrono::nanoseconds(timeout).count();
  rep_result res;
  const std::uint64_t n = scaled(opt, 20'000, 10);
  auto q = std::make_unique<Q>(1);
  std::vector<std::int64_t> over(n, 0);
  std::uint64_t got_value = 0, early = 0;
  run_threads(1, [&](int) {
    typename Q::consumer c(*q);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t v = 0;
      const std::int64_t t0 = now_ns();
      const bool got = Q::pop_for(c, timeout, v);
      const std::int64_t waited = now_ns() - t0;
      got_value += got;
      early += waited < timeout_ns;
      over[i] = waited - timeout_ns;
    }
  }, res);
  if (got_value != 0) res.fail(mismatch("W10 timed receives that returned a value", got_value, 0));
  if (early != 0) res.fail(mismatch("W10 calls that returned before their deadline", early, 0));
  res.add("median_overshoot_us", percentile(over, 50.0) / 1000.0);
  res.add("p99_overshoot_us", percentile(over, 99.0) / 1000.0);
  return res;
}

}  // namespace peer
