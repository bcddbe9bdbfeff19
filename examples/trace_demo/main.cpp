// trace_demo: records a small pipeline with the flight recorder and writes it as Chrome
// trace-event JSON. Open the file in https://ui.perfetto.dev (or chrome://tracing):
//
//   ./trace_demo [out.json]          (default: trace_demo.json in the current directory)
//
// The pipeline, on a runtime with 2 workers:
//   generator task --(bounded, capacity 4)--> 3 worker tasks --(unbuffered)--> collector task
//   collector --tell--> a `stats` actor; main asks the actor for the total at the end.
// In the trace: the worker tracks ("weft-w0", "weft-w1") show each task's run slices, the
// actor's handler slices nested in them, and arrows from each wake-up to the woken task's next
// run; the "weft tasks" process has one track per task with its running / parked / runnable
// states (parked slices say on what: "parked: recv #1").
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <weft/trace.hpp>
#include <weft/weft.hpp>

namespace {

struct total_t {};
struct stats {
  long sum = 0;
  long count = 0;
  void operator()(long v) {
    sum += v;
    ++count;
  }
  long operator()(total_t) const { return sum; }
};

long work(long x) {  // a little CPU per item, so the run slices have some width
  auto h = static_cast<std::uint64_t>(x);
  for (int i = 0; i < 2000; ++i) h = (h * 6364136223846793005ULL + 1442695040888963407ULL) >> 1;
  return x + static_cast<long>(h & 1);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "trace_demo.json";
  constexpr long items = 200;

  weft::trace::start();
  long total = 0;
  {
    weft::runtime rt({.workers = 2});
    weft::actor_ref<stats> agg = weft::spawn_actor<stats>(rt, weft::actor_options{});
    auto [jobs_tx, jobs_rx] = weft::make_chan<long>(4);
    auto [done_tx, done_rx] = weft::make_chan<long>(0);

    auto generator = weft::spawn(rt, [tx = std::move(jobs_tx)]() mutable {
      for (long i = 0; i < items; ++i)
        if (tx.send(i) != weft::status::ok) return false;
      return true;  // tx closes when the task ends: workers drain, then see closed
    });
    std::vector<weft::future<long>> workers;
    for (int w = 0; w < 3; ++w) {
      workers.push_back(weft::spawn(rt, [rx = jobs_rx, tx = done_tx]() mutable {
        long n = 0;
        for (long job : rx) {
          if (tx.send(work(job)) != weft::status::ok) break;
          ++n;
        }
        return n;
      }));
    }
    jobs_rx = {};
    done_tx = {};  // the collector ends when the last worker's copy is gone
    auto collector = weft::spawn(rt, [rx = std::move(done_rx), agg]() mutable {
      long n = 0;
      for (long v : rx) {
        if (agg.tell(v) == weft::status::ok) ++n;
      }
      return n;
    });

    const bool generated = generator.get().value();
    long handled = 0;
    for (auto& f : workers) handled += f.get().value();
    const long collected = collector.get().value();
    total = agg.ask(total_t{}).get().value();
    agg.stop();
    if (!generated || handled != items || collected != items) {
      std::fprintf(stderr, "trace_demo: pipeline lost items (%ld handled, %ld collected)\n", handled, collected);
      return 1;
    }
  }
  const weft::trace::summary s = weft::trace::stop(path);
  std::printf("trace_demo: total %ld; wrote %s: %llu events (%llu dropped), %zu threads, %zu tasks\n", total,
              path.c_str(), static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.dropped),
              s.threads, s.tasks);
  std::printf("open it in https://ui.perfetto.dev (Open trace file) or chrome://tracing\n");
  return s.events > 0 && s.tasks >= 5 ? 0 : 1;
}
