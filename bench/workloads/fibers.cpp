// The task executor: runs a workload's bodies as weft tasks on a fresh runtime (peer
// `weft-fiber`). The runtime is made before the clock starts and destroyed after it stops. The
// main thread waits without parking in weft (tasks.hpp).
#include "runner.hpp"
#include "tasks.hpp"

#include <weft/weft.hpp>

#include <exception>
#include <string>
#include <vector>

namespace weft_bench {

std::int64_t run_as_tasks(std::size_t workers, int n, const std::function<void(int)>& body,
                          rep_result& res) {
  std::vector<std::int64_t> ends(static_cast<std::size_t>(n), 0);
  std::int64_t t0 = 0;
  {
    weft::runtime_options o{};
    o.workers = workers;
    weft::runtime rt(o);
    std::vector<weft::future<void>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    task_tracker tracker(n);  // the main thread must not park in weft: see tasks.hpp
    t0 = now_ns();
    for (int i = 0; i < n; ++i) {
      tasks.push_back(weft::spawn(rt, tracker.wrap([&body, &ends, i] {
        body(i);
        ends[static_cast<std::size_t>(i)] = now_ns();
      })));
    }
    tracker.wait();
    for (auto& f : tasks) {
      weft::result<void> r = collect(f);
      if (r) continue;
      std::string why = std::string("task ended with ") + weft::to_string(r.code());
      if (r.exception()) {
        try {
          std::rethrow_exception(r.exception());
        } catch (const std::exception& e) {
          why += std::string(": ") + e.what();
        } catch (...) {
        }
      }
      res.fail(why);
    }
  }  // ~runtime: every task has ended (each future was read)
  return *std::max_element(ends.begin(), ends.end()) - t0;
}

}  // namespace weft_bench
