// w3floor: what W3's shape (two threads, two cap-1 rings, spin waits) costs on this machine with
// no channel around it: L0 next to minimal bounded rings that differ only in how a position is
// claimed. Each variant is a Vyukov-style ring of per-slot stamps (the slot's value and stamp
// share one line, head and tail have lines of their own), spinning with one `pause` per poll,
// as weft-spin does. The figures bound what any channel with that claim can reach here.
//   w3floor [N=1000000] [REPS=7] [VARIANTS=all]     (VARIANTS: comma-separated; l0 always runs)
//   w3floor st                                      (built with weft: one thread, code cost only)
// Variants (ns per round trip, median over REPS, each rep runs every variant in turn):
//   l0        one word bounced (the runner's L0)
//   cas       peek the slot's stamp, then claim with a CAS on tail / head (weft's bounded ring)
//   cas-nopw  as cas without the prefetchw before each poll
//   first     claim first with fetch_add, then wait for the slot (atomic_queue's MPMC order)
//   plain     peek, then claim with a plain store (single producer, single consumer only)
// Built with -DW3FLOOR_WEFT and weft's include paths and libraries (README.md), also:
//   bare      weft's bounded_chan itself: try_send, recv_peek + try_recv in a bare spin loop
//   weft      weft's channels: tx.send / rx.recv, both threads in spin mode (weft-spin W3)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#ifdef W3FLOOR_WEFT
#include <weft/weft.hpp>
#endif

namespace {

constexpr std::size_t line = 128;

inline void relax() { __builtin_ia32_pause(); }
inline void prefetchw(const void* p) { asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p))); }

enum class claim { cas, cas_nopw, first, plain };

// One-slot ring (W3's capacity). Stamps: free for position p holds 2p, full holds 2p + 1.
struct alignas(line) ring {
  struct alignas(line) slot_t {
    std::atomic<std::uint64_t> stamp{0};
    std::uint64_t value = 0;
  } slot;
  alignas(line) std::atomic<std::uint64_t> tail{0};
  alignas(line) std::atomic<std::uint64_t> head{0};
};

template <claim C>
inline void send(ring& r, std::uint64_t v) {
  std::uint64_t t;
  if constexpr (C == claim::first) {
    t = r.tail.fetch_add(1, std::memory_order_relaxed);  // the slot's stamp orders the value
    while (r.slot.stamp.load(std::memory_order_acquire) != 2 * t) relax();
  } else {
    for (;;) {
      t = r.tail.load(std::memory_order_relaxed);
      if constexpr (C != claim::cas_nopw) prefetchw(&r.slot);
      if (r.slot.stamp.load(std::memory_order_acquire) == 2 * t) {
        if constexpr (C == claim::plain) {
          r.tail.store(t + 1, std::memory_order_relaxed);
          break;
        } else if (r.tail.compare_exchange_weak(t, t + 1, std::memory_order_relaxed)) {
          break;
        }
      } else {
        relax();
      }
    }
  }
  r.slot.value = v;
  r.slot.stamp.store(2 * t + 1, std::memory_order_release);
}

template <claim C>
inline std::uint64_t recv(ring& r) {
  std::uint64_t h;
  if constexpr (C == claim::first) {
    h = r.head.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      prefetchw(&r.slot);
      if (r.slot.stamp.load(std::memory_order_acquire) == 2 * h + 1) break;
      relax();
    }
  } else {
    for (;;) {
      h = r.head.load(std::memory_order_relaxed);
      if constexpr (C != claim::cas_nopw) prefetchw(&r.slot);
      if (r.slot.stamp.load(std::memory_order_acquire) == 2 * h + 1) {
        if constexpr (C == claim::plain) {
          r.head.store(h + 1, std::memory_order_relaxed);
          break;
        } else if (r.head.compare_exchange_weak(h, h + 1, std::memory_order_relaxed)) {
          break;
        }
      } else {
        relax();
      }
    }
  }
  const std::uint64_t v = r.slot.value;
  r.slot.stamp.store(2 * (h + 1), std::memory_order_release);  // cap 1: free for h + 1
  return v;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Both ends on threads of their own: the caller's frame (the rings' handles, read by both) is
// then written by nobody while they run. With the pinger on the main thread its locals would
// share lines with what the ponger reads (weft's handles: +40 ns per round trip).
template <class Ping, class Pong>
double two_threads(std::uint64_t n, Ping&& ping, Pong&& pong) {
  std::int64_t ns = 0;
  std::thread b([&] { pong(); });
  std::thread a([&] {
    const std::int64_t t0 = now_ns();
    ping();
    const std::int64_t t1 = now_ns();
    ns = t1 - t0;
  });
  a.join();
  b.join();
  return static_cast<double>(ns) / static_cast<double>(n);
}

void check_sum(const char* what, std::uint64_t sum, std::uint64_t n) {
  if (sum != n * (n + 1) / 2) {
    std::fprintf(stderr, "%s: checksum mismatch\n", what);
    std::exit(1);
  }
}

template <claim C>
double run_ring(std::uint64_t n) {
  auto a = std::make_unique<ring>();
  auto b = std::make_unique<ring>();
  std::uint64_t sum = 0;
  const double ns = two_threads(
      n,
      [&] {
        std::uint64_t local = 0;  // not `sum`: the ponger reads the lines around it
        for (std::uint64_t i = 0; i < n; ++i) {
          send<C>(*a, i);
          local += recv<C>(*b);
        }
        sum = local;
      },
      [&] {
        for (std::uint64_t i = 0; i < n; ++i) send<C>(*b, recv<C>(*a) + 1);
      });
  check_sum("ring", sum, n);
  return ns;
}

double run_l0(std::uint64_t n) {
  struct alignas(line) word_t {
    std::atomic<std::uint64_t> v{0};
  };
  auto word = std::make_unique<word_t>();
  std::atomic<std::uint64_t>& w = word->v;
  return two_threads(
      n,
      [&] {
        for (std::uint64_t i = 0; i < n; ++i) {
          w.store(2 * i + 1, std::memory_order_release);
          while (w.load(std::memory_order_acquire) != 2 * i + 2) relax();
        }
      },
      [&] {
        for (std::uint64_t i = 0; i < n; ++i) {
          while (w.load(std::memory_order_acquire) != 2 * i + 1) relax();
          w.store(2 * i + 2, std::memory_order_release);
        }
      });
}

#ifdef W3FLOOR_WEFT
// weft's channels in the same loop (cap 1, both threads in spin mode): the gap to `cas` is what
// the channel's code adds to the ring's protocol.
double run_weft(std::uint64_t n) {
  auto a = weft::make_chan<std::uint64_t>(1);
  auto b = weft::make_chan<std::uint64_t>(1);
  std::uint64_t sum = 0;
  const double ns = two_threads(
      n,
      [&] {
        weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
        std::uint64_t local = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
          (void)a.tx.send(std::uint64_t{i});
          local += *b.rx.recv();
        }
        sum = local;
      },
      [&] {
        weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
        for (std::uint64_t i = 0; i < n; ++i) (void)b.tx.send(*a.rx.recv() + 1);
      });
  check_sum("weft", sum, n);
  return ns;
}

// bounded_chan's own try_send / recv_peek / try_recv in a bare spin loop: the gap to `cas` is
// the ring's code, the gap to `weft` the blocking layers around it (ring_recv, wait_for_ring).
// Take: receive with try_take_head instead (the spin-mode receive's look, bare-take): the gap to
// `cas` is then the send's code and the look's.
template <bool Take>
double run_bare(std::uint64_t n) {
  using ring_t = weft::detail::bounded_chan<std::uint64_t>;
  auto a = std::make_unique<ring_t>(1);
  auto b = std::make_unique<ring_t>(1);
  auto send = [](ring_t& c, std::uint64_t v) {
    while (c.try_send(v) != weft::status::ok) relax();
  };
  auto recv = [](ring_t& c) -> std::uint64_t {
    for (;;) {
      if constexpr (Take) {
        weft::result<std::uint64_t> r = c.try_take_head();
        if (r) return *r;
      } else if (c.recv_peek()) {
        weft::result<std::uint64_t> r = c.try_recv();
        if (r) return *r;
      }
      relax();
    }
  };
  std::uint64_t sum = 0;
  const double ns = two_threads(
      n,
      [&] {
        std::uint64_t local = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
          send(*a, i);
          local += recv(*b);
        }
        sum = local;
      },
      [&] {
        for (std::uint64_t i = 0; i < n; ++i) send(*b, recv(*a) + 1);
      });
  check_sum(Take ? "bare-take" : "bare", sum, n);
  return ns;
}
#endif

}  // namespace

#ifdef W3FLOOR_WEFT
// One thread, send then receive on one ring: the code's own cost per pair, no line moving.
void single_thread(std::uint64_t n) {
  auto time = [&](const char* name, auto&& pair) {
    std::vector<double> t;
    for (int r = 0; r < 5; ++r) {
      const std::int64_t t0 = now_ns();
      std::uint64_t sum = 0;
      for (std::uint64_t i = 0; i < n; ++i) sum += pair(i);
      t.push_back(static_cast<double>(now_ns() - t0) / static_cast<double>(n));
      check_sum(name, sum + n, n);
    }
    std::sort(t.begin(), t.end());
    std::printf("%-9s one thread: %5.2f ns per send + receive\n", name, t[2]);
  };
  auto r = std::make_unique<ring>();
  time("cas", [&](std::uint64_t i) { send<claim::cas>(*r, i); return recv<claim::cas>(*r); });
  time("plain", [&](std::uint64_t i) { send<claim::plain>(*r, i); return recv<claim::plain>(*r); });
  auto c = std::make_unique<weft::detail::bounded_chan<std::uint64_t>>(1);
  time("bare", [&](std::uint64_t i) {
    std::uint64_t v = i;
    (void)c->try_send(v);
    (void)c->recv_peek();
    return *c->try_recv();
  });
  auto ch = weft::make_chan<std::uint64_t>(1);
  weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
  time("weft", [&](std::uint64_t i) {
    (void)ch.tx.send(std::uint64_t{i});
    return *ch.rx.recv();
  });
}
#endif

int main(int argc, char** argv) {
#ifdef W3FLOOR_WEFT
  if (argc > 1 && std::strcmp(argv[1], "st") == 0) {
    single_thread(10000000);
    return 0;
  }
#endif
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  const std::string pick = argc > 3 ? argv[3] : "all";
  struct variant {
    const char* name;
    double (*fn)(std::uint64_t);
    std::vector<double> t;
  };
  std::vector<variant> vs = {{"l0", run_l0, {}},
                             {"cas", run_ring<claim::cas>, {}},
                             {"cas-nopw", run_ring<claim::cas_nopw>, {}},
                             {"first", run_ring<claim::first>, {}},
                             {"plain", run_ring<claim::plain>, {}},
#ifdef W3FLOOR_WEFT
                             {"bare", run_bare<false>, {}},
                             {"bare-take", run_bare<true>, {}},
                             {"weft", run_weft, {}},
#endif
  };
  std::erase_if(vs, [&](const variant& v) {
    return pick != "all" && std::string(v.name) != "l0" &&
           ("," + pick + ",").find("," + std::string(v.name) + ",") == std::string::npos;
  });
  for (int r = 0; r < reps; ++r) {
    for (auto& v : vs) v.t.push_back(v.fn(n));
  }
  double l0 = 0;
  for (auto& v : vs) {
    std::sort(v.t.begin(), v.t.end());
    const double med = v.t[v.t.size() / 2];
    if (std::strcmp(v.name, "l0") == 0) l0 = med;
    std::printf("%-9s median %7.1f ns/rt  (min %6.1f max %6.1f)  %.2fx L0\n", v.name, med,
                v.t.front(), v.t.back(), l0 > 0 ? med / l0 : 0.0);
  }
}
