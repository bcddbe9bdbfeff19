// examples/echo_server/servers.hpp: the same line-protocol echo server (net.hpp) three ways.
//
//   actor   a reactor thread waits in epoll (edge-triggered) and accepts; each connection gets an
//           actor on a weft runtime, and the reactor tells it `io_ready` whenever its socket
//           becomes readable or writable. The actor reads until EAGAIN, runs the protocol and
//           writes the replies; the socket is non-blocking, so no handler ever blocks a worker.
//   thread  an acceptor thread and one OS thread per connection (64 KiB stacks) with blocking
//           reads and writes: the classic.
//   epoll   one thread, level-triggered epoll, non-blocking sockets, all state in a table: the
//           hand-written event loop an actor runtime competes with.
//
// Each server listens on 127.0.0.1 and runs in background threads from start_server() until
// stop() (or destruction), which closes every connection and joins everything it started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace echo {

enum class server_kind { actor, thread, epoll };

/// "actor", "thread" or "epoll".
const char* to_string(server_kind k) noexcept;
/// Parses the names above; false if unknown.
bool parse_server_kind(const std::string& s, server_kind& out) noexcept;

struct server_options {
  server_kind kind = server_kind::actor;
  std::uint16_t port = 0;   ///< 0: any free port (see echo_server::port())
  std::size_t workers = 0;  ///< actor: the weft runtime's workers (0: one per core)
};

class echo_server {
 public:
  virtual ~echo_server() = default;
  /// The port it listens on.
  virtual std::uint16_t port() const noexcept = 0;
  /// Closes the listener and every connection, joins every thread. Idempotent.
  virtual void stop() = 0;
  /// Connections accepted so far.
  virtual std::uint64_t accepted() const noexcept = 0;
};

/// Starts a server (throws std::system_error if it cannot listen).
std::unique_ptr<echo_server> start_server(const server_options& opts);

}  // namespace echo
