// The flight recorder's JSON writer on hand-made records: the folded records a worker writes
// (<weft/detail/trace.hpp>, "Folded records") come out as the events they stand for, in order.
// tests/trace checks whole recordings; these pin the unfolding case by case, including the ones
// a recording rarely shows (a hand-off whose parking task is unknown because its switch-in was
// overwritten or came before the recording).
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <weft/detail/trace.hpp>
#include <weft/detail/trace_buffer.hpp>
#include <weft/status.hpp>

namespace {

using weft::detail::trace_kind;
using weft::detail::trace_raw;

constexpr std::uint64_t task_a = 0x10000, task_b = 0x20000, chan_x = 0x90000, chan_y = 0xa0000;

std::uint64_t meta(trace_kind k, std::uint64_t aux = 0) { return static_cast<std::uint64_t>(k) | aux << 8; }
std::uint64_t status_bits(weft::status s) { return static_cast<std::uint64_t>(s); }
std::uint64_t op(const char* name) { return reinterpret_cast<std::uintptr_t>(name); }

/// Several rings (worker i: "weft-w<i>"), each record's ts as given (0: unstamped; stamped
/// ones must be odd); ring 0's task running before its first record: running_before.
std::string write_rings(std::vector<std::vector<trace_raw>> rings, std::uint64_t running_before = 0) {
  weft::detail::trace_copy c;
  c.tsc_start = 0;
  c.ns_per_tick = 1.0;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    weft::detail::trace_ring_copy r;
    r.name = "weft-w" + std::to_string(i);
    r.os_tid = static_cast<int>(i) + 1;
    r.records = std::move(rings[i]);
    r.running = i == 0 ? running_before : 0;
    c.rings.push_back(std::move(r));
  }
  std::ostringstream os;
  (void)weft::detail::write_trace_json(c, os);
  return os.str();
}

/// One ring; stamped records get ts = 1000 + 2 * i + 1 (odd: stamped, increasing); unstamped
/// ones keep 0.
std::string write(std::vector<trace_raw> recs, std::uint64_t running_before = 0) {
  for (std::size_t i = 0; i < recs.size(); ++i)
    if (recs[i].ts != 0) recs[i].ts = 1000 + 2 * i + 1;
  return write_rings({std::move(recs)}, running_before);
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

const char* const recv_op = "recv";
const char* const send_op = "send";

TEST(TraceWriter, HandoffIsTheNextTasksSwitchInAndTheRunningTasksPark) {
  const std::string json = write({
      {1, meta(trace_kind::run), task_a, 0},
      {1, meta(trace_kind::handoff, op(recv_op)), task_b, chan_x},  // a parks on recv x, b runs
      {1, meta(trace_kind::handoff, op(send_op)), task_a, chan_y},  // b parks on send y, a runs
  });
  // Task tracks: a parked on recv (chan #1), b parked on send (chan #2); each ran.
  EXPECT_EQ(count(json, "\"name\":\"parked: recv #1\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"parked: send #2\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"running\",\"cat\":\"task\",\"ph\":\"B\""), 3u) << json;
  // Worker track: three run slices (a, b, a again).
  EXPECT_EQ(count(json, "\"name\":\"task 1\",\"cat\":\"task\",\"ph\":\"B\",\"ts\""), 2u) << json;
  EXPECT_EQ(count(json, "\"name\":\"task 2\",\"cat\":\"task\",\"ph\":\"B\",\"ts\""), 1u) << json;
  EXPECT_NE(json.find("\"records\":5"), std::string::npos) << "3 records stand for 5 events: " << json;
}

TEST(TraceWriter, HandoffWithTheParkingTaskUnknownIsASwitchInAlone) {
  // The ring's first record is a hand-off: the task that parked ran before the recording (or
  // its switch-in was overwritten), so there is nobody to mark parked.
  const std::string json = write({
      {1, meta(trace_kind::handoff, op(recv_op)), task_b, chan_x},
      {1, meta(trace_kind::handoff, op(send_op)), task_a, chan_y},
  });
  EXPECT_EQ(count(json, "parked: recv"), 0u) << json;
  EXPECT_EQ(count(json, "\"name\":\"parked: send #1\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  EXPECT_NE(json.find("\"records\":3"), std::string::npos) << json;
}

TEST(TraceWriter, HandoffBeforeAnySwitchInParksTheTaskThatRanWhenTheRingStarted) {
  // The recording started inside task a (its ring registered on a's first record): a's first
  // hand-off has no switch-in before it in the ring, and the ring knows a was running.
  const std::string json = write({
      {0, meta(trace_kind::send, status_bits(weft::status::ok)), chan_x, task_b},
      {1, meta(trace_kind::handoff, op(recv_op)), task_b, chan_y},
  }, task_a);
  EXPECT_EQ(count(json, "\"name\":\"parked: recv #1\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  const std::size_t park = json.find("\"name\":\"parked: recv #1\"");
  ASSERT_NE(park, std::string::npos);
  const std::string event = json.substr(park, json.find('}', park) - park);
  // Tasks are numbered in order of appearance: b (woken) is task 1, a task 2.
  EXPECT_NE(event.find("\"tid\":100002"), std::string::npos) << "a (task 2) parked: " << event;
}

TEST(TraceWriter, TheParkingTaskIsTheLastOneSwitchedIn) {
  // a parks through the scheduler loop (its own stop_park), then b is switched in by the loop
  // and hands off to a: b is the one that parks, not a.
  const std::string json = write({
      {1, meta(trace_kind::run), task_a, 0},
      {0, meta(trace_kind::stop_park, op(recv_op)), task_a, chan_x},
      {1, meta(trace_kind::run), task_b, 0},
      {1, meta(trace_kind::handoff, op(send_op)), task_a, chan_y},
  });
  EXPECT_EQ(count(json, "\"name\":\"parked: recv #1\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"parked: send #2\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
  // The second park is b's (task 2's track), which a wrong "running task" would give to a.
  const std::size_t send_park = json.find("\"name\":\"parked: send #2\"");
  ASSERT_NE(send_park, std::string::npos);
  const std::string event = json.substr(send_park, json.find('}', send_park) - send_park);
  EXPECT_NE(event.find("\"tid\":100002"), std::string::npos) << event;
}

TEST(TraceWriter, AChannelRecordCarryingAWakeUpIsTheWakeUpThenTheOperation) {
  const std::string json = write({
      {1, meta(trace_kind::run), task_a, 0},
      {0, meta(trace_kind::send, status_bits(weft::status::ok)), chan_x, task_b},  // woke b
      {0, meta(trace_kind::recv, status_bits(weft::status::closed)), chan_y, 0},   // no wake-up
      {1, meta(trace_kind::handoff, op(recv_op)), task_b, chan_y},
  });
  const std::size_t wake = json.find("\"name\":\"wake task 2\"");
  // Channel numbers go by first appearance: y (#1) in b's park on the task track, x (#2) here.
  const std::size_t send = json.find("\"name\":\"send chan#2\"");
  const std::size_t recv = json.find("\"name\":\"recv chan#1\"");
  ASSERT_NE(wake, std::string::npos) << json;
  ASSERT_NE(send, std::string::npos) << json;
  ASSERT_NE(recv, std::string::npos) << json;
  EXPECT_LT(wake, send) << "the wake-up happened inside the send";
  EXPECT_NE(json.find("\"status\":\"ok\"", send), std::string::npos) << json;
  EXPECT_NE(json.find("\"status\":\"closed\"", recv), std::string::npos) << json;
  EXPECT_EQ(count(json, "wake task"), 1u) << "a record without a wake-up adds none: " << json;
  // The wake-up's flow arrow ends at b's switch-in.
  EXPECT_EQ(count(json, "\"cat\":\"flow\",\"ph\":\"s\""), 1u) << json;
  EXPECT_EQ(count(json, "\"cat\":\"flow\",\"ph\":\"f\""), 1u) << json;
}

TEST(TraceWriter, TryAndSelectFlagsNameTheOperation) {
  const std::uint64_t ok = status_bits(weft::status::ok), full = status_bits(weft::status::full);
  const std::string json = write({
      {1, meta(trace_kind::run), task_a, 0},
      {0, meta(trace_kind::send, full | weft::detail::trace_try_bit), chan_x, 0},
      {0, meta(trace_kind::recv, ok | weft::detail::trace_try_bit), chan_x, 0},
      {0, meta(trace_kind::recv, ok | weft::detail::trace_select_bit), chan_x, task_b},
      {0, meta(trace_kind::send, ok | weft::detail::trace_select_bit), chan_x, 0},
  });
  EXPECT_EQ(count(json, "\"name\":\"try_send chan#1\""), 1u) << json;
  EXPECT_NE(json.find("\"status\":\"full\"", json.find("try_send chan#1")), std::string::npos) << json;
  EXPECT_EQ(count(json, "\"name\":\"try_recv chan#1\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"select_recv chan#1\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"select_send chan#1\""), 1u) << json;
  EXPECT_EQ(count(json, "\"name\":\"wake task 2\""), 1u) << json;
}

// options::stamp_every: direct switches between two stamped ones carry no clock reading and
// are placed evenly between them; the worker's run slices follow.
TEST(TraceWriter, UnstampedHandoffsArePlacedEvenlyBetweenTheirStampedNeighbours) {
  const std::string json = write_rings({{
      {1001, meta(trace_kind::run), task_a, 0},
      {0, meta(trace_kind::handoff, op(recv_op)), task_b, chan_x},     // at 1,011 ns
      {0, meta(trace_kind::handoff, op(send_op)), task_a, chan_y},     // at 1,021 ns
      {1031, meta(trace_kind::handoff, op(recv_op)), task_b, chan_x},  // stamped
  }});
  const std::string b_runs = "\"name\":\"task 2\",\"cat\":\"task\",\"ph\":\"B\",\"ts\":";
  EXPECT_NE(json.find(b_runs + "1.011,"), std::string::npos) << json;
  EXPECT_NE(json.find(b_runs + "1.031,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\":\"task 1\",\"cat\":\"task\",\"ph\":\"B\",\"ts\":1.021,"), std::string::npos)
      << json;
  // Each unstamped hand-off still parks the task that ran: a twice on recv x, b once on send y.
  EXPECT_EQ(count(json, "\"name\":\"parked: recv #1\",\"cat\":\"task\",\"ph\":\"B\""), 2u) << json;
  EXPECT_EQ(count(json, "\"name\":\"parked: send #2\",\"cat\":\"task\",\"ph\":\"B\""), 1u) << json;
}

// A task parks on worker 0 by an unstamped direct switch whose interpolated time (1,501 ns) falls
// after the task's next switch-in on worker 1 (1,201 ns): the task track must not show it
// parked while it runs on worker 1.
TEST(TraceWriter, AnInterpolatedParkOnAnotherWorkerDoesNotParkARunningTask) {
  const std::string json = write_rings({
      {
          {1001, meta(trace_kind::run), task_a, 0},
          {0, meta(trace_kind::handoff, op(recv_op)), task_b, chan_x},  // a parks: placed at 1,501
          {2001, meta(trace_kind::idle_begin), 0x1, 0},
      },
      {
          {1201, meta(trace_kind::run), task_a, 0},  // a runs on worker 1 (it parked before 1,201)
          {1801, meta(trace_kind::idle_begin), 0x2, 0},
      },
  });
  EXPECT_EQ(count(json, "\"name\":\"parked: recv #1\",\"cat\":\"task\""), 0u) << json;
  EXPECT_EQ(count(json, "\"name\":\"running\",\"cat\":\"task\",\"ph\":\"B\""), 3u) << json;  // a twice, b
}

}  // namespace
