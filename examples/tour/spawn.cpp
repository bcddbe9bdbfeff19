// Tour 4 — tasks: spawn a green thread, get its result through a future.
//
// spawn(f) runs f() as a task (a fiber on a small pool of worker threads, M:N) and returns a
// future<R>. future::get() waits and returns a result<R>: the value, or `failed` with the
// exception f threw. A task blocked in a weft call parks its fiber, not its worker thread, so
// thousands of blocked tasks cost memory, not threads.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  using namespace std::chrono_literals;

  // 1. A value.
  weft::future<int> answer = weft::spawn([] { return 6 * 7; });
  check(answer.get().value() == 42, "spawn returned 42 through the future");

  // 2. An exception travels as `failed`; it never escapes into the scheduler.
  weft::future<int> bad = weft::spawn([]() -> int { throw std::runtime_error("disk on fire"); });
  weft::result<int> r = bad.get();
  bool right_message = false;
  try {
    std::rethrow_exception(r.exception());
  } catch (const std::runtime_error& e) {
    right_message = std::string(e.what()) == "disk on fire";
  }
  check(r.code() == weft::status::failed && right_message, "a throwing task: failed, with its exception");

  // 3. Ten thousand tasks all blocked on one channel: each parks its fiber. Then they are fed.
  constexpr int n = 10'000;
  auto [jobs_tx, jobs_rx] = weft::make_chan<int>(0);  // unbuffered
  std::vector<weft::future<int>> workers;
  for (int i = 0; i < n; ++i)
    workers.push_back(weft::spawn([rx = jobs_rx]() mutable { return rx.recv().value() * 2; }));
  for (int i = 1; i <= n; ++i) jobs_tx.send(i);
  long long sum = 0;
  for (auto& w : workers) sum += w.get().value();
  check(sum == 2LL * n * (n + 1) / 2, "10,000 parked tasks each handled one job");

  // 4. A future in select, with a timeout.
  weft::future<std::string> slow = weft::spawn([] {
    weft::sleep_for(10ms);  // task-aware sleep: parks the fiber
    return std::string("done");
  });
  std::string got;
  weft::select(weft::on_recv(slow, [&](weft::result<std::string>&& v) { got = v.value(); }),
               weft::on_timeout(10s, [] {}));
  check(got == "done", "select over a future");

  // 5. An explicit runtime (the default one is made on first use): it waits for its tasks
  //    when it is destroyed.
  int ran = 0;
  {
    weft::runtime rt({.workers = 1});
    weft::spawn(rt, [&ran] { ran = 1; });  // the future is dropped; the task still runs
  }  // ~runtime: waits, so ran is visible here
  check(ran == 1, "~runtime waited for its task");
  return failures == 0 ? 0 : 1;
}
