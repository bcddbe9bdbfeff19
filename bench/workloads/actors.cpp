// Actor workloads (peer `weft-actor`), on a runtime of 2 workers (this VM's cores; Go's default
// GOMAXPROCS here), with the client or sender as a task on the same runtime:
//   W7 actor_ask   a client task asks an echo actor (reply = value + 1, through ask's one-shot
//                  future), sequentially: 1,000 untimed warm-up asks, then N = 1,000,000 timed
//   W8 actor_tell  one sender task tells a counting actor N = 10,000,000 messages (unbounded
//                  mailbox), then asks it for its tally; the clock stops when that answer is in,
//                  i.e. when the actor has handled every message (FIFO from one sender)
// Checks: every reply; the actor's own count and checksum of what it handled.
#include "runner.hpp"
#include "tasks.hpp"

#include <weft/weft.hpp>

#include <cstdint>
#include <string>

namespace weft_bench {
namespace {

constexpr std::size_t actor_workers = 2;

struct get_tally {};

/// W7's server: echoes value + 1 and keeps a tally of what it saw.
struct echo_server {
  checksum seen;
  std::uint64_t operator()(std::uint64_t v) {
    seen.add(v);
    return v + 1;
  }
  checksum operator()(get_tally) const { return seen; }
};

/// W8's counting actor.
struct counting_actor {
  checksum seen;
  void operator()(std::uint64_t v) { seen.add(v); }
  checksum operator()(get_tally) const { return seen; }
};

std::string describe(const char* what, weft::status s) { return std::string(what) + ": " + weft::to_string(s); }

rep_result run_w7(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  const std::uint64_t warmup = std::min<std::uint64_t>(1'000, n);
  std::int64_t ns = 0;
  std::uint64_t bad = 0;
  std::string err;
  checksum tally;
  {
    weft::runtime_options o{};
    o.workers = actor_workers;
    weft::runtime rt(o);
    weft::actor_ref<echo_server> server = weft::spawn_actor<echo_server>(rt, weft::actor_options{});
    weft::result<void> done = run_task(rt, [&] {
      std::uint64_t v = 0;
      auto ask_once = [&]() -> bool {
        ++v;
        weft::result<std::uint64_t> r = server.ask(std::uint64_t{v}).get();
        if (!r) {
          err = describe("W7 ask", r.code());
          return false;
        }
        bad += *r != v + 1;
        return true;
      };
      bool ok = true;
      for (std::uint64_t i = 0; ok && i < warmup; ++i) ok = ask_once();
      const std::int64_t t0 = now_ns();
      for (std::uint64_t i = 0; ok && i < n; ++i) ok = ask_once();
      ns = now_ns() - t0;
      weft::result<checksum> t = server.ask(get_tally{}).get();
      if (t) {
        tally = *t;
      } else {
        err = describe("W7 tally ask", t.code());
      }
    });
    if (!done) res.fail(describe("W7 client task", done.code()));
    server.stop();
  }
  if (!err.empty()) res.fail(err);
  if (bad != 0) res.fail(mismatch("W7 wrong replies", bad, 0));
  if (!(tally == expected_checksum(1, warmup + n))) res.fail(mismatch("W7 server handled", tally.count, warmup + n) + " (or checksum differs)");
  res.add("ns_per_round_trip", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

rep_result run_w8(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 10'000'000);
  std::int64_t ns = 0;
  std::uint64_t refused = 0;
  std::string err;
  checksum tally;
  {
    weft::runtime_options o{};
    o.workers = actor_workers;
    weft::runtime rt(o);
    weft::actor_ref<counting_actor> counter = weft::spawn_actor<counting_actor>(rt, weft::actor_options{});
    weft::result<void> done = run_task(rt, [&] {
      const std::int64_t t0 = now_ns();
      for (std::uint64_t i = 1; i <= n; ++i) refused += counter.tell(std::uint64_t{i}) != weft::status::ok;
      weft::result<checksum> t = counter.ask(get_tally{}).get();
      ns = now_ns() - t0;
      if (t) {
        tally = *t;
      } else {
        err = describe("W8 tally ask", t.code());
      }
    });
    if (!done) res.fail(describe("W8 sender task", done.code()));
    counter.stop();
  }
  if (!err.empty()) res.fail(err);
  if (refused != 0) res.fail(mismatch("W8 tells not ok", refused, 0));
  if (!(tally == expected_checksum(1, n))) res.fail(mismatch("W8 actor handled", tally.count, n) + " (or checksum differs)");
  res.add("ns_per_msg", static_cast<double>(ns) / static_cast<double>(n));
  return res;
}

}  // namespace

std::vector<workload_case> actor_workloads() {
  return {
      {"W7", peer_actor, run_w7},
      {"W8", peer_actor, run_w8},
  };
}

}  // namespace weft_bench
