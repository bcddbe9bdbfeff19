// Throughput workloads on bounded channels (cap 1024), message = std::uint64_t:
//   W1 spsc_bounded  1 producer, 1 consumer, blocking send/recv, 10,000,000 messages
//   W2 mpmc_bounded  4 producers, 4 consumers (8 threads on this 2-core VM), 4,000,000 in all
//   W6 select4       4 producers, each to its own channel; 1 consumer selects over the 4;
//                    4,000,000 in all
// Variants: weft and weft-spin (OS threads); W6 also weft-fiber (5 tasks on 2 workers).
// Checks: count and checksum of everything received, and per-sender FIFO order as seen by each
// consumer (the contract's linearizable FIFO implies it).
#include "runner.hpp"

#include <weft/weft.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace weft_bench {
namespace {

constexpr std::size_t capacity = 1024;

// Values from producer p carry p in the top bits and a sequence number 1, 2, ... below.
constexpr unsigned producer_shift = 48;
constexpr std::uint64_t seq_mask = (std::uint64_t{1} << producer_shift) - 1;
constexpr std::uint64_t tag(std::uint64_t producer, std::uint64_t seq) {
  return (producer << producer_shift) | seq;
}

checksum expected_tagged(std::uint64_t producers, std::uint64_t per_producer) {
  checksum c;
  for (std::uint64_t p = 0; p < producers; ++p) {
    for (std::uint64_t s = 1; s <= per_producer; ++s) c.add(tag(p, s));
  }
  return c;
}

// ---------------------------------------------------------------- W1
rep_result run_w1(const exec& ex, const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 10'000'000);
  auto ch = weft::make_chan<std::uint64_t>(capacity);
  weft::sender<std::uint64_t>& tx = ch.tx;  // not a structured binding: clang 14 cannot capture one
  weft::receiver<std::uint64_t>& rx = ch.rx;
  checksum got;
  std::uint64_t out_of_order = 0;
  std::array<std::string, 2> errs{};  // one slot per body: no shared writes
  const std::int64_t ns = run_concurrently(ex, 2, [&](int who) {
    if (who == 0) {
      for (std::uint64_t i = 1; i <= n; ++i) {
        if (tx.send(std::uint64_t{i}) != weft::status::ok) {
          errs[0] = "W1 send failed";
          break;
        }
      }
      tx.close();
    } else {
      checksum c;
      std::uint64_t expect = 1, bad = 0;
      for (;;) {
        weft::result<std::uint64_t> r = rx.recv();
        if (!r) {
          if (r.code() != weft::status::closed) errs[1] = std::string("W1 recv: ") + weft::to_string(r.code());
          break;
        }
        bad += *r != expect;
        expect = *r + 1;
        c.add(*r);
      }
      got = c;
      out_of_order = bad;
    }
  }, res);
  for (const auto& e : errs) {
    if (!e.empty()) res.fail(e);
  }
  if (!(got == expected_checksum(1, n))) res.fail(mismatch("W1 received count", got.count, n) + " (or checksum differs)");
  if (out_of_order != 0) res.fail(mismatch("W1 out-of-order values", out_of_order, 0));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

// ---------------------------------------------------------------- W2
rep_result run_w2(const exec& ex, const options& opt) {
  rep_result res;
  constexpr int producers = 4, consumers = 4;
  const std::uint64_t n = scaled(opt, 4'000'000, producers, producers);
  const std::uint64_t per_producer = n / producers;
  auto ch = weft::make_chan<std::uint64_t>(capacity);
  weft::sender<std::uint64_t>& tx = ch.tx;  // not a structured binding: clang 14 cannot capture one
  weft::receiver<std::uint64_t>& rx = ch.rx;
  std::array<checksum, consumers> got{};
  std::array<std::uint64_t, consumers> out_of_order{};
  std::array<std::string, producers + consumers> errs{};
  std::atomic<int> producers_left{producers};
  const std::int64_t ns = run_concurrently(ex, producers + consumers, [&](int who) {
    const auto k = static_cast<std::size_t>(who);
    if (who < producers) {
      weft::sender<std::uint64_t> my_tx = tx;  // each producer its own handle
      for (std::uint64_t s = 1; s <= per_producer; ++s) {
        if (my_tx.send(tag(k, s)) != weft::status::ok) {
          errs[k] = "W2 send failed";
          break;
        }
      }
      // acq_rel: the last producer out closes; its close must follow every producer's sends.
      if (producers_left.fetch_sub(1, std::memory_order_acq_rel) == 1) my_tx.close();
    } else {
      weft::receiver<std::uint64_t> my_rx = rx;
      checksum c;
      std::array<std::uint64_t, producers> last{};
      std::uint64_t bad = 0;
      for (;;) {
        weft::result<std::uint64_t> r = my_rx.recv();
        if (!r) {
          if (r.code() != weft::status::closed) errs[k] = std::string("W2 recv: ") + weft::to_string(r.code());
          break;
        }
        const std::uint64_t p = *r >> producer_shift, s = *r & seq_mask;
        if (p >= producers || s <= last[p]) {
          ++bad;
        } else {
          last[p] = s;
        }
        c.add(*r);
      }
      got[k - producers] = c;
      out_of_order[k - producers] = bad;
    }
  }, res);
  for (const auto& e : errs) {
    if (!e.empty()) res.fail(e);
  }
  checksum all;
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < consumers; ++i) {
    all.merge(got[i]);
    bad += out_of_order[i];
  }
  if (!(all == expected_tagged(producers, per_producer))) res.fail(mismatch("W2 received count", all.count, n) + " (or checksum differs)");
  if (bad != 0) res.fail(mismatch("W2 per-producer order violations", bad, 0));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

// ---------------------------------------------------------------- W6
rep_result run_w6(const exec& ex, const options& opt) {
  rep_result res;
  constexpr int producers = 4;
  const std::uint64_t n = scaled(opt, 4'000'000, producers, producers);
  const std::uint64_t per_producer = n / producers;
  // The channels (and so a sender of each) live until every body has ended: a channel never
  // closes during the run, so the consumer's select never sees `closed` (that would be a bug).
  std::vector<weft::chan<std::uint64_t>> ch;
  for (int i = 0; i < producers; ++i) ch.push_back(weft::make_chan<std::uint64_t>(capacity));
  checksum got;
  std::uint64_t bad = 0;
  std::array<std::string, producers + 1> errs{};
  const std::int64_t ns = run_concurrently(ex, producers + 1, [&](int who) {
    const auto k = static_cast<std::size_t>(who);
    if (who < producers) {
      weft::sender<std::uint64_t>& tx = ch[k].tx;
      for (std::uint64_t s = 1; s <= per_producer; ++s) {
        if (tx.send(tag(k, s)) != weft::status::ok) {
          errs[k] = "W6 send failed";
          break;
        }
      }
      return;
    }
    checksum c;
    std::array<std::uint64_t, producers> last{};
    std::uint64_t order_bad = 0, non_ok = 0;
    auto take = [&](std::size_t p, weft::result<std::uint64_t>&& r) {
      if (!r) {
        ++non_ok;
        return;
      }
      const std::uint64_t s = *r & seq_mask;
      if ((*r >> producer_shift) != p || s <= last[p]) {
        ++order_bad;
      } else {
        last[p] = s;
      }
      c.add(*r);
    };
    while (c.count < n && non_ok == 0) {
      weft::select(
          weft::on_recv(ch[0].rx, [&](weft::result<std::uint64_t>&& r) { take(0, std::move(r)); }),
          weft::on_recv(ch[1].rx, [&](weft::result<std::uint64_t>&& r) { take(1, std::move(r)); }),
          weft::on_recv(ch[2].rx, [&](weft::result<std::uint64_t>&& r) { take(2, std::move(r)); }),
          weft::on_recv(ch[3].rx, [&](weft::result<std::uint64_t>&& r) { take(3, std::move(r)); }));
    }
    if (non_ok != 0) errs[k] = "W6 select delivered a non-ok receive on a channel that stays open";
    got = c;
    bad = order_bad;
  }, res);
  for (const auto& e : errs) {
    if (!e.empty()) res.fail(e);
  }
  if (!(got == expected_tagged(producers, per_producer))) res.fail(mismatch("W6 received count", got.count, n) + " (or checksum differs)");
  if (bad != 0) res.fail(mismatch("W6 per-channel order violations", bad, 0));
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

}  // namespace

std::vector<workload_case> throughput_workloads() {
  std::vector<workload_case> v;
  const exec threads{exec_kind::threads_adaptive}, spin{exec_kind::threads_spin};
  const exec fibers{exec_kind::fibers, 2};
  for (const exec& ex : {threads, spin}) {
    v.push_back({"W1", peer_of(ex), [ex](const options& o) { return run_w1(ex, o); }});
    v.push_back({"W2", peer_of(ex), [ex](const options& o) { return run_w2(ex, o); }});
  }
  for (const exec& ex : {threads, spin, fibers}) {
    v.push_back({"W6", peer_of(ex), [ex](const options& o) { return run_w6(ex, o); }});
  }
  return v;
}

}  // namespace weft_bench
