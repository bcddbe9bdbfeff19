// Peer `caf`: the C++ Actor Framework 0.17.6 (Debian libcaf-dev), event-based actors on CAF's
// work-stealing scheduler with 2 threads (as weft-actor's 2-worker runtime), a fresh
// actor_system per repetition.
//   W7  a client actor request()s an echo server (reply = value + 1) and sends the next request
//       from the response handler: CAF's request/response is its one-shot reply. 1,000 untimed
//       warm-up requests, then N timed; then the server's own tally is requested.
//   W8  a sender actor send()s N values to a counting actor (unbounded mailbox), then requests
//       its tally; the clock stops when the tally is in (FIFO from one sender: all handled).
//   W9  N event-based actors spawned from the main thread (handles kept), each waits for one
//       message; ns_per_spawn = from the first spawn until every actor has run its
//       initialisation (CAF launches an actor on its scheduler after spawn returns), RSS as weft.
//       One message each releases them (each then quits).
//   W1-W6, W10 (channels, select, timeouts): not offered.
// https://actor-framework.readthedocs.io/en/0.17.6/ (Actors, "Requests")
#include "common/peer.hpp"

#include <caf/all.hpp>

#include <future>
#include <memory>

namespace {

using namespace peer;

using tally_atom = caf::atom_constant<caf::atom("tally")>;

caf::actor_system_config& config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    c.set("scheduler.max-threads", 2);
    return c;
  }();
  return cfg;
}

caf::message tally_message(const checksum& c) { return caf::make_message(c.count, c.sum, c.xor_mix); }

caf::behavior echo_server(caf::event_based_actor*, std::shared_ptr<checksum> seen) {
  return {
      [seen](std::uint64_t v) -> std::uint64_t {
        seen->add(v);
        return v + 1;
      },
      [seen](tally_atom) { return tally_message(*seen); },
  };
}

caf::behavior counting_actor(caf::event_based_actor*, std::shared_ptr<checksum> seen) {
  return {
      [seen](std::uint64_t v) { seen->add(v); },
      [seen](tally_atom) { return tally_message(*seen); },
  };
}

/// What a client/sender actor reports to the main thread.
struct outcome {
  std::uint64_t n = 0, warmup = 0, v = 0, bad = 0;
  std::int64_t t0 = 0, ns = 0;
  checksum tally;
  std::string error;
  std::promise<void> done;
};

void on_tally(const std::shared_ptr<outcome>& s, std::uint64_t count, std::uint64_t sum, std::uint64_t x) {
  s->tally.count = count;
  s->tally.sum = sum;
  s->tally.xor_mix = x;
}

void ask_next(caf::event_based_actor* self, const caf::actor& server, const std::shared_ptr<outcome>& s) {
  const std::uint64_t v = ++s->v;
  self->request(server, caf::infinite, v)
      .then(
          [self, server, s, v](std::uint64_t r) {
            s->bad += r != v + 1;
            if (v == s->warmup) s->t0 = now_ns();
            if (v < s->warmup + s->n) {
              ask_next(self, server, s);
              return;
            }
            s->ns = now_ns() - s->t0;
            self->request(server, caf::infinite, tally_atom::value)
                .then(
                    [self, s](std::uint64_t c, std::uint64_t sum, std::uint64_t x) {
                      on_tally(s, c, sum, x);
                      s->done.set_value();
                      self->quit();
                    },
                    [self, s](caf::error& e) {
                      s->error = "W7 tally request: " + caf::to_string(e);
                      s->done.set_value();
                      self->quit();
                    });
          },
          [self, s](caf::error& e) {
            s->error = "W7 request: " + caf::to_string(e);
            s->done.set_value();
            self->quit();
          });
}

// The client and sender actors take their state as spawn arguments rather than as lambda
// captures: CAF 0.17's init_fun_factory dereferences a null shared_ptr<tuple<>> for an actor
// function without arguments (UBSan reports it), harmless but noisy.
caf::behavior w7_client(caf::event_based_actor* self, caf::actor server, std::shared_ptr<outcome> s) {
  if (s->warmup == 0) s->t0 = now_ns();
  ask_next(self, server, s);
  return {[](std::uint64_t) {}};
}

caf::behavior w8_sender(caf::event_based_actor* self, caf::actor counter, std::shared_ptr<outcome> s) {
  s->t0 = now_ns();
  for (std::uint64_t i = 1; i <= s->n; ++i) self->send(counter, i);
  self->request(counter, caf::infinite, tally_atom::value)
      .then(
          [self, s](std::uint64_t c, std::uint64_t sum, std::uint64_t x) {
            s->ns = now_ns() - s->t0;
            on_tally(s, c, sum, x);
            s->done.set_value();
            self->quit();
          },
          [self, s](caf::error& e) {
            s->error = "W8 tally request: " + caf::to_string(e);
            s->done.set_value();
            self->quit();
          });
  return {[](std::uint64_t) {}};
}

rep_result run_w7(const options& opt) {
  rep_result res;
  auto s = std::make_shared<outcome>();
  s->n = scaled(opt, 1'000'000);
  s->warmup = std::min<std::uint64_t>(1'000, s->n);
  auto seen = std::make_shared<checksum>();
  {
    caf::actor_system sys{config()};
    caf::actor server = sys.spawn(echo_server, seen);
    auto finished = s->done.get_future();
    sys.spawn(w7_client, server, s);
    finished.wait();
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  }  // ~actor_system waits for every actor
  if (!s->error.empty()) res.fail(s->error);
  if (s->bad != 0) res.fail(mismatch("W7 wrong replies", s->bad, 0));
  if (!(s->tally == expected_checksum(1, s->warmup + s->n))) {
    res.fail(mismatch("W7 server handled", s->tally.count, s->warmup + s->n) + " (or checksum differs)");
  }
  res.add("ns_per_round_trip", static_cast<double>(s->ns) / static_cast<double>(s->n));
  return res;
}

rep_result run_w8(const options& opt) {
  rep_result res;
  auto s = std::make_shared<outcome>();
  s->n = scaled(opt, 10'000'000);
  auto seen = std::make_shared<checksum>();
  {
    caf::actor_system sys{config()};
    caf::actor counter = sys.spawn(counting_actor, seen);
    auto finished = s->done.get_future();
    sys.spawn(w8_sender, counter, s);
    finished.wait();
    caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  }
  if (!s->error.empty()) res.fail(s->error);
  if (!(s->tally == expected_checksum(1, s->n))) res.fail(mismatch("W8 actor handled", s->tally.count, s->n) + " (or checksum differs)");
  res.add("ns_per_msg", static_cast<double>(s->ns) / static_cast<double>(s->n));
  return res;
}

caf::behavior idle_actor(caf::event_based_actor* self, std::atomic<std::uint64_t>* initialised,
                         std::atomic<std::uint64_t>* handled) {
  // relaxed: progress counters polled by the main thread; ~actor_system orders the final reads.
  initialised->fetch_add(1, std::memory_order_relaxed);
  return {
      [self, handled](std::uint64_t) {
        handled->fetch_add(1, std::memory_order_relaxed);  // relaxed: as above
        self->quit();
      },
  };
}

template <class Pred>
bool wait_for_condition(Pred pred, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const std::int64_t end = now_ns() + std::chrono::nanoseconds(limit).count();
  while (!pred()) {
    if (now_ns() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

rep_result run_w9(const options& opt) {
  rep_result res;
  const std::uint64_t n = scaled(opt, 1'000'000);
  std::atomic<std::uint64_t> initialised{0}, handled{0};
  std::int64_t ns = 0;
  double rss = 0;
  {
    caf::actor_system sys{config()};
    std::vector<caf::actor> refs;
    refs.reserve(n);
    if (!reset_peak_rss()) std::fprintf(stderr, "caf: W9: cannot reset the peak RSS; figure is an upper bound\n");
    const std::size_t base = current_rss_bytes();
    const std::int64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < n; ++i) refs.push_back(sys.spawn(idle_actor, &initialised, &handled));
    const bool idle = wait_for_condition([&] { return initialised.load(std::memory_order_relaxed) >= n; });
    ns = now_ns() - t0;
    rss = per_unit(peak_rss_bytes(), base, n);
    if (!idle) res.fail(mismatch("W9 actors initialised after 120 s", initialised.load(), n));
    for (auto& r : refs) caf::anon_send(r, std::uint64_t{1});
    if (!wait_for_condition([&] { return handled.load(std::memory_order_relaxed) >= n; })) {
      res.fail(mismatch("W9 actors that handled their message after 120 s", handled.load(), n));
    }
    refs.clear();
  }
  if (handled.load(std::memory_order_relaxed) != n) res.fail(mismatch("W9 actors released", handled.load(), n));
  res.add("ns_per_spawn", static_cast<double>(ns) / static_cast<double>(n));
  res.add("peak_rss_bytes_per_unit", rss);
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  return peer::main("caf", argc, argv,
                    {
                        {"W7", run_w7},
                        {"W8", run_w8},
                        {"W9", run_w9},
                    });
}
