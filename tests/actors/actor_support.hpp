// tests/actors/actor_support.hpp: the fixture and small behaviours shared by the actor tests.
//
// `ActorTest` (TEST_P over the number of workers of the actors' runtime: one, two) gives each
// test its own runtime, and at the end checks that every actor the test spawned has ended
// (stats().actors_live back to where it was) and that no tracked object leaked.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <weft/actor.hpp>
#include <weft/chan.hpp>
#include <weft/oneshot.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>

#include "../support/scale.hpp"
#include "../support/tracked.hpp"

namespace weft::test::actors {

using namespace std::chrono_literals;

/// Waits (yielding) until pred() holds; aborts the test process after hang_deadline().
template <class Pred>
void wait_until(Pred pred, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + hang_deadline();
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "hang: " << what;
      std::abort();
    }
    weft::yield();
  }
}

/// get(fut) with a hang deadline: a lost wake-up becomes a failure, not a stuck CI job.
template <class T>
weft::result<T> get(weft::future<T>& f, const char* what = "future") {
  auto r = f.get_until(std::chrono::steady_clock::now() + hang_deadline());
  if (r.code() == weft::status::timeout) {
    ADD_FAILURE() << "hang: " << what;
    std::abort();
  }
  return r;
}
template <class T>
weft::result<T> get(weft::future<T>&& f, const char* what = "future") {
  return get(f, what);
}

/// recv with a hang deadline.
template <class T>
weft::result<T> recv(weft::receiver<T>& rx, const char* what = "receiver") {
  auto r = rx.recv_for(hang_deadline());
  if (r.code() == weft::status::timeout) {
    ADD_FAILURE() << "hang: " << what;
    std::abort();
  }
  return r;
}

class ActorTest : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    weft::runtime_options opts;
    opts.workers = GetParam();
    rt_.emplace(opts);
    live0_ = actors_live();
  }
  void TearDown() override {
    wait_until([this] { return actors_live() <= live0_; }, "every actor has ended");
    EXPECT_EQ(actors_live(), live0_) << "actors still alive at the end of the test";
    wait_until([this] { return weft::stats(rt()).tasks_live == 0; }, "every runner task has ended");
    rt_.reset();  // waits for every task
    leaks_.verify();
  }
  weft::runtime& rt() { return *rt_; }
  /// Process-wide (stats().actors_live), read through this test's runtime.
  std::size_t actors_live() { return weft::stats(rt()).actors_live; }

  template <class B, class... A>
  weft::actor_ref<B> spawn(A&&... a) {
    return weft::spawn_actor<B>(rt(), weft::actor_options{}, std::forward<A>(a)...);
  }
  template <class B, class... A>
  weft::actor_ref<B> spawn_with(weft::actor_options o, A&&... a) {
    return weft::spawn_actor<B>(rt(), o, std::forward<A>(a)...);
  }

 private:
  std::size_t live0_ = 0;
  leak_check leaks_;
  std::optional<weft::runtime> rt_;
};

struct worker_name_t {
  std::string operator()(const ::testing::TestParamInfo<std::size_t>& info) const {
    return info.param == 1 ? "OneWorker" : std::to_string(info.param) + "Workers";
  }
};

#define WEFT_ACTOR_SUITE(Suite) \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite, ::testing::Values(std::size_t{1}, std::size_t{2}), \
                           ::weft::test::actors::worker_name_t{})

// ---- messages and behaviours ---------------------------------------------------------------------

struct get_t {};
struct ping_t {};
struct boom_t {};
struct block_t {
  weft::receiver<int> until;  // the handler returns when this is closed (or has a value)
  weft::sender<int> started;  // the handler sends 1 here first (if not empty)
};

struct boom_error : std::runtime_error {
  boom_error() : std::runtime_error("boom") {}
};

/// The classic: adds ints, answers get_t; throws on boom_t; blocks on block_t.
struct counter {
  long n = 0;
  void operator()(int add) { n += add; }
  long operator()(get_t) const { return n; }
  void operator()(ping_t) {}
  void operator()(boom_t) { throw boom_error(); }
  void operator()(block_t b) {
    (void)b.started.try_send(1);
    (void)b.until.recv();
  }
};

/// A handler-blocking message and the two channels that drive it.
struct blocker {
  weft::chan<int> until = weft::make_chan<int>(1);
  weft::chan<int> started = weft::make_chan<int>(1);
  block_t msg() { return block_t{until.rx, started.tx}; }
  void wait_started() {
    auto r = recv(started.rx, "the blocking handler to start");
    ASSERT_TRUE(static_cast<bool>(r));
  }
  void release() { until.tx.close(); }
};

}  // namespace weft::test::actors
