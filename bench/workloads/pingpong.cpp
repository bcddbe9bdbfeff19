// Ping-pong latency: a pinger sends v on channel A, a ponger receives it and sends v + 1 back on
// channel B; one round trip = one send and one receive on each side.
//   W3 pingpong_bounded     A and B have capacity 1        weft, weft-spin, weft-fiber (2 workers)
//   W4 pingpong_unbuffered  A and B are rendezvous (cap 0) weft, weft-spin, weft-fiber (2 workers)
//   W5 green_pingpong       as W4, two tasks on ONE worker (weft-fiber only; Go's GOMAXPROCS=1)
// Metrics: ns_per_round_trip over N = 1,000,000 back-to-back round trips (after 1,000 untimed
// warm-up round trips), then p50_ns, p99_ns and p99.9_ns of 100,000 further round trips timed
// one by one (each sample includes two steady_clock reads, about 2 x 20 ns on this VM's TSC).
// Checks: every reply is the value sent plus one; the ponger's count and checksum of all it
// received; the ponger ends on `closed` after the pinger closes A.
#include "runner.hpp"

#include <weft/weft.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace weft_bench {
namespace {

rep_result run_pingpong(const char* id, std::size_t cap, const exec& ex, const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  const std::uint64_t samples = scaled(opt, 100'000, 100);
  const std::uint64_t warmup = std::min<std::uint64_t>(1'000, n);
  const std::uint64_t total = warmup + n + samples;

  auto a = weft::make_chan<std::uint64_t>(cap);  // pinger -> ponger
  auto b = weft::make_chan<std::uint64_t>(cap);  // ponger -> pinger
  std::vector<std::int64_t> lat(samples, 0);
  std::int64_t bulk_ns = 0;
  checksum ponged;
  std::uint64_t bad_replies = 0;
  std::array<std::string, 2> errs{};

  run_concurrently(ex, 2, [&](int who) {
    if (who == 0) {
      std::uint64_t v = 0, bad = 0;
      auto round_trip = [&]() -> bool {
        ++v;
        if (a.tx.send(std::uint64_t{v}) != weft::status::ok) return false;
        weft::result<std::uint64_t> r = b.rx.recv();
        if (!r) return false;
        bad += *r != v + 1;
        return true;
      };
      bool ok = true;
      for (std::uint64_t i = 0; ok && i < warmup; ++i) ok = round_trip();
      const std::int64_t t0 = now_ns();
      for (std::uint64_t i = 0; ok && i < n; ++i) ok = round_trip();
      bulk_ns = now_ns() - t0;
      for (std::uint64_t i = 0; ok && i < samples; ++i) {
        const std::int64_t s = now_ns();
        ok = round_trip();
        lat[i] = now_ns() - s;
      }
      if (!ok) errs[0] = std::string(id) + " pinger: a send or receive did not return ok";
      bad_replies = bad;
      a.tx.close();
    } else {
      checksum c;
      for (;;) {
        weft::result<std::uint64_t> r = a.rx.recv();
        if (!r) {
          if (r.code() != weft::status::closed) errs[1] = std::string(id) + " ponger recv: " + weft::to_string(r.code());
          break;
        }
        c.add(*r);
        if (b.tx.send(*r + 1) != weft::status::ok) {
          errs[1] = std::string(id) + " ponger: send did not return ok";
          break;
        }
      }
      ponged = c;
    }
  }, res);

  for (const auto& e : errs) {
    if (!e.empty()) res.fail(e);
  }
  if (bad_replies != 0) res.fail(mismatch((std::string(id) + " wrong replies").c_str(), bad_replies, 0));
  if (!(ponged == expected_checksum(1, total))) {
    res.fail(mismatch((std::string(id) + " ponger received count").c_str(), ponged.count, total) + " (or checksum differs)");
  }
  res.add("ns_per_round_trip", static_cast<double>(bulk_ns) / static_cast<double>(n));
  res.add("p50_ns", percentile(lat, 50.0));
  res.add("p99_ns", percentile(lat, 99.0));
  res.add("p99.9_ns", percentile(lat, 99.9));
  return res;
}

}  // namespace

std::vector<workload_case> pingpong_workloads() {
  std::vector<workload_case> v;
  const exec threads{exec_kind::threads_adaptive}, spin{exec_kind::threads_spin};
  const exec fibers2{exec_kind::fibers, 2}, fibers1{exec_kind::fibers, 1};
  for (const exec& ex : {threads, spin, fibers2}) {
    v.push_back({"W3", peer_of(ex), [ex](const options& o) { return run_pingpong("W3", 1, ex, o); }});
  }
  for (const exec& ex : {threads, spin, fibers2}) {
    v.push_back({"W4", peer_of(ex), [ex](const options& o) { return run_pingpong("W4", 0, ex, o); }});
  }
  v.push_back({"W5", peer_fiber, [fibers1](const options& o) { return run_pingpong("W5", 0, fibers1, o); }});
  return v;
}

}  // namespace weft_bench
