// Peer `moodycamel`: moodycamel::BlockingConcurrentQueue 1.0.3 (Debian libconcurrentqueue-dev),
// the MPMC queue, with the per-thread producer/consumer tokens its README recommends.
//   W1      a queue made with capacity 1024 and filled through one producer token with
//           try_enqueue, which never allocates: the queue has no blocking enqueue, so the producer
//           spins briefly, then yields (peer::backoff) while it is full. The capacity is
//           block-granular (blocks of 32), not exact. The consumer blocks in wait_dequeue.
//   W3      two queues, wait_dequeue on each side; at most one value is ever queued, so the
//           capacity (not settable to 1) plays no part.
//   W10     wait_dequeue_timed(50 us) on an empty queue
//   W2 (no bounded multi-producer send: with 4 producer tokens, try_enqueue over the
//   preallocated blocks starves for ever once one producer's token holds every block, as seen
//   here, and enqueue() is unbounded), W4 (no rendezvous), W5 (no green threads), W6 (no
//   select), W7-W9: not offered.
// https://github.com/cameron314/concurrentqueue (README: "Blocking version", tokens)
#include "common/peer.hpp"
#include "common/queue_workloads.hpp"

#include <concurrentqueue/blockingconcurrentqueue.h>

namespace {

using namespace peer;

struct bcq {
  moodycamel::BlockingConcurrentQueue<std::uint64_t> q;
  explicit bcq(std::size_t capacity) : q(capacity < 32 ? 32 : capacity) {}
  struct producer {
    bcq& b;
    moodycamel::ProducerToken tok;
    explicit producer(bcq& x) : b(x), tok(x.q) {}
    void push(std::uint64_t v) {
      backoff w;
      while (!b.q.try_enqueue(tok, v)) w.wait();
    }
  };
  struct consumer {
    bcq& b;
    moodycamel::ConsumerToken tok;
    explicit consumer(bcq& x) : b(x), tok(x.q) {}
    std::uint64_t pop() {
      std::uint64_t v = 0;
      b.q.wait_dequeue(tok, v);
      return v;
    }
  };
  static bool pop_for(consumer& c, std::chrono::microseconds d, std::uint64_t& v) {
    return c.b.q.wait_dequeue_timed(c.tok, v, d);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return peer::main("moodycamel", argc, argv,
                    {
                        {"W1", [](const options& o) { return run_w1<bcq>(o); }},
                        {"W3", [](const options& o) { return run_pingpong<bcq>("W3", o, 1); }},
                        {"W10", [](const options& o) { return run_w10<bcq>(o); }},
                    });
}
