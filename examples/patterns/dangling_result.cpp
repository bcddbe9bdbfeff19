// Anti-pattern 2: returning a pointer into a finished task.
//
// The mistake: a task publishes the address of one of its locals (or of its closure's state)
// and ends; the caller dereferences it afterwards. The task's stack is recycled for the next
// task (weft pools stacks), so the pointer reads whatever the next task wrote there: a
// use-after-free that no test reliably notices. Run `dangling_result --broken` in an ASan build
// (README.md): ASan gives every task a fresh stack there, so the stale read is reported.
//
// The weft way: return the value itself. The future owns it (result<T>), get() moves it out:
// no lifetime to get wrong, and the task may end (and its stack be reused) at any time.
#include <weft/leak_check.hpp>
#include <weft/weft.hpp>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

/// THE MISTAKE, run only with --broken (an ASan demonstration).
int broken_dangling(weft::runtime& rt) {
  const int* p = nullptr;
  auto f = weft::spawn(rt, [&p] {
    int local[16] = {42};
    p = &local[0];  // escapes the task's stack
  });
  (void)f.get();  // the task has ended: its stack is free (or already reused)
  // Reuse the stack: another task writes over the same memory.
  (void)weft::spawn(rt, [] {
    volatile int scribble[16];
    for (int& i : const_cast<int(&)[16]>(scribble)) i = -1;
  }).get();
  return *p;  // use after the owner ended
}

}  // namespace

int main(int argc, char** argv) {
  weft::runtime rt(two_workers());

  // The weft way: the vector moves through the future; the task owns nothing afterwards.
  weft::leak_check lc(rt, expect_no_leak());
  weft::future<std::vector<int>> f = weft::spawn(rt, [] {
    std::vector<int> v(100);
    std::iota(v.begin(), v.end(), 1);
    return v;  // moved into the future's state, not left behind on the task's stack
  });
  const weft::result<std::vector<int>> r = f.get();
  PATTERN_CHECK(r && r->size() == 100, "the value came through the future");
  const long sum = std::accumulate(r->begin(), r->end(), 0L);
  PATTERN_CHECK(sum == 5050, std::to_string(sum));
  const weft::leak_report rep = lc.check();  // the task is over, and nothing points into it
  PATTERN_CHECK(!rep, rep.text);
  std::printf("weft way: %zu values, sum %ld, no task left\n", r->size(), sum);

  if (has_flag(argc, argv, "--broken")) std::printf("dangling read: %d\n", broken_dangling(rt));
  return 0;
}
