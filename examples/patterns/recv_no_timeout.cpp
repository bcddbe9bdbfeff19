// Anti-pattern 4: a receive with no timeout.
//
// The mistake: a task waits for a reply with a plain recv(); the worker that should reply
// dropped the request (a bug, a lost message), but kept its end of the reply channel, so the
// channel never closes and the wait never ends. dump_blocked() shows the task ("recv" on
// "reply", for how long, spawned where), and so does the watchdog's deadlock check when no
// other task can ever wake it.
//
// The weft way: every wait that depends on someone else has a bound: select with on_timeout
// (or recv_for, or a context with a deadline), and the caller decides what a timeout means.
#include <weft/watchdog.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>

#include "check.hpp"

using namespace std::chrono_literals;

namespace {

/// A worker that "loses" every request but keeps the reply channel open.
struct forgetful_worker {
  weft::sender<int> reply;  // held, never used
};

std::string dump(weft::runtime& rt) {
  std::ostringstream os;
  weft::dump_blocked(rt, os);
  return os.str();
}

}  // namespace

int main() {
  weft::runtime rt(two_workers());

  // THE MISTAKE: recv() with no bound.
  {
    auto reply = weft::make_chan<int>(0, "reply");
    auto worker = std::make_unique<forgetful_worker>(forgetful_worker{reply.tx});
    auto caller = weft::spawn(rt, [rx = reply.rx]() mutable { return rx.recv().code() == weft::status::ok; });
    reply.tx = {};  // only the worker holds a sender now
    std::string d;
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while ((d = dump(rt)).find("(\"reply\")") == std::string::npos && std::chrono::steady_clock::now() < give_up)
      weft::yield();
    std::printf("dump_blocked:\n%s", d.c_str());
    PATTERN_CHECK(d.find("recv") != std::string::npos, d);
    PATTERN_CHECK(d.find("(\"reply\")") != std::string::npos, d);
    PATTERN_CHECK(d.find("recv_no_timeout.cpp") != std::string::npos, d);
    // Every task of the runtime is asleep with no timer: the deadlock check says so (the worker
    // object is plain data held by main: the "outside holder" the report's wording admits).
    const auto r = weft::find_deadlock(rt);
    PATTERN_CHECK(r.has_value(), "find_deadlock reports the stuck caller");
    std::printf("find_deadlock:\n%s", r->text.c_str());
    PATTERN_CHECK(r->text.find("all tasks are asleep - deadlock!") != std::string::npos, r->text);
    worker.reset();  // dropping the last sender closes "reply": the caller wakes with closed
    PATTERN_CHECK(!*caller.get(), "the caller saw closed, not a reply");
  }

  // The weft way: select with a timeout; the caller handles "no reply" explicitly.
  {
    auto reply = weft::make_chan<int>(0, "reply");
    forgetful_worker worker{reply.tx};
    auto caller = weft::spawn(rt, [rx = reply.rx]() mutable {
      bool timed_out = false;
      weft::select(weft::on_recv(rx, [](weft::result<int>&&) {}),
                   weft::on_timeout(50ms, [&] { timed_out = true; }));
      return timed_out;
    });
    PATTERN_CHECK(*caller.get(), "the caller gave up after 50 ms and went on");
    std::printf("weft way: no reply within 50 ms, handled\n");
  }
  return 0;
}
