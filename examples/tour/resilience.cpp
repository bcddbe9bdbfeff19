// Tour 6 — resilience: retry with backoff, a circuit breaker, a call with a timeout.
//
// retry(ctx, policy, f) calls f (returning result<R>, status, or a value; a throw counts as a
// failure) until it succeeds or max_attempts is reached, backing off between calls.
// circuit_breaker stops calling a dependency that keeps failing: after failure_threshold
// failures in a row it is open and returns `rejected` without calling f; after cool_down one
// probe call goes through. call_with_timeout(d, f) returns `timeout` if f is late.
#include <weft/leak_check.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  using namespace std::chrono_literals;

  // 1. A flaky call that succeeds on its third attempt.
  int calls = 0;
  weft::retry_policy policy;
  policy.max_attempts = 5;
  policy.initial_backoff = 1ms;
  policy.max_backoff = 10ms;
  weft::result<int> r = weft::retry(weft::background(), policy, [&]() -> weft::result<int> {
    if (++calls < 3) return weft::status::timeout;  // "the server did not answer"
    return 42;
  });
  check(r && *r == 42 && calls == 3, "retry: succeeded on the third call");

  // 2. A circuit breaker: three failures open it; then calls are rejected without running.
  weft::circuit_breaker breaker({.failure_threshold = 3, .cool_down = 300ms});
  for (int i = 0; i < 3; ++i) (void)breaker.call([]() -> weft::result<int> { return weft::status::timeout; });
  check(breaker.state() == weft::breaker_state::open, "three failures in a row: open");
  int ran = 0;
  weft::result<int> refused = breaker.call([&]() -> weft::result<int> { return ++ran; });
  check(refused.code() == weft::status::rejected && ran == 0, "open: rejected without calling f");
  std::this_thread::sleep_for(330ms);  // the cool-down is the behaviour shown, not a synchronisation
  check(breaker.state() == weft::breaker_state::half_open, "after cool_down: half-open");
  weft::result<int> probe = breaker.call([&]() -> weft::result<int> { return ++ran; });
  check(probe && ran == 1 && breaker.state() == weft::breaker_state::closed, "a successful probe closes it");

  // 3. A call with a timeout: the slow function sees its context end and stops. The caller
  // gets `timeout` at the deadline; the late task ends by itself just after, which a leak_check
  // shows (without waiting for it, the process could exit while it is still finishing).
  weft::leak_check_options patient;
  patient.grace = std::chrono::seconds(30);  // check() returns as soon as the task has ended
  weft::leak_check lc(patient);
  weft::result<int> late = weft::call_with_timeout(20ms, [](const weft::context& ctx) -> weft::result<int> {
    weft::select(weft::on_done(ctx, [] {}));  // waits until the 20 ms are up
    return ctx.err();                         // timeout
  });
  check(late.code() == weft::status::timeout, "call_with_timeout: timeout");
  const weft::leak_report left = lc.check();  // waits (at most 30 s) for the late task to end
  check(!left, "the late task stopped by itself");
  return failures == 0 ? 0 : 1;
}
