// Anti-pattern 1: a result written to a shared variable without synchronisation.
//
// The mistake (Go: `go func() { result = compute() }()` then reading `result`): a task writes a
// plain variable and the caller reads it "later". Nothing orders the write before the read: a
// data race (undefined behaviour in C++), and nothing even says the task has run. Two tools see
// it: ThreadSanitizer reports the race (run `shared_result --racy` in a TSan build, see
// README.md), and a leak_check at the point of the read reports the writer still alive.
//
// The weft way: the task *returns* its result; spawn() hands it over through a future, whose
// get() orders everything the task did before the caller continues.
#include <weft/leak_check.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

#include "check.hpp"

namespace {

long compute(weft::receiver<long>& input) {
  long sum = 0;
  for (long v : input) sum += v;
  return sum;
}

/// THE MISTAKE, run only with --racy (a TSan demonstration): the read races with the write.
long broken_racy(weft::runtime& rt) {
  long shared = 0;  // written by the task, read by us: no synchronisation at all
  auto in = weft::make_chan<long>(4, "input");
  (void)weft::spawn(rt, [&shared, rx = in.rx]() mutable { shared = compute(rx); });
  for (long i = 1; i <= 3; ++i) (void)in.tx.send(i);
  in.tx.close();
  weft::sleep_for(std::chrono::milliseconds(1));  // "long enough" -- it never is
  return shared;                                  // TSan: data race on `shared`
}

}  // namespace

int main(int argc, char** argv) {
  weft::runtime rt(two_workers());

  // What the mistake looks like to the leak check: the writer is still alive (blocked on its
  // input) at the moment the caller would read the shared variable.
  {
    auto in = weft::make_chan<long>(4, "input");
    long shared = 0;
    weft::leak_check_options o;
    o.grace = std::chrono::milliseconds(20);
    o.count_actors = false;
    weft::leak_check lc(rt, o);
    auto writer = weft::spawn(rt, [&shared, rx = in.rx]() mutable { shared = compute(rx); });
    // ... the caller would read `shared` here: the writer has not even got its input yet.
    PATTERN_CHECK(wait_until_blocked(rt, 1) >= 1, "the task never blocked");  // not still starting
    const weft::leak_report r = lc.check();
    std::printf("leak_check at the read:\n%s", r.text.c_str());
    PATTERN_CHECK(r.tasks == 1, r.text);
    PATTERN_CHECK(r.text.find("recv") != std::string::npos, r.text);
    PATTERN_CHECK(r.text.find("(\"input\")") != std::string::npos, r.text);
    in.tx.close();        // let it finish,
    (void)writer.get();   // and wait for it properly before `shared` goes out of scope
  }

  // The weft way: the result travels through the future.
  {
    auto in = weft::make_chan<long>(4, "input");
    weft::future<long> total = weft::spawn(rt, [rx = in.rx]() mutable { return compute(rx); });
    for (long i = 1; i <= 100; ++i) (void)in.tx.send(i);
    in.tx.close();
    const weft::result<long> r = total.get();  // happens-after everything the task did
    PATTERN_CHECK(r && *r == 5050, "the future carries the task's result");
    std::printf("weft way: total = %ld\n", *r);
  }

  if (has_flag(argc, argv, "--racy")) std::printf("racy read: %ld (TSan reports the race)\n", broken_racy(rt));
  return 0;
}
