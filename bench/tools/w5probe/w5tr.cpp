// W5 shape with the flight recorder: trace-off and trace-on batches of 20,000 round trips
// alternated in one process (N pairs, default 60); prints the medians off / on (ns per round
// trip, CPU time) and the median of on/off - 1 in percent. Env: SE=<k> sets
// trace::options::stamp_every, NOCH=1 sets channel_events = false. Build like w5t: bw5.sh's g++ line with this file.
#include <weft/chan.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/trace.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <vector>
static double cpu() { timespec ts; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return ts.tv_sec * 1e9 + ts.tv_nsec; }
static double med(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
int main(int argc, char** argv) {
  const int pairs = argc > 1 ? std::atoi(argv[1]) : 60;
  weft::runtime_options o; o.workers = 1;
  weft::runtime rt(o);
  auto a = weft::make_chan<std::uint64_t>(0);
  auto b = weft::make_chan<std::uint64_t>(0);
  auto echo = weft::spawn(rt, [&] { for (;;) { auto v = a.rx.recv(); if (!v) break; (void)b.tx.send(*v + 1); } });
  std::vector<double> off, on, r;
  auto f = weft::spawn(rt, [&] {
    std::uint64_t x = 0;
    const int batch = 20000;
    auto timed = [&] { double t0 = cpu(); for (int i = 0; i < batch; ++i) { (void)a.tx.send(x); x = *b.rx.recv(); } return (cpu() - t0) / batch; };
    auto traced = [&] { weft::trace::options to; to.channel_events = !std::getenv("NOCH"); if (const char* se = std::getenv("SE")) to.stamp_every = std::atoi(se); weft::trace::start(to); double ns = timed(); std::ostringstream s; (void)weft::trace::stop(s); return ns; };
    timed();
    bool onf = false;
    for (int p = 0; p < pairs; ++p) {
      double x0, x1;
      if (onf) { x1 = traced(); x0 = timed(); } else { x0 = timed(); x1 = traced(); }
      onf = !onf;
      off.push_back(x0); on.push_back(x1); r.push_back(x1 / x0);
    }
    a.tx.close();
  });
  (void)f.get(); (void)echo.get();
  std::printf("%.1f %.1f %.1f\n", med(off), med(on), (med(r) - 1) * 100);
}
