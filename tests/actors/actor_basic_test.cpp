// Actors, the plain semantics of API.md "Actors": tell/ask/void ask, handler result types,
// stop (refuse new at once, handle the queued, then end), tell/ask after stop or end -> closed,
// bounded mailboxes (full; the message being handled does not count), monitors (before and
// after the end), the last handle stopping the actor, an empty handle, and message lifetimes.
#include <atomic>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actor_support.hpp"

namespace {

using namespace weft::test::actors;
using weft::status;
using weft::test::tracked_move_only;

class ActorBasic : public ActorTest {};
WEFT_ACTOR_SUITE(ActorBasic);

TEST_P(ActorBasic, TellThenAskSeesEveryTell) {
  auto c = spawn<counter>();
  for (int i = 1; i <= 100; ++i) ASSERT_EQ(c.tell(i), status::ok);
  auto r = get(c.ask(get_t{}));
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 5050);
}

TEST_P(ActorBasic, AskOfVoidHandlerGivesFutureOfVoid) {
  auto c = spawn<counter>();
  weft::future<void> f = c.ask(ping_t{});
  EXPECT_EQ(get(f).code(), status::ok);
}

struct named {
  std::string name;
  explicit named(std::string n) : name(std::move(n)) {}
  const std::string& operator()(get_t) const { return name; }  // R is std::string (a copy)
  std::size_t operator()(const std::string& s) const { return s.size() + name.size(); }
};

TEST_P(ActorBasic, HandlerResultTypeIsDecayedAndArgumentsAreForwarded) {
  auto a = spawn<named>(std::string("weft"));
  static_assert(std::is_same_v<decltype(a.ask(get_t{})), weft::future<std::string>>);
  EXPECT_EQ(get(a.ask(get_t{})).value(), "weft");
  const std::string s = "abc";
  EXPECT_EQ(get(a.ask(s)).value(), 7u);
}

TEST_P(ActorBasic, TellAndAskAfterStopAreClosed) {
  auto c = spawn<counter>();
  c.stop();
  EXPECT_EQ(c.tell(1), status::closed);
  auto f = c.ask(get_t{});
  auto r = f.try_get();  // completed at once
  EXPECT_EQ(r.code(), status::closed);
  c.stop();  // idempotent
  EXPECT_TRUE(c.is_stopped());
}

TEST_P(ActorBasic, StopHandlesQueuedMessagesThenEnds) {
  auto c = spawn<counter>();
  blocker b;
  ASSERT_EQ(c.tell(b.msg()), status::ok);
  b.wait_started();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(c.tell(1), status::ok);
  auto gets = c.ask(get_t{});  // queued before stop: answered
  auto mon = c.monitor();
  c.stop();
  EXPECT_EQ(c.tell(1), status::closed) << "stop refuses new messages at once";
  EXPECT_EQ(c.ask(get_t{}).try_get().code(), status::closed);
  EXPECT_EQ(mon.try_recv().code(), status::empty) << "the actor must not end before its queue is handled";
  b.release();
  auto r = get(gets);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 100);
  auto e = recv(mon);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(e->reason, weft::exit_reason::stopped);
  EXPECT_EQ(e->error, nullptr);
  EXPECT_EQ(recv(mon).code(), status::closed) << "one value per monitor, then closed";
  EXPECT_EQ(c.tell(1), status::closed) << "ended";
}

TEST_P(ActorBasic, StopFromInsideAHandlerEndsAfterTheQueue) {
  struct self_stopper {
    weft::actor_ref<self_stopper>* self;
    long n = 0;
    void operator()(int) {
      if (++n == 3) self->stop();
    }
  };
  weft::actor_ref<self_stopper> a;
  a = spawn<self_stopper>(&a);
  auto mon = a.monitor();
  for (int i = 0; i < 10; ++i) (void)a.tell(i);  // some may be refused after the third
  auto e = recv(mon);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(e->reason, weft::exit_reason::stopped);
}

TEST_P(ActorBasic, MonitorAfterTheEndDeliversAtOnce) {
  auto c = spawn<counter>();
  auto first = c.monitor();
  c.stop();
  ASSERT_TRUE(static_cast<bool>(recv(first)));
  auto late = c.monitor();
  auto e = late.try_recv();
  ASSERT_TRUE(static_cast<bool>(e)) << "monitor() after the end must deliver at once, got " << e.code();
  EXPECT_EQ(e->reason, weft::exit_reason::stopped);
  EXPECT_EQ(late.try_recv().code(), status::closed);
}

TEST_P(ActorBasic, EveryMonitorIsToldOnce) {
  auto c = spawn<counter>();
  std::vector<weft::receiver<weft::exit_info>> mons;
  for (int i = 0; i < 10; ++i) mons.push_back(c.monitor());
  c.stop();
  for (auto& m : mons) {
    EXPECT_TRUE(static_cast<bool>(recv(m)));
    EXPECT_EQ(recv(m).code(), status::closed);
  }
}

TEST_P(ActorBasic, DroppingTheLastHandleStopsTheActor) {
  weft::receiver<weft::exit_info> mon;
  weft::future<long> answer;
  {
    auto c = spawn<counter>();
    auto copy = c;  // copies count as handles
    (void)c.tell(41);
    (void)copy.tell(1);
    answer = c.ask(get_t{});
    mon = c.monitor();
  }
  EXPECT_EQ(get(answer).value(), 42) << "queued messages are still handled";
  auto e = recv(mon);
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(e->reason, weft::exit_reason::stopped);
}

TEST_P(ActorBasic, BoundedMailboxIsFullAtCapacityNotCountingTheHandledMessage) {
  weft::actor_options o;
  o.mailbox_capacity = 2;
  auto c = spawn_with<counter>(o);
  blocker b;
  ASSERT_EQ(c.tell(b.msg()), status::ok);
  b.wait_started();  // being handled: no longer counts
  EXPECT_EQ(c.tell(1), status::ok);
  EXPECT_EQ(c.tell(2), status::ok);
  EXPECT_EQ(c.mailbox_size(), 2u);
  EXPECT_EQ(c.tell(4), status::full);
  auto f = c.ask(get_t{});
  EXPECT_EQ(f.try_get().code(), status::full) << "ask on a full mailbox: a future already completed with full";
  b.release();
  wait_until([&] { return c.mailbox_size() == 0; }, "the mailbox to drain");
  EXPECT_EQ(get(c.ask(get_t{})).value(), 3);
}

struct keeper {
  std::vector<tracked_move_only> kept;
  void operator()(tracked_move_only t) { kept.push_back(std::move(t)); }
  std::size_t operator()(get_t) const { return kept.size(); }
  void operator()(block_t b) {
    (void)b.started.try_send(1);
    (void)b.until.recv();
  }
};

TEST_P(ActorBasic, RefusedTellLeavesTheMessageUntouched) {
  weft::actor_options o;
  o.mailbox_capacity = 1;
  auto k = spawn_with<keeper>(o);
  blocker b;
  ASSERT_EQ(k.tell(b.msg()), status::ok);
  b.wait_started();
  ASSERT_EQ(k.tell(tracked_move_only(1)), status::ok);
  tracked_move_only t(2);
  EXPECT_EQ(k.tell(std::move(t)), status::full);
  EXPECT_FALSE(t.is_moved_from());
  auto f = k.ask(std::move(t));
  EXPECT_EQ(f.try_get().code(), status::full);
  EXPECT_FALSE(t.is_moved_from());
  b.release();
  k.stop();
  EXPECT_EQ(k.tell(std::move(t)), status::closed);
  EXPECT_FALSE(t.is_moved_from());
  auto g = k.ask(std::move(t));
  EXPECT_EQ(g.try_get().code(), status::closed);
  EXPECT_FALSE(t.is_moved_from());
  EXPECT_EQ(t.value(), 2);
}

TEST_P(ActorBasic, MessagesAreDestroyedExactlyOnce) {
  weft::test::leak_check guard;
  auto mon_rx = [&] {
    auto k = spawn<keeper>();
    blocker b;
    (void)k.tell(b.msg());
    b.wait_started();
    for (int i = 0; i < 50; ++i) EXPECT_EQ(k.tell(tracked_move_only(i)), status::ok);
    std::vector<weft::future<void>> asks;
    for (int i = 0; i < 50; ++i) asks.push_back(k.ask(tracked_move_only(100 + i)));
    auto mon = k.monitor();
    k.stop();
    b.release();
    for (auto& f : asks) EXPECT_EQ(get(f).code(), status::ok);
    return mon;
  }();
  ASSERT_TRUE(static_cast<bool>(recv(mon_rx)));
  guard.verify();  // the keeper's vector died with the behaviour at the end
}

TEST(ActorExitReason, HasNames) {
  EXPECT_STREQ(weft::to_string(weft::exit_reason::stopped), "stopped");
  EXPECT_STREQ(weft::to_string(weft::exit_reason::failed), "failed");
  std::ostringstream os;
  os << weft::exit_reason::failed;
  EXPECT_EQ(os.str(), "failed");
}

TEST_P(ActorBasic, EmptyHandleThrowsClosed) {
  weft::actor_ref<counter> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  try {
    (void)empty.tell(1);
    ADD_FAILURE() << "tell on an empty handle did not throw";
  } catch (const weft::error& e) {
    EXPECT_EQ(e.code(), status::closed);
  }
  auto c = spawn<counter>();
  auto moved = std::move(c);
  EXPECT_FALSE(static_cast<bool>(c));  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_TRUE(static_cast<bool>(moved));
  EXPECT_THROW((void)c.ask(get_t{}), weft::error);  // NOLINT(bugprone-use-after-move)
}

TEST_P(ActorBasic, ConstructorArgumentsAreCopiedAndForwarded) {
  struct adder {
    long base;
    explicit adder(long b) : base(b) {}
    long operator()(long x) const { return base + x; }
  };
  long base = 40;
  auto a = spawn<adder>(base);
  EXPECT_EQ(get(a.ask(2L)).value(), 42);
  auto d = weft::spawn_actor<adder>(rt(), weft::actor_options{}, 1L);
  EXPECT_EQ(get(d.ask(1L)).value(), 2);
}

}  // namespace

// ---- batching of streamed messages (actor_options::batch_wait) ----------------------------------

namespace {
struct chain_t {
  int left;
};
/// Tells itself the next link of a chain: every run finds a message that arrived during the run
/// (its own), which looks like a streaming sender to the runner.
struct self_teller {
  weft::actor_ref<self_teller>* self;
  long handled = 0;
  void operator()(chain_t c) {
    ++handled;
    if (c.left > 0) (void)self->tell(chain_t{c.left - 1});
  }
  long operator()(get_t) const { return handled; }
};

long run_chain(weft::actor_ref<self_teller>& a, int links) {
  EXPECT_EQ(a.tell(chain_t{links - 1}), status::ok);
  long seen = 0;
  wait_until([&] { return (seen = get(a.ask(get_t{})).value()) >= links; }, "the chain of self-tells ends");
  return seen;
}
}  // namespace

// An actor that tells itself: its runner waits for a batch at most once per 64 occasions, since
// a wait brings nothing (nobody else sends). Without the back-off it would wait at every link;
// without streaming detection, never.
TEST_P(ActorBasic, BatchWaitBacksOffWhenNobodyElseSends) {
  constexpr int links = 64 * 100;
  weft::actor_ref<self_teller> a;
  a = spawn_with<self_teller>(weft::actor_options{}, &a);
  EXPECT_EQ(run_chain(a, links), links);
  const std::uint64_t waits = a.batch_waits();
  EXPECT_GE(waits, 1u) << "the runner never saw its own tells as a stream";
  EXPECT_LE(waits, links / 64 + 4u) << "the runner kept waiting for batches nobody was sending";
  a.stop();
}

TEST_P(ActorBasic, BatchWaitZeroNeverWaits) {
  constexpr int links = 2000;
  weft::actor_options o;
  o.batch_wait = std::chrono::nanoseconds(0);
  weft::actor_ref<self_teller> a;
  a = spawn_with<self_teller>(o, &a);
  EXPECT_EQ(run_chain(a, links), links);
  EXPECT_EQ(a.batch_waits(), 0u);
  a.stop();
}

TEST_P(ActorBasic, BatchWaitOutOfRangeIsRefused) {
  for (auto bad : {std::chrono::nanoseconds(-1), std::chrono::nanoseconds(std::chrono::seconds(2))}) {
    weft::actor_options o;
    o.batch_wait = bad;
    try {
      (void)spawn_with<counter>(o);
      ADD_FAILURE() << "spawn_actor accepted batch_wait = " << bad.count() << " ns";
    } catch (const weft::error& e) {
      EXPECT_EQ(e.code(), status::failed);
      EXPECT_NE(std::string(e.what()).find("batch_wait"), std::string::npos) << e.what();
    }
  }
}
