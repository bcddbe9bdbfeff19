// The GoogleTest main of weft's own test executables: runs the tests, and after each one the
// leak check of STYLE.md section 8 ("every test ends with the leak check: no task, actor or
// waiter is still alive") on the default runtime.
//
// After each test (the default runtime only, and only if the test made it; a test's own
// runtimes wait for their tasks in ~runtime): every task of the default runtime must end within
// a grace period (2 s, 10 s under sanitizers; WEFT_LEAK_GRACE_MS overrides), and the
// process-wide live actor count must come back to its value when the test started. A leak is
// printed as a leak_check report naming each task's blocking operation and spawn site, and
// makes the process exit non-zero (ctest runs each test case as its own process, so the leaking
// test is the one that fails). The check runs after the test's result was recorded, so it cannot
// turn a passing test red inside GoogleTest's own report; the exit code does.
// Waiters: OS threads blocked in weft operations are not visible to the runtime and are not
// counted (see docs/observability.md).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <weft/leak_check.hpp>
#include <weft/runtime.hpp>

namespace {

std::chrono::milliseconds grace() {
  if (const char* env = std::getenv("WEFT_LEAK_GRACE_MS")) return std::chrono::milliseconds(std::atol(env));
#if defined(WEFT_SANITIZED)
  return std::chrono::milliseconds(10000);
#else
  return std::chrono::milliseconds(2000);
#endif
}

class leak_listener : public ::testing::EmptyTestEventListener {
 public:
  int leaks() const noexcept { return leaks_; }

 private:
  void OnTestStart(const ::testing::TestInfo&) override { actors_at_start_ = weft::stats().actors_live; }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::string report;
    if (weft::runtime* rt = weft::detail::default_runtime_if_made()) {
      weft::leak_check_options o;
      o.grace = grace();
      o.whole_runtime = true;
      o.count_actors = false;  // counted below, with the value at the test's start
      weft::leak_check lc(*rt, std::move(o));
      if (weft::leak_report r = lc.check(); r.leaked()) report += r.text;
    }
    // Actors: idle actors have no task; wait for the count (process-wide) to come back down.
    const auto give_up = std::chrono::steady_clock::now() + grace();
    std::size_t actors = weft::stats().actors_live;
    while (actors > actors_at_start_ && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      actors = weft::stats().actors_live;
    }
    if (actors > actors_at_start_)
      report += "  " + std::to_string(actors - actors_at_start_) + " actor(s) still alive (" + std::to_string(actors) +
                " live, " + std::to_string(actors_at_start_) + " when the test started)\n";
    if (report.empty()) return;
    ++leaks_;
    std::fprintf(stderr, "[  LEAKED  ] %s.%s left work running (STYLE.md 8):\n%s", info.test_suite_name(), info.name(),
                 report.c_str());
    std::fflush(stderr);
  }

  std::size_t actors_at_start_ = 0;
  int leaks_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* listener = new leak_listener;  // owned by GoogleTest's listener list
  ::testing::UnitTest::GetInstance()->listeners().Append(listener);
  const int failed = RUN_ALL_TESTS();
  if (listener->leaks() != 0) {
    std::fprintf(stderr, "weft: %d test(s) leaked tasks or actors (see [  LEAKED  ] above)\n", listener->leaks());
    return failed != 0 ? failed : 3;
  }
  return failed;
}
