// The runtimes the micro-benchmarks run their tasks and actors on: one per worker count, made on
// first use and shared by every benchmark of the weft_micro binary; never destroyed (a
// benchmark's helper task may still be parked when the process exits).
#pragma once

#include <cstddef>

#include <weft/chan.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>

namespace weft_micro {

template <std::size_t Workers>
weft::runtime& shared_runtime() {
  static weft::runtime* rt = [] {
    weft::runtime_options o;
    o.workers = Workers;
    return new weft::runtime(o);
  }();
  return *rt;
}

/// The echo half of the task ping-pong benchmarks: on the one-worker runtime, sends back every
/// int received on `rx` through `tx` until `rx` is closed. Returns its future.
inline auto spawn_echo(weft::sender<int> tx, weft::receiver<int> rx) {
  return weft::spawn(shared_runtime<1>(), [tx = std::move(tx), rx = std::move(rx)]() mutable {
    for (;;) {
      auto r = rx.recv();
      if (!r) return;
      (void)tx.send(*r);
    }
  });
}

}  // namespace weft_micro
