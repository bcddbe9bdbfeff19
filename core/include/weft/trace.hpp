// weft/trace.hpp: the flight recorder. Records what the runtime, the channels and the actors do
// (spawn, run, park, unpark, send, recv, a select's case that fired, actor handler begin/end,
// worker idle) into one ring buffer per OS thread, and writes the last events on demand as
// Chrome trace-event JSON, which opens in Perfetto (https://ui.perfetto.dev) and
// chrome://tracing. See docs/trace.md.
//
// When to use it: to see why a program is slow or stuck: which task ran where, how long it sat
// parked and on what, who woke it (a flow arrow from the waker to the woken task).
//
// Recording: start() turns every hook on; each thread appends to its own ring (no lock, no
// shared write); a full ring overwrites its oldest events (a flight recorder: you get the last
// `buffer_events` events of every thread) and the output reports how many were dropped.
// stop() turns the hooks off and writes the JSON; snapshot() writes without stopping.
// Without code changes: run the program with WEFT_TRACE=<path> in its environment; recording
// then starts when the library is loaded and the JSON is written at normal process exit.
//
// Threads vs tasks: events of a task are recorded on the ring of the worker thread running it;
// plain OS threads (outside any runtime) get their own ring and track.
// Allocation: each thread's ring is allocated the first time it records during a trace
// (buffer_events x 32 bytes); nothing else allocates on the recording path. stop()/snapshot()
// allocate freely.
// Cost: with no trace recording, each hook is one relaxed load and an untaken branch. Recording
// costs at most one 32-byte record per event (a worker folds a wake-up into the next channel
// record, and a direct task-to-task switch's two events into one), plus one TSC read per
// stamped record (docs/trace.md has the measured figures).
//
//   weft::trace::start();                       // or start({.buffer_events = 1 << 20})
//   ...                                         // tasks, channels, actors
//   weft::trace::summary s = weft::trace::stop("weft-trace.json");
//   // open weft-trace.json in https://ui.perfetto.dev
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace weft::trace {

struct options {
  /// Records kept per thread (rounded up to a power of two, at least 64). 32 bytes each: the
  /// default keeps the last 16,384 records (512 KiB) of every thread that records. A record is
  /// one event, or two that a worker folds into one (a wake-up with the next channel operation,
  /// a direct task-to-task switch). Applies to threads that record for the first time in this
  /// trace (rings are made on first use).
  std::size_t buffer_events = 16 * 1024;
  /// false (default): only switch-ins, spawns, idle and actor handler events read the clock;
  /// events inside a running task (send, recv, unpark, switch-out) are placed in order between
  /// their thread's neighbouring stamped events. true: every event reads the clock (exact times,
  /// about 10 ns more per event on x86-64). Threads outside the runtime always stamp every event.
  bool precise_timestamps = false;
  /// true (default): record every channel send/recv/try_send/try_recv at the handle. false: the
  /// scheduler's and actors' events only (spawn, run, park, wake, idle, handler): the channel
  /// hooks then cost what they cost with no trace. On W5 (ping-pong: 10 events per round trip,
  /// 4 of them channel operations) this is the difference between about +16% and +12%; see
  /// docs/trace.md.
  bool channel_events = true;
  /// Sampled switch stamps (ignored with precise_timestamps). 1 (default): every task switch
  /// reads the clock, so every run slice's boundaries are exact. k > 1: of a worker's direct
  /// task-to-task switches (a parking task handing the worker to the task it woke: hand-off
  /// chains such as a ping-pong), one in k reads the clock and the others are placed evenly
  /// between their stamped neighbours: their order on the thread stays exact, their times do
  /// not, and a slice between two direct switches may show shorter or longer than it was (by
  /// at most the time between the two stamps around it). Switches from the scheduler loop,
  /// spawns, idle and actor handler events are always stamped. A clock read costs 10-20 ns on
  /// x86-64 VMs, a hand-off chain's hop ~70 ns: on W5 (green ping-pong, Intel VM)
  /// stamp_every = 8 takes recording from about +30-40% to +20%, and with
  /// channel_events = false to about +13% (docs/trace.md, "Session 12"). summary::stamped says
  /// how many records read the clock.
  std::uint32_t stamp_every = 1;
};

/// What a written trace holds.
struct summary {
  std::uint64_t events = 0;   ///< events written to the JSON
  std::uint64_t dropped = 0;  ///< records lost: overwritten in a full ring (the oldest go first);
                              ///< a record is one event, or two folded (docs/trace.md, "Events")
  std::size_t threads = 0;    ///< threads (rings) that recorded
  std::size_t tasks = 0;      ///< distinct task lifetimes seen
  std::uint64_t stamped = 0;  ///< records written that read the clock (the rest are placed
                              ///< between them: options::precise_timestamps, stamp_every)
};

/// Starts recording. Throws weft::error(closed) if a trace is already recording, and
/// weft::error(failed) if opts.stamp_every is 0.
void start(const options& opts = {});
/// Stops recording and writes the JSON to `path` (or `os`). Throws weft::error(closed) if no
/// trace is recording, weft::error(failed) if the file cannot be written.
summary stop(const std::string& path);
summary stop(std::ostream& os);
/// Writes the events recorded so far and keeps recording. Throws as stop() does.
summary snapshot(std::ostream& os);
/// True between start() and stop().
bool is_recording() noexcept;

}  // namespace weft::trace
