// W5-shaped: two tasks ping-pong over two rendezvous channels on one worker. Prints ns/rt.
#include <weft/chan.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  weft::runtime_options o;
  o.workers = 1;
  weft::runtime rt(o);
  for (int r = 0; r < reps; ++r) {
    auto a = weft::make_chan<std::uint64_t>(0);
    auto b = weft::make_chan<std::uint64_t>(0);
    auto t0 = std::chrono::steady_clock::now();
    auto f1 = weft::spawn(rt, [&] {
      for (long i = 0; i < n; ++i) {
        (void)a.tx.send(std::uint64_t(i));
        (void)b.rx.recv();
      }
      a.tx.close();
    });
    auto f2 = weft::spawn(rt, [&] {
      for (;;) {
        auto v = a.rx.recv();
        if (!v) break;
        (void)b.tx.send(*v + 1);
      }
    });
    (void)f1.get();
    (void)f2.get();
    auto t1 = std::chrono::steady_clock::now();
    std::printf("%.1f\n", std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
}
