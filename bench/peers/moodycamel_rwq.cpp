// Peer `moodycamel-rwq`: moodycamel's single-producer single-consumer queues 1.0.6 (Debian
// libreaderwriterqueue-dev), in their blocking, bounded form BlockingReaderWriterCircularBuffer
// (exact capacity, wait_enqueue blocks while full, wait_dequeue while empty; the unbounded
// BlockingReaderWriterQueue grows instead of blocking a producer, so it cannot play W1).
//   W1   capacity 1024
//   W3   two buffers of capacity 1
//   W10  wait_dequeue_timed(50 us) on an empty buffer
//   W2 and W6 (several producers), W4 (no rendezvous), W5, W7-W9: not offered.
// https://github.com/cameron314/readerwriterqueue
#include "common/peer.hpp"
#include "common/queue_workloads.hpp"

#include <readerwriterqueue/readerwritercircularbuffer.h>

namespace {

using namespace peer;

struct rwq {
  moodycamel::BlockingReaderWriterCircularBuffer<std::uint64_t> q;
  explicit rwq(std::size_t capacity) : q(capacity) {}
  struct producer {
    rwq& b;
    explicit producer(rwq& x) : b(x) {}
    void push(std::uint64_t v) { b.q.wait_enqueue(v); }
  };
  struct consumer {
    rwq& b;
    explicit consumer(rwq& x) : b(x) {}
    std::uint64_t pop() {
      std::uint64_t v = 0;
      b.q.wait_dequeue(v);
      return v;
    }
  };
  static bool pop_for(consumer& c, std::chrono::microseconds d, std::uint64_t& v) {
    return c.b.q.wait_dequeue_timed(v, d);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return peer::main("moodycamel-rwq", argc, argv,
                    {
                        {"W1", [](const options& o) { return run_w1<rwq>(o); }},
                        {"W3", [](const options& o) { return run_pingpong<rwq>("W3", o, 1); }},
                        {"W10", [](const options& o) { return run_w10<rwq>(o); }},
                    });
}
