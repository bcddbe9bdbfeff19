// trading_pipeline: market-data feed -> strategy -> risk check -> order gateway, four OS threads
// joined by bounded weft channels, each thread in spin mode (never parks: the latency-critical
// setting), pinned to its own core when the machine has enough. A context is the kill switch:
// when the risk stage trips it, every stage stops sending at once, including a stage blocked on
// a full channel. Prints the end-to-end latency of every order (feed timestamp -> gateway) as a
// histogram and counts what was dropped and what had to wait.
//
//   trading_pipeline                       100,000 events at 100,000/s, spin mode
//   trading_pipeline --park                the same with the default wait strategy (spin, then park)
//   trading_pipeline --orders 5000 --kill-at 2000 --rate 50000
//
// Accounting, checked at the end (exit code 1 if it does not add up):
//   sent     = market events the feed emitted; each becomes one order
//   dropped  = events the feed could not queue (the strategy was behind: a stale quote is worth
//              less than none) + orders discarded once the kill switch was on
//   rejected = orders the risk check refused;  accepted = orders the gateway sent out
//   sent == accepted + rejected + dropped, and the histogram holds one sample per accepted order.
#include <weft/chan.hpp>
#include <weft/context.hpp>
#include <weft/histogram.hpp>
#include <weft/wait_strategy.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#  include <pthread.h>
#  include <sched.h>
#endif

namespace {

using clock_type = std::chrono::steady_clock;

struct market_event {  // one top-of-book update
  std::uint64_t seq;
  std::int64_t bid, ask;  // price in ticks
  clock_type::time_point t_feed;  // when the feed saw it: the start of the order's latency
};

enum class side : std::uint8_t { buy, sell };

struct order {
  std::uint64_t id;  // = the market event's seq: gaps show drops
  side s;
  std::int64_t price;
  std::int32_t qty;
  clock_type::time_point t_feed;
};

struct options {
  std::uint64_t orders = 100'000;  // market events the feed emits
  std::uint64_t rate = 100'000;    // events per second
  std::uint64_t kill_at = 0;       // the risk stage trips the kill switch at this order (0: never)
  bool park = false;               // default wait strategy instead of spin
};

// Per-stage counters: each is written by its own stage's thread only and read by main after join().
struct stage_counts {
  std::uint64_t in = 0, out = 0, dropped = 0, blocked = 0, rejected = 0;
};

// ---- threads: wait strategy and pinning --------------------------------------------------------

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
#endif
  return cpus;
}

// Called first thing on every stage thread.
void setup_stage_thread(const options& opt, int cpu) {
  // spin: a blocked send/recv busy-waits on this thread instead of sleeping in the kernel; the
  // wake-up costs no system call and no scheduler latency, but the thread burns its core.
  if (!opt.park) weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
#if defined(__linux__)
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
#else
  (void)cpu;
#endif
}

// Forwards `v` downstream. A full channel is a "blocked" event (the next stage is behind); then
// the send waits, but only until the kill switch: send(v, ctx) returns `cancelled` at once when
// the context is cancelled, and leaves `v` untouched. Returns whether `v` went out.
template <class T>
bool forward(weft::sender<T>& tx, T& v, const weft::context& kill, stage_counts& c) {
  weft::status st = tx.try_send(std::move(v));
  if (st == weft::status::full) {
    ++c.blocked;
    st = tx.send(std::move(v), kill);
  }
  if (st == weft::status::ok) {
    ++c.out;
    return true;
  }
  ++c.dropped;  // cancelled (kill switch) or closed (downstream gone)
  return false;
}

// ---- the four stages ---------------------------------------------------------------------------

// Feed: emits `orders` events at `rate` per second (busy-waiting for each one's time, like a
// thread polling a NIC), never blocking on the strategy: when the channel is full the event is
// dropped. Stops early when the kill switch is on. The sender side closes.
void feed(const options& opt, weft::sender<market_event> tx, const weft::context& kill, stage_counts& c) {
  const auto period = std::chrono::nanoseconds(1'000'000'000 / (opt.rate == 0 ? 1 : opt.rate));
  auto next = clock_type::now();
  std::int64_t mid = 100'000;
  for (std::uint64_t seq = 0; seq < opt.orders; ++seq) {
    if (kill.err() != weft::status::ok) break;  // kill switch: stop emitting
    while (clock_type::now() < next) {
    }
    next += period;
    mid += static_cast<std::int64_t>((seq * 2654435761u) % 7) - 3;  // a deterministic random walk
    market_event ev{seq, mid - 1, mid + 1, clock_type::now()};
    ++c.in;
    if (tx.try_send(std::move(ev)) == weft::status::ok)
      ++c.out;
    else
      ++c.dropped;  // full: the strategy is behind
  }
  tx.close();  // the strategy drains what is queued, then its loop ends
}

// Strategy: one order per event, buying below a moving average and selling above it.
void strategy(weft::receiver<market_event> rx, weft::sender<order> tx, const weft::context& kill,
              stage_counts& c) {
  double avg = 0;
  for (market_event ev : rx) {  // until the feed closed and everything queued was taken
    ++c.in;
    if (kill.err() != weft::status::ok) {
      ++c.dropped;
      continue;
    }
    const double mid = static_cast<double>(ev.bid + ev.ask) / 2;
    avg = avg == 0 ? mid : avg * 0.95 + mid * 0.05;
    const bool buy = mid <= avg;
    order o{ev.seq, buy ? side::buy : side::sell, buy ? ev.ask : ev.bid,
            static_cast<std::int32_t>(1 + (ev.seq * 40503u) % 1000), ev.t_feed};
    forward(tx, o, kill, c);
  }
  tx.close();
}

// Risk: refuses oversized orders and orders that would breach the position limit; at order
// number `kill_at` it trips the kill switch (standing in for a breach that must halt trading).
void risk(const options& opt, weft::receiver<order> rx, weft::sender<order> tx, const weft::context& kill,
          const weft::cancel_fn& trip, stage_counts& c) {
  constexpr std::int32_t max_qty = 950;
  constexpr std::int64_t max_position = 20'000;
  std::int64_t position = 0;
  for (order o : rx) {
    ++c.in;
    if (kill.err() != weft::status::ok) {
      ++c.dropped;
      continue;
    }
    const std::int64_t after = position + (o.s == side::buy ? o.qty : -o.qty);
    if (o.qty > max_qty || after > max_position || after < -max_position) {
      ++c.rejected;
    } else if (forward(tx, o, kill, c)) {
      position = after;
    }
    if (opt.kill_at != 0 && c.in == opt.kill_at) trip();  // every stage sees it from now on
  }
  tx.close();
}

// Gateway: "sends" each order to the exchange (encodes it) and records its latency. Checks that
// orders arrive in the order the feed produced them (FIFO through every channel).
void gateway(weft::receiver<order> rx, const weft::context& kill, weft::histogram& latency,
             stage_counts& c, bool& in_order) {
  std::uint64_t last_id = 0;
  bool first = true;
  char wire[64];
  std::uint64_t checksum = 0;
  for (order o : rx) {
    ++c.in;
    if (kill.err() != weft::status::ok) {
      ++c.dropped;
      continue;
    }
    if (!first && o.id <= last_id) in_order = false;
    first = false;
    last_id = o.id;
    const int n = std::snprintf(wire, sizeof wire, "35=D|11=%llu|54=%d|44=%lld|38=%d|",
                                static_cast<unsigned long long>(o.id), o.s == side::buy ? 1 : 2,
                                static_cast<long long>(o.price), o.qty);
    for (int i = 0; i < n; ++i) checksum += static_cast<unsigned char>(wire[i]);
    latency.record(clock_type::now() - o.t_feed);  // allocation-free
    ++c.out;
  }
  if (checksum == 1) std::puts("");  // keeps the encoding from being optimised away
}

bool parse(int argc, char** argv, options& opt) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto number = [&](std::uint64_t& out) {
      if (i + 1 >= argc) return false;
      out = std::strtoull(argv[++i], nullptr, 10);
      return true;
    };
    if (a == "--park") {
      opt.park = true;
    } else if (a == "--orders" || a == "--rate" || a == "--kill-at") {
      if (!number(a == "--orders" ? opt.orders : a == "--rate" ? opt.rate : opt.kill_at)) return false;
    } else {
      return false;
    }
  }
  return opt.rate > 0;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr, "usage: %s [--orders N] [--rate EVENTS_PER_S] [--kill-at K] [--park]\n", argv[0]);
    return 2;
  }

  // Pin the four stages to cores 1..4 of the allowed set (leaving the first to the OS and main)
  // only when that many are free: allowed CPUs minus the 1-minute load average (other processes'
  // runnable threads). Spinning threads that share cores wait on the OS scheduler's time slices
  // instead, which the latency figures then show.
  constexpr std::size_t stages = 4;
  const std::vector<int> cpus = allowed_cpus();
  double load = 0;
  if (getloadavg(&load, 1) != 1) load = 0;
  const auto busy = static_cast<std::size_t>(std::ceil(load));
  const std::size_t free_cpus = cpus.size() > busy ? cpus.size() - busy : 0;
  const bool pin = cpus.size() >= stages + 1 && free_cpus >= stages;
  auto cpu_for = [&](std::size_t stage) { return pin ? cpus[stage + 1] : -1; };

  // Bounded channels: a stage that falls behind is noticed (full), never buffered without limit.
  weft::chan<market_event> md = weft::make_chan<market_event>(1024);
  weft::chan<order> orders = weft::make_chan<order>(256);
  weft::chan<order> to_gateway = weft::make_chan<order>(256);

  // The kill switch: a cancellable context every stage watches (trip() cancels it).
  std::pair<weft::context, weft::cancel_fn> kill_switch = weft::with_cancel(weft::background());
  const weft::context& kill = kill_switch.first;
  const weft::cancel_fn& trip = kill_switch.second;

  stage_counts fc, sc, rc, gc;
  weft::histogram latency;  // nanoseconds, <= 1% relative error
  bool in_order = true;

  std::vector<std::thread> threads;
  threads.emplace_back([&, tx = std::move(md.tx)]() mutable {
    setup_stage_thread(opt, cpu_for(0));
    feed(opt, std::move(tx), kill, fc);
  });
  threads.emplace_back([&, rx = std::move(md.rx), tx = std::move(orders.tx)]() mutable {
    setup_stage_thread(opt, cpu_for(1));
    strategy(std::move(rx), std::move(tx), kill, sc);
  });
  threads.emplace_back([&, rx = std::move(orders.rx), tx = std::move(to_gateway.tx)]() mutable {
    setup_stage_thread(opt, cpu_for(2));
    risk(opt, std::move(rx), std::move(tx), kill, trip, rc);
  });
  threads.emplace_back([&, rx = std::move(to_gateway.rx)]() mutable {
    setup_stage_thread(opt, cpu_for(3));
    gateway(std::move(rx), kill, latency, gc, in_order);
  });
  for (auto& t : threads) t.join();  // orders every stage's counters before the reads below

  const std::uint64_t sent = fc.in;
  const std::uint64_t accepted = gc.out;
  const std::uint64_t rejected = rc.rejected;
  const std::uint64_t dropped_full = fc.dropped;
  const std::uint64_t dropped_kill = sc.dropped + rc.dropped + gc.dropped;
  const std::uint64_t dropped = dropped_full + dropped_kill;
  const bool killed = kill.err() != weft::status::ok;

  std::printf("trading_pipeline: %llu events at %llu/s, wait strategy %s, %s (%zu CPUs, ~%zu free, for %zu stages)\n",
              static_cast<unsigned long long>(opt.orders), static_cast<unsigned long long>(opt.rate),
              opt.park ? "default (adaptive: spin, then park)" : "spin", pin ? "pinned" : "not pinned",
              cpus.size(), free_cpus, stages);
  std::printf("sent %llu = accepted %llu + rejected %llu + dropped %llu (feed channel full %llu, kill switch %llu)\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(dropped),
              static_cast<unsigned long long>(dropped_full), static_cast<unsigned long long>(dropped_kill));
  std::printf("blocked sends (downstream full): strategy %llu, risk %llu; kill switch %s\n",
              static_cast<unsigned long long>(sc.blocked), static_cast<unsigned long long>(rc.blocked),
              killed ? "TRIPPED" : "off");
  std::printf("%s\n", latency.summary("end-to-end latency, feed -> gateway").c_str());
  if (!opt.park && !pin)
    std::printf("note: spin mode wants a free core per stage; with %zu CPUs (~%zu free) the spinning stages\n"
                "      share cores and wait for the OS to switch them in (latency in time slices). Compare with --park.\n",
                cpus.size(), free_cpus);

  // Self-check: every order is accounted for exactly once.
  bool ok = true;
  auto check = [&](bool cond, const char* what) {
    if (!cond) {
      std::fprintf(stderr, "FAILED: %s\n", what);
      ok = false;
    }
  };
  check(sent == accepted + rejected + dropped, "sent == accepted + rejected + dropped");
  check(latency.count() == accepted, "one latency sample per accepted order");
  check(fc.out == sc.in && sc.out == rc.in && rc.out == gc.in, "no order lost between stages");
  check(in_order, "orders reached the gateway in feed order");
  check(killed ? opt.kill_at != 0 && rc.in >= opt.kill_at : sent == opt.orders,
        "the feed emitted everything unless the kill switch tripped");
  if (opt.kill_at != 0) check(accepted + rejected <= opt.kill_at, "nothing passed risk after the kill switch");
  return ok ? 0 : 1;
}
