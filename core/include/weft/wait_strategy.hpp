// weft/wait_strategy.hpp: how the calling OS thread waits when a weft operation must block.
//
// `adaptive` (the default) spins briefly, then parks the thread on a futex; it parks at once
// when enough other weft threads are already spinning to fill the machine's cores, so a waiter
// never burns the core its partner needs. Right after a thread has woken a parked thread, its
// next wait spins longer (up to 16-200 us, learnt per thread from how soon the answers came):
// the woken thread's answer would otherwise need a second slow futex wake-up (request/reply,
// ping-pong); that spin leaves at least one core not spinning. `spin` never parks: the thread busy-waits with the CPU
// relax instruction until its operation completes or its deadline passes (for latency-critical
// threads pinned to dedicated cores; it wastes a core otherwise). `park` skips the spin.
//
// The setting is per OS thread and applies to operations called from that thread outside weft
// tasks; tasks park their fiber, never the worker thread.
//
//   weft::this_thread::set_wait_strategy(weft::wait_strategy::spin);  // a pinned feed thread
#pragma once

#include <cstdint>

namespace weft {

enum class wait_strategy : std::uint8_t {
  adaptive,  ///< spin a bounded budget (none when cores are all busy spinning), then park
  spin,      ///< never park: busy-wait until done or the deadline
  park,      ///< park at once
};

namespace this_thread {
/// Sets how the calling thread waits in blocking weft operations. Never blocks, never allocates.
void set_wait_strategy(wait_strategy s) noexcept;
/// The calling thread's wait strategy (adaptive unless set).
wait_strategy get_wait_strategy() noexcept;
}  // namespace this_thread

}  // namespace weft
