// The actor mailbox's queue on its own (actors/include/weft/detail/mailbox.hpp): FIFO, the stub
// re-pushed when the queue runs down to one node, and per-producer order with several
// producers pushing while the consumer pops (the nodes of each producer must come out in the
// order pushed; none lost, none twice).
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <weft/detail/mailbox.hpp>

#include "../support/scale.hpp"

namespace {

using weft::detail::mailbox_link;
using weft::detail::mpsc_queue;

struct item : mailbox_link {
  int producer = 0;
  long seq = 0;
};

item* pop(mpsc_queue& q) { return static_cast<item*>(q.try_pop()); }

TEST(Mailbox, EmptyQueuePopsNothing) {
  mpsc_queue q;
  EXPECT_EQ(q.try_pop(), nullptr);
  EXPECT_EQ(q.try_pop(), nullptr);
}

TEST(Mailbox, PopsInPushOrder) {
  mpsc_queue q;
  std::vector<item> items(100);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].seq = static_cast<long>(i);
    q.push(&items[i]);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    item* it = pop(q);
    ASSERT_NE(it, nullptr);
    EXPECT_EQ(it, &items[i]);
  }
  EXPECT_EQ(q.try_pop(), nullptr);
}

TEST(Mailbox, AlternatingPushPopReusesTheStub) {
  // One node at a time: every pop is of the last pushed node, so each pop re-pushes the stub.
  mpsc_queue q;
  item a, b;
  for (int round = 0; round < 1000; ++round) {
    item* n = (round % 2 == 0) ? &a : &b;
    q.push(n);
    ASSERT_EQ(pop(q), n);
    ASSERT_EQ(q.try_pop(), nullptr);
  }
  // And with two in flight.
  q.push(&a);
  q.push(&b);
  EXPECT_EQ(pop(q), &a);
  EXPECT_EQ(pop(q), &b);
  EXPECT_EQ(q.try_pop(), nullptr);
}

TEST(Mailbox, ManyProducersKeepEachProducersOrder) {
  constexpr int producers = 4;
  const long per = static_cast<long>(weft::test::scale(100000));
  std::vector<std::vector<item>> nodes;  // items are not copyable (atomic link): build in place
  nodes.reserve(producers);
  for (int p = 0; p < producers; ++p) nodes.emplace_back(static_cast<std::size_t>(per));
  mpsc_queue q;
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      started.fetch_add(1);
      while (started.load() < producers) std::this_thread::yield();
      for (long i = 0; i < per; ++i) {
        item& it = nodes[static_cast<std::size_t>(p)][static_cast<std::size_t>(i)];
        it.producer = p;
        it.seq = i;
        q.push(&it);
      }
    });
  }
  std::vector<long> next(producers, 0);
  long received = 0;
  long violations = 0;
  while (received < producers * per) {
    item* it = pop(q);
    if (it == nullptr) {
      std::this_thread::yield();  // empty, or a producer between its exchange and its link
      continue;
    }
    if (it->seq != next[static_cast<std::size_t>(it->producer)]) ++violations;
    next[static_cast<std::size_t>(it->producer)] = it->seq + 1;
    ++received;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations, 0);
  EXPECT_EQ(q.try_pop(), nullptr) << "nothing delivered twice";
  for (int p = 0; p < producers; ++p) EXPECT_EQ(next[static_cast<std::size_t>(p)], per);
}

}  // namespace
