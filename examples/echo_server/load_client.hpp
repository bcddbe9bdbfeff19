// examples/echo_server/load_client.hpp: a closed-loop load generator for the echo servers.
//
// It opens `connections` loopback connections, then each connection sends one line of
// `message_size` bytes, waits until the same bytes have come back, checks every byte, records the
// round trip and sends the next, `messages` times. So `connections` requests are in flight at
// any moment. Its `threads` each drive a share of the connections with their own epoll.
// Reported: messages per second over the whole run (from the first send to the last reply) and
// the round-trip latency distribution (weft::histogram, <= 1% relative error).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <weft/histogram.hpp>

namespace echo {

struct load_options {
  std::uint16_t port = 0;
  std::size_t connections = 100;
  std::size_t messages = 100;      ///< per connection
  std::size_t message_size = 32;   ///< bytes per line, '\n' included (>= 16)
  std::size_t threads = 1;
  std::chrono::seconds deadline{120};  ///< the whole run gives up (as a failure) after this
};

struct load_result {
  std::uint64_t replies = 0;       ///< complete, byte-for-byte correct replies
  std::uint64_t bytes_echoed = 0;  ///< bytes received and checked
  std::uint64_t mismatches = 0;    ///< replies that differed from what was sent (or overran it)
  std::uint64_t failed_connections = 0;  ///< connections that ended early (EOF, error, deadline)
  double seconds = 0;              ///< from the first send to the last reply
  double connect_seconds = 0;      ///< opening every connection
  weft::histogram rtt_ns;
  std::string error;               ///< first failure, if any

  bool ok(const load_options& o) const {
    return error.empty() && mismatches == 0 && failed_connections == 0 &&
           replies == static_cast<std::uint64_t>(o.connections) * o.messages;
  }
  double replies_per_second() const { return seconds > 0 ? static_cast<double>(replies) / seconds : 0; }
};

/// Runs the load against 127.0.0.1:o.port. Never throws for connection failures (they are
/// counted and described in `error`); throws std::system_error if it cannot create epoll.
load_result run_load(const load_options& o);

/// One line: connections, messages, seconds, replies/s, p50/p99/p99.9/max in microseconds.
std::string describe(const load_options& o, const load_result& r);

}  // namespace echo
