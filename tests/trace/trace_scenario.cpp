// A known scenario recorded by the flight recorder, for tests/trace/check_trace.py.
//
//   trace_scenario api <out.json>       start/stop around the scenario; checks the API's misuse
//                                       errors and the summary; writes <out.json>
//   trace_scenario overflow <out.json>  a 64-event ring per thread and 2,000 round trips: the
//                                       oldest events are overwritten and reported as dropped
//   trace_scenario sched <out.json>     the scenario with options::channel_events = false
//   trace_scenario precise <out.json>   the scenario with options::precise_timestamps = true: no
//                                       wake-up is folded into a channel record (trace.hpp,
//                                       "Folded records"), so the checks see the same events
//                                       written the other way
//   trace_scenario inside <out.json>    a task starts and stops the recording itself, around 10
//                                       round trips with an echo task (1 worker): every one of
//                                       the 20 parks is in the trace, also the first, a direct
//                                       hand-off by the task that was running when the worker's
//                                       ring started (check_trace.py --recv-parks 20)
//   trace_scenario sampled <out.json>   options::stamp_every: a ping-pong of 1,000 round trips on
//                                       one worker recorded with every hand-off stamped, then one
//                                       in 8 (the summary's `stamped` counts both; the second's
//                                       JSON goes to <out.json>.pingpong.json); then the
//                                       scenario with stamp_every = 8 (the JSON checks as usual)
//   trace_scenario env                  the scenario only: run with WEFT_TRACE=<path> in the
//                                       environment, the library records and writes at exit
//
// The scenario (what check_trace.py --scenario expects):
//   - a producer task sends 20 ints on an unbuffered channel to a consumer task, then closes it:
//     20 `send` ok, 20 `recv` ok and 1 `recv` closed on that channel;
//   - an OS thread try_sends 10 ints into a capacity-4 channel (4 ok, 6 full), then the main
//     thread try_recvs 5 times (4 ok, then closed: the sending thread has dropped its handle);
//   - a task sends 2 ints into a capacity-4 channel, takes them with 2 selects and puts one back
//     with a select's send case: 2 `send`, 2 `select_recv` and 1 `select_send`, all ok;
//   - an actor handles 5 tells and 1 ask (6 actor handler slices).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>

#include <weft/trace.hpp>
#include <weft/weft.hpp>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "trace_scenario: FAILED: %s\n", what);
    ++failures;
  }
}

struct get_t {};
struct counter {
  int n = 0;
  void operator()(int add) { n += add; }
  int operator()(get_t) const { return n; }
};

void tasks_and_channel(weft::runtime& rt, int rounds) {
  auto [tx, rx] = weft::make_chan<int>(0);
  auto producer = weft::spawn(rt, [tx = std::move(tx), rounds]() mutable {
    int sent = 0;
    for (int i = 0; i < rounds; ++i) sent += tx.send(i) == weft::status::ok ? 1 : 0;
    tx.close();
    return sent;
  });
  auto consumer = weft::spawn(rt, [rx = std::move(rx)]() mutable {
    long sum = 0;
    for (;;) {
      weft::result<int> r = rx.recv();
      if (!r) break;
      sum += *r;
    }
    return sum;
  });
  check(producer.get().value() == rounds, "the producer sent every value");
  check(consumer.get().value() == static_cast<long>(rounds) * (rounds - 1) / 2, "the consumer got every value");
}

// The channel is made by the caller and outlives every other channel of the scenario: the
// trace names channels by address, and a later channel at a reused address would merge counts.
void thread_try_ops(weft::sender<int> tx, weft::receiver<int>& rx) {
  std::thread t([tx = std::move(tx)]() mutable {
    int ok = 0;
    for (int i = 0; i < 10; ++i) ok += tx.try_send(i) == weft::status::ok ? 1 : 0;
    check(ok == 4, "4 of 10 try_sends fit a capacity-4 channel");
  });
  t.join();
  int got = 0;
  for (int i = 0; i < 5; ++i) got += rx.try_recv() ? 1 : 0;
  check(got == 4, "4 of 5 try_recvs found a value");
}

void select_part(weft::runtime& rt, weft::sender<int>& tx, weft::receiver<int>& rx) {
  auto done = weft::spawn(rt, [&] {
    check(tx.send(1) == weft::status::ok && tx.send(2) == weft::status::ok, "2 sends into a capacity-4 channel");
    int got = 0;
    for (int i = 0; i < 2; ++i)
      weft::select(weft::on_recv(rx, [&](weft::result<int> r) { got += r ? 1 : 0; }), weft::otherwise([] {}));
    check(got == 2, "2 selects each received a value");
    bool sent = false;
    weft::select(weft::on_send(tx, 3, [&](weft::status st) { sent = st == weft::status::ok; }),
                 weft::otherwise([] {}));
    check(sent, "a select's send case sent");
  });
  check(static_cast<bool>(done.get()), "the select task finished");
}

void actor_part(weft::runtime& rt) {
  weft::actor_ref<counter> c = weft::spawn_actor<counter>(rt, weft::actor_options{});
  for (int i = 1; i <= 5; ++i) check(c.tell(i) == weft::status::ok, "tell accepted");
  check(c.ask(get_t{}).get().value() == 15, "the actor handled the 5 tells before the ask");
  weft::receiver<weft::exit_info> ended = c.monitor();
  c.stop();
  check(static_cast<bool>(ended.recv()), "the actor ended");
}

void scenario() {
  auto [try_tx, try_rx] = weft::make_chan<int>(4);
  auto [sel_tx, sel_rx] = weft::make_chan<int>(4);  // lives as long as try_*: see thread_try_ops
  weft::runtime rt({.workers = 1});
  tasks_and_channel(rt, 20);
  thread_try_ops(std::move(try_tx), try_rx);
  select_part(rt, sel_tx, sel_rx);
  actor_part(rt);
}

template <class F>
bool throws_weft_error(F&& f, weft::status code) {
  try {
    f();
  } catch (const weft::error& e) {
    return e.code() == code;
  }
  return false;
}

int run_api(const char* path) {
  check(!weft::trace::is_recording(), "not recording before start");
  check(throws_weft_error([] { std::ostringstream os; (void)weft::trace::stop(os); }, weft::status::closed),
        "stop without start throws weft::error(closed)");
  weft::trace::start({.buffer_events = 1 << 16});
  check(weft::trace::is_recording(), "recording after start");
  check(throws_weft_error([] { weft::trace::start(); }, weft::status::closed),
        "a second start throws weft::error(closed)");
  check(weft::trace::is_recording(), "a refused second start leaves the first recording");
  scenario();
  std::ostringstream snap;
  const weft::trace::summary mid = weft::trace::snapshot(snap);
  check(weft::trace::is_recording(), "snapshot keeps recording");
  check(mid.events > 0 && snap.str().find("\"traceEvents\"") != std::string::npos, "snapshot writes events");
  check(throws_weft_error([] { (void)weft::trace::stop(std::string("/nonexistent-dir/x.json")); },
                          weft::status::failed),
        "stop to an unwritable path throws weft::error(failed)");
  check(weft::trace::is_recording(), "a failed stop(path) keeps recording");
  const weft::trace::summary s = weft::trace::stop(std::string(path));
  check(!weft::trace::is_recording(), "not recording after stop");
  check(s.dropped == 0, "a 65536-event ring drops nothing in this scenario");
  check(s.events >= mid.events, "the final trace holds at least the snapshot's events");
  check(s.threads >= 2, "a worker and at least one OS thread recorded");
  check(s.tasks >= 3, "producer, consumer and the actor's runner are tasks");
  return failures == 0 ? 0 : 1;
}

int run_overflow(const char* path) {
  weft::trace::start({.buffer_events = 64});
  {
    weft::runtime rt({.workers = 1});
    tasks_and_channel(rt, 2000);
  }
  const weft::trace::summary s = weft::trace::stop(std::string(path));
  check(s.dropped > 0, "a 64-event ring overwrote its oldest events");
  // The worker's ring keeps its newest 63-64 records; other threads add a few each.
  check(s.events >= 63 && s.events < 64 * 8, "each ring keeps at most its capacity");
  return failures == 0 ? 0 : 1;
}

int run_sched(const char* path) {
  weft::trace::start({.channel_events = false});
  scenario();
  const weft::trace::summary s = weft::trace::stop(std::string(path));
  check(s.tasks >= 3 && s.dropped == 0, "scheduler events recorded without channel events");
  return failures == 0 ? 0 : 1;
}

int run_precise(const char* path) {
  weft::trace::start({.buffer_events = 1 << 16, .precise_timestamps = true});
  scenario();
  const weft::trace::summary s = weft::trace::stop(std::string(path));
  check(s.tasks >= 3 && s.dropped == 0, "the scenario recorded with precise timestamps");
  return failures == 0 ? 0 : 1;
}

int run_resize(const char* path) {
  weft::runtime rt({.workers = 1});
  weft::trace::start({.buffer_events = 64});
  tasks_and_channel(rt, 200);
  std::ostringstream first;
  const weft::trace::summary s1 = weft::trace::stop(first);
  check(s1.dropped > 0, "trace 1: the worker's 64-event ring overflowed");
  // Same worker thread, a new ring of another size: the old one is freed (ASan sees a stale use).
  weft::trace::start({.buffer_events = 1 << 14});
  tasks_and_channel(rt, 200);
  const weft::trace::summary s2 = weft::trace::stop(std::string(path));
  check(s2.dropped == 0, "trace 2: nothing dropped (hooks writing into the old 64-event ring would drop)");
  // Per value: a send, a recv, and the park/run/wake-up events of the hand-off.
  check(s2.events >= 200 * 4, "trace 2 holds the events of all 200 hand-offs");
  check(s2.tasks >= 2, "trace 2 saw the producer and the consumer");
  return failures == 0 ? 0 : 1;
}

int run_inside(const char* path) {
  weft::runtime rt({.workers = 1});
  auto [ping_tx, ping_rx] = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);  // not a structured binding: the task below refers to it
  auto echo = weft::spawn(rt, [tx = std::move(pong.tx), rx = std::move(ping_rx)]() mutable {
    for (;;) {
      weft::result<int> r = rx.recv();
      if (!r) return;
      (void)tx.send(*r);
    }
  });
  auto main_task = weft::spawn(rt, [&, tx = std::move(ping_tx)]() mutable {
    weft::trace::start();
    int back = 0;
    for (int i = 0; i < 10; ++i) {
      (void)tx.send(i);
      weft::result<int> r = pong.rx.recv();
      back += r ? *r : -100;
    }
    const weft::trace::summary s = weft::trace::stop(std::string(path));
    tx.close();
    return back == 45 && s.dropped == 0;
  });
  check(main_task.get().value(), "10 round trips echoed, nothing dropped");
  check(static_cast<bool>(echo.get()), "the echo task ended");
  return failures == 0 ? 0 : 1;
}

/// Records `rounds` round trips between two tasks on one worker (each round trip: two direct
/// hand-offs) with the given options; writes the JSON to `path` (none: discarded); returns the
/// summary.
weft::trace::summary ping_pong_trace(const weft::trace::options& o, int rounds, const std::string& path = {}) {
  weft::runtime rt({.workers = 1});
  auto [ping_tx, ping_rx] = weft::make_chan<int>(0);
  auto pong = weft::make_chan<int>(0);
  auto echo = weft::spawn(rt, [tx = std::move(pong.tx), rx = std::move(ping_rx)]() mutable {
    for (;;) {
      weft::result<int> r = rx.recv();
      if (!r) return;
      (void)tx.send(*r);
    }
  });
  weft::trace::summary s;
  auto main_task = weft::spawn(rt, [&, tx = std::move(ping_tx)]() mutable {
    weft::trace::start(o);
    long back = 0;
    for (int i = 0; i < rounds; ++i) {
      (void)tx.send(i);
      weft::result<int> r = pong.rx.recv();
      back += r ? *r : -1'000'000;
    }
    if (path.empty()) {
      std::ostringstream sink;
      s = weft::trace::stop(sink);
    } else {
      s = weft::trace::stop(path);
    }
    tx.close();
    return back == static_cast<long>(rounds) * (rounds - 1) / 2;
  });
  check(main_task.get().value(), "every round trip echoed");
  check(static_cast<bool>(echo.get()), "the echo task ended");
  return s;
}

int run_sampled(const char* path) {
  check(throws_weft_error([] { weft::trace::start({.stamp_every = 0}); }, weft::status::failed),
        "stamp_every = 0 throws weft::error(failed)");
  check(!weft::trace::is_recording(), "a refused start records nothing");
  constexpr int rounds = 1000;  // 2,000 direct hand-offs, well within one 16,384-record ring
  const weft::trace::summary every = ping_pong_trace({}, rounds);
  // Its JSON: check_trace.py --recv-parks 2000 (every park of both tasks, placed in order).
  const weft::trace::summary sampled = ping_pong_trace({.stamp_every = 8}, rounds, std::string(path) + ".pingpong.json");
  check(every.dropped == 0 && sampled.dropped == 0, "nothing dropped");
  // Sampling drops clock readings, not events.
  check(sampled.events == every.events, "the same events with and without sampled stamps");
  // Every switch (2 per round trip): direct hand-offs, and a pass through the scheduler loop
  // now and then (its fairness turns), which always reads the clock.
  check(every.stamped >= 2 * rounds, "stamp_every = 1: every switch read the clock");
  // One direct hand-off in 8, plus the loop's switch-ins (about 1 switch in 25 here).
  check(sampled.stamped >= every.stamped / 8 && sampled.stamped <= every.stamped / 4,
        "stamp_every = 8: one hand-off in 8 read the clock");
  std::fprintf(stderr, "trace_scenario sampled: events %llu / %llu, stamped %llu / %llu\n",
               static_cast<unsigned long long>(every.events), static_cast<unsigned long long>(sampled.events),
               static_cast<unsigned long long>(every.stamped), static_cast<unsigned long long>(sampled.stamped));
  weft::trace::start({.buffer_events = 1 << 16, .stamp_every = 8});
  scenario();
  const weft::trace::summary s = weft::trace::stop(std::string(path));
  check(s.tasks >= 3 && s.dropped == 0, "the scenario recorded with sampled hand-off stamps");
  return failures == 0 ? 0 : 1;
}

int run_env() {
  check(weft::trace::is_recording(), "WEFT_TRACE started a trace at load time");
  scenario();
  return failures == 0 ? 0 : 1;  // the library writes the file at exit
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "api") == 0) return run_api(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "overflow") == 0) return run_overflow(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "sched") == 0) return run_sched(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "resize") == 0) return run_resize(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "precise") == 0) return run_precise(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "inside") == 0) return run_inside(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "sampled") == 0) return run_sampled(argv[2]);
  if (argc >= 2 && std::strcmp(argv[1], "env") == 0) return run_env();
  std::fprintf(stderr, "usage: trace_scenario api|overflow|sched|precise|resize|inside|sampled <out.json> | env\n");
  return 2;
}
