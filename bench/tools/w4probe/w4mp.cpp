// w4mp: P producer and P consumer threads on one unbuffered channel (MPMC rendezvous, several
// waiters per side, oversubscribed past 2 cores); prints ns per message. Usage: w4mp [P=2] [N]
#include <weft/weft.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
int main(int argc, char** argv) {
  const int p = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 400000;
  auto c = weft::make_chan<std::uint64_t>(0);
  std::atomic<std::uint64_t> sum{0};
  std::vector<std::thread> ts;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < p; ++i)
    ts.emplace_back([rx = c.rx, &sum]() mutable {
      std::uint64_t s = 0;
      for (;;) {
        auto r = rx.recv();
        if (!r) break;
        s += *r;
      }
      sum += s;
    });
  std::vector<std::thread> ps;
  for (int i = 0; i < p; ++i)
    ps.emplace_back([tx = c.tx, i, p, n]() mutable {
      for (std::uint64_t k = i; k < n; k += p) (void)tx.send(k + 1);
    });
  for (auto& t : ps) t.join();
  c.tx.close();
  for (auto& t : ts) t.join();
  const auto dt = std::chrono::steady_clock::now() - t0;
  const double ns = std::chrono::duration<double, std::nano>(dt).count();
  if (sum != n * (n + 1) / 2) { std::printf("BAD SUM\n"); return 1; }
  std::printf("%.1f\n", ns / double(n));
}
