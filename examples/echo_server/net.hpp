// examples/echo_server/net.hpp: what the three echo servers and the load client share: socket
// helpers (loopback listen/connect, non-blocking mode, the open-files limit) and the line
// protocol a connection speaks.
//
// The protocol, one request per line ('\n' ends a line; an optional '\r' before it is kept as
// part of the line), one reply per request, in order:
//   PING        -> PONG
//   COUNT       -> the number of lines this connection sent before this one, in decimal
//   QUIT        -> BYE, then the server closes the connection
//   anything    -> the same line, echoed byte for byte
// The per-connection state (the line count, a partial line) is what makes an actor per
// connection natural: it is touched by one handler at a time, with no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace echo {

/// Raises RLIMIT_NOFILE's soft limit to at least `want` (raising the hard limit too if we may,
/// as root); returns the soft limit now in force (may be below `want`).
std::uint64_t raise_open_files(std::uint64_t want);

/// A TCP socket listening on 127.0.0.1:`port` (0: the kernel picks), SO_REUSEADDR, backlog
/// `backlog`. Throws std::system_error.
int listen_loopback(std::uint16_t port, int backlog = 4096);
/// The port a bound socket listens on.
std::uint16_t local_port(int fd);
/// A blocking TCP connection to 127.0.0.1:`port` with TCP_NODELAY. Throws std::system_error.
int connect_loopback(std::uint16_t port);
void set_nonblocking(int fd);
void set_nodelay(int fd);

/// Writes all of [p, p+n) to a blocking socket; false on error (peer gone).
bool write_all(int fd, const char* p, std::size_t n);

/// One connection's protocol state: feed it the bytes read, it appends the replies to `out`.
class line_session {
 public:
  /// Consumes [p, p+n); appends one reply per complete line to `out`. Returns false once QUIT
  /// was seen (the bytes after it are ignored; `out` ends with its reply).
  bool feed(const char* p, std::size_t n, std::string& out);
  std::uint64_t lines() const noexcept { return lines_; }

 private:
  void reply(std::string_view line, std::string& out);
  std::string partial_;  // the bytes of a line whose '\n' has not arrived yet
  std::uint64_t lines_ = 0;
  bool quit_ = false;
};

}  // namespace echo
