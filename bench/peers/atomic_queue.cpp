// Peer `atomic_queue`: max0x7ba's atomic_queue (Debian libatomic-queue-dev, git 2022-05-18), a
// fixed-size ring whose push and pop busy-wait (spin with the pause instruction, never sleep):
// its figures are spin-mode figures and need as many idle cores as spinning threads.
//   W1   AtomicQueue<uint64_t, 1024, NIL 0, ..., SPSC = true> (its single-producer mode)
//   W2   AtomicQueue<uint64_t, 1024> (multi-producer multi-consumer; 8 spinning threads on 2
//        cores: oversubscribed by design, and a spinning queue suffers most from it)
//   W3   two AtomicQueue<uint64_t, 1, NIL 0, ..., SPSC = true>
//   W4 (no rendezvous), W5 (no green threads), W6 (no select), W7-W9, W10 (no timed pop): not
//   offered.
// 0 is the queue's NIL value (it cannot be stored); data never takes it (values start at 1), and
// the shared end marker 0 travels as UINT64_MAX - 1. The ring's slots carry no lap number, so
// two pushes (or pops) a full lap apart can overtake each other when a thread is preempted in
// between: the queue does not promise FIFO per producer under oversubscription (W2 sees it), so
// W2 checks count and checksum only for this peer and reports order violations as a note.
// https://github.com/max0x7ba/atomic_queue
#include "common/peer.hpp"
#include "common/queue_workloads.hpp"

#include <atomic_queue/atomic_queue.h>

namespace {

using namespace peer;

/// NIL (0) cannot be stored; the shared end marker 0 is mapped to this value and back.
constexpr std::uint64_t nil_stand_in = stop_value - 1;

template <unsigned Size, bool Spsc>
struct aq {
  atomic_queue::AtomicQueue<std::uint64_t, Size, 0, true, true, false, Spsc> q;
  static constexpr bool per_producer_fifo = Spsc;
  explicit aq(std::size_t) {}
  struct producer {
    aq& b;
    explicit producer(aq& x) : b(x) {}
    void push(std::uint64_t v) { b.q.push(v == 0 ? nil_stand_in : v); }
  };
  struct consumer {
    aq& b;
    explicit consumer(aq& x) : b(x) {}
    std::uint64_t pop() {
      const std::uint64_t v = b.q.pop();
      return v == nil_stand_in ? 0 : v;
    }
  };
};

}  // namespace

int main(int argc, char** argv) {
  return peer::main("atomic_queue", argc, argv,
                    {
                        {"W1", [](const options& o) { return run_w1<aq<1024, true>>(o); }},
                        {"W2", [](const options& o) { return run_w2<aq<1024, false>>(o); }},
                        {"W3", [](const options& o) { return run_pingpong<aq<1, true>>("W3", o, 1); }},
                    });
}
