// w4t: W4 (two OS threads, two unbuffered channels) timed round trip by round trip, to see where
// the mean's time goes: prints, per latency bucket, how many round trips fell in it and the share
// of the total time they took. Usage: w4t [round_trips=1000000] [spin|pin]
#include <weft/weft.hpp>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

static std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const bool spin = argc > 2 && std::strcmp(argv[2], "spin") == 0;
  const bool pin = argc > 2 && std::strcmp(argv[2], "pin") == 0;  // each thread on its own CPU
  auto pin_to = [pin](int cpu) {
    if (!pin) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  };
  // W3 instead of W4: W4T_CAP=1 in the environment (bounded channels of that capacity).
  const char* cap_env = std::getenv("W4T_CAP");
  const std::size_t cap = cap_env != nullptr ? std::strtoull(cap_env, nullptr, 10) : 0;
  auto a = weft::make_chan<std::uint64_t>(cap);
  auto b = weft::make_chan<std::uint64_t>(cap);
  std::vector<std::int64_t> lat(n);
  std::thread ponger([&] {
    pin_to(1);
    if (spin) weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
    for (;;) {
      auto r = a.rx.recv();
      if (!r) break;
      (void)b.tx.send(*r + 1);
    }
  });
  if (spin) weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);
  pin_to(0);
  for (int i = 0; i < 1000; ++i) { (void)a.tx.send(1); (void)b.rx.recv(); }
  const std::int64_t t0 = now_ns();
  std::int64_t prev = t0;
  for (std::uint64_t i = 0; i < n; ++i) {
    (void)a.tx.send(i);
    (void)b.rx.recv();
    const std::int64_t t = now_ns();
    lat[i] = t - prev;
    prev = t;
  }
  const std::int64_t total = prev - t0;
  a.tx.close();
  ponger.join();
  const std::int64_t edges[] = {500, 2'000, 10'000, 50'000, 200'000, 1'000'000, 10'000'000, INT64_MAX};
  const char* names[] = {"<0.5us", "0.5-2us", "2-10us", "10-50us", "50-200us", "0.2-1ms", "1-10ms", ">10ms"};
  std::uint64_t cnt[8] = {};
  std::int64_t sum[8] = {};
  std::int64_t mx = 0;
  for (std::int64_t l : lat) {
    int k = 0;
    while (l >= edges[k]) ++k;
    ++cnt[k];
    sum[k] += l;
    if (l > mx) mx = l;
  }
  std::printf("mean %.1f ns/rt, max %.1f us\n", double(total) / double(n), double(mx) / 1e3);
  std::vector<std::int64_t> sorted = lat;  // the typical round trip, apart from the slow hops
  std::sort(sorted.begin(), sorted.end());
  std::printf("p50 %lld ns/rt (p10 %lld, p25 %lld, p75 %lld, p90 %lld, p99 %lld)\n",
              static_cast<long long>(sorted[n / 2]), static_cast<long long>(sorted[n / 10]),
              static_cast<long long>(sorted[n / 4]), static_cast<long long>(sorted[3 * n / 4]),
              static_cast<long long>(sorted[9 * n / 10]), static_cast<long long>(sorted[99 * n / 100]));
  for (int k = 0; k < 8; ++k)
    if (cnt[k] != 0)
      std::printf("  %-9s %9llu rt  %5.1f%% of time  (mean %.1f us)\n", names[k], (unsigned long long)cnt[k],
                  100.0 * double(sum[k]) / double(total), double(sum[k]) / double(cnt[k]) / 1e3);
}
