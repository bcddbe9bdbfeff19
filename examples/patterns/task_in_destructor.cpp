// Anti-pattern 3: a task started in a destructor (Go: `defer func() { go flush() }()`).
//
// The mistake: cleanup is handed to a fire-and-forget task so the destructor "does not block".
// Nobody owns that task: it outlives the object and the scope, and if its work blocks (here the
// log sink is not reading yet) it waits forever, unseen. The leak check at the end of the
// scope names it: blocked on send to "log", spawned in ~session.
//
// The weft way: structured concurrency. The owner keeps a weft::group; the cleanup runs in the
// group, and the scope that owns the group waits for it (group::wait, or ~group) before it
// ends, with the flush's outcome returned, not lost.
#include <weft/leak_check.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "check.hpp"

namespace {

/// THE MISTAKE: the destructor starts a task nobody waits for.
struct session {
  weft::runtime* rt;
  weft::sender<std::string> log;
  ~session() {
    (void)weft::spawn(*rt, [log = log]() mutable { (void)log.send("session closed"); });  // fire and forget
  }
};

/// The weft way: the flush runs in the owner's group; the owner's scope waits for it.
struct owned_session {
  weft::group* cleanup;
  weft::sender<std::string> log;
  ~owned_session() {
    cleanup->spawn([log = log]() mutable { return log.send("session closed"); });
  }
};

}  // namespace

int main() {
  weft::runtime rt(two_workers());
  auto log = weft::make_chan<std::string>(0, "log");  // unbuffered: the sink reads when it can

  {
    weft::leak_check_options o;
    o.grace = std::chrono::milliseconds(20);
    o.count_actors = false;
    weft::leak_check lc(rt, o);
    { session s{&rt, log.tx}; }  // the scope ends; its flush task does not
    PATTERN_CHECK(wait_until_blocked(rt, 1) >= 1, "the task never blocked");  // not still starting
    const weft::leak_report r = lc.check();
    std::printf("leak_check after the scope:\n%s", r.text.c_str());
    PATTERN_CHECK(r.tasks == 1, r.text);
    PATTERN_CHECK(r.text.find("send") != std::string::npos, r.text);
    PATTERN_CHECK(r.text.find("(\"log\")") != std::string::npos, r.text);
    PATTERN_CHECK(r.text.find("task_in_destructor.cpp") != std::string::npos, r.text);
    PATTERN_CHECK(*log.rx.recv() == "session closed", "drain the leaked flush so the runtime can end");
  }

  {
    weft::leak_check lc(rt, expect_no_leak());
    weft::result<void> flushed;
    auto sink = weft::spawn(rt, [rx = log.rx]() mutable { return *rx.recv(); });  // the sink reads once
    {
      weft::group cleanup;
      { owned_session s{&cleanup, log.tx}; }
      flushed = cleanup.wait();  // the scope waits for its cleanup and gets its outcome
    }
    PATTERN_CHECK(static_cast<bool>(flushed), "the flush succeeded");
    PATTERN_CHECK(*sink.get() == "session closed", "the sink got the message");
    const weft::leak_report r = lc.check();
    PATTERN_CHECK(!r, r.text);
    std::printf("weft way: flushed inside the owner's scope, no task left\n");
  }
  return 0;
}
