// echo_server_test (ctest): each of the three servers, in this process, against:
//   1. the protocol on one connection, with a request split across two writes;
//   2. a pipelined stream of 20,000 lines from a writer thread while a reader thread checks
//      every byte coming back (the server's output outgrows the socket buffers, so its
//      would-block paths run);
//   3. the load client, short mode: 50 connections x 100 messages, every byte checked.
// Then the server stops, and (actor server) every connection actor has ended.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <weft/runtime.hpp>

#include "load_client.hpp"
#include "net.hpp"
#include "servers.hpp"

namespace {

int failures = 0;

void check(bool ok, echo::server_kind k, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED [%s]: %s\n", echo::to_string(k), what.c_str());
  }
}

std::string read_to_eof(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got;
    got.append(buf, static_cast<std::size_t>(r));
  }
}

void protocol(echo::server_kind k, std::uint16_t port) {
  int fd = echo::connect_loopback(port);
  const std::string a = "PING\nhel", b = "lo\nCOUNT\nQUIT\nignored\n";
  check(echo::write_all(fd, a.data(), a.size()), k, "write part 1");
  check(echo::write_all(fd, b.data(), b.size()), k, "write part 2");
  const std::string got = read_to_eof(fd);  // QUIT: the server closes after BYE
  check(got == "PONG\nhello\n2\nBYE\n", k, "protocol replies, got \"" + got + "\"");
  ::close(fd);
}

void pipelined(echo::server_kind k, std::uint16_t port) {
  constexpr int lines = 20'000;
  auto line = [](int i) {
    std::string s = "line " + std::to_string(i) + " ";
    s.append(static_cast<std::size_t>(40 + i % 50), static_cast<char>('a' + i % 26));
    return s + '\n';
  };
  std::string expected;
  for (int i = 0; i < lines; ++i) expected += line(i);
  int fd = echo::connect_loopback(port);
  std::thread writer([&] {
    // One line per write, not one big write: the server sees many partial reads.
    for (int i = 0; i < lines; ++i) {
      const std::string s = line(i);
      if (!echo::write_all(fd, s.data(), s.size())) return;
    }
    ::shutdown(fd, SHUT_WR);  // end of stream: the server closes after its last reply
  });
  const std::string got = read_to_eof(fd);
  writer.join();
  check(got.size() == expected.size(), k, "pipelined: bytes back " + std::to_string(got.size()) + " of " + std::to_string(expected.size()));
  check(got == expected, k, "pipelined: every byte echoed in order");
  ::close(fd);
}

void load(echo::server_kind k, std::uint16_t port) {
  echo::load_options o;
  o.port = port;
  o.connections = 50;
  o.messages = 100;
  o.message_size = 48;
  o.threads = 2;
  echo::load_result r = echo::run_load(o);
  std::printf("[%s] %s\n", echo::to_string(k), echo::describe(o, r).c_str());
  check(r.error.empty(), k, "load: " + r.error);
  check(r.replies == 5000, k, "load: replies " + std::to_string(r.replies) + " of 5000");
  check(r.bytes_echoed == 5000u * 48u, k, "load: bytes echoed " + std::to_string(r.bytes_echoed));
  check(r.mismatches == 0 && r.failed_connections == 0, k, "load: no mismatch, no failed connection");
  check(r.rtt_ns.count() == 5000, k, "load: one latency sample per reply");
}

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  echo::raise_open_files(1024);
  for (echo::server_kind k : {echo::server_kind::actor, echo::server_kind::thread, echo::server_kind::epoll}) {
    echo::server_options so;
    so.kind = k;
    so.workers = 2;
    auto server = echo::start_server(so);
    protocol(k, server->port());
    pipelined(k, server->port());
    load(k, server->port());
    check(server->accepted() == 52, k, "accepted " + std::to_string(server->accepted()) + " connections, want 52");
    server->stop();
    if (k == echo::server_kind::actor) check(weft::stats().actors_live == 0, k, "every connection actor ended after stop()");
  }
  if (failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("echo_server_test: all checks passed\n");
  return 0;
}
