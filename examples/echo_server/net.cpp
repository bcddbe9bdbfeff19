#include "net.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

namespace echo {

namespace {
[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
}  // namespace

std::uint64_t raise_open_files(std::uint64_t want) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur >= want) return r.rlim_cur;
  if (r.rlim_max < want) {
    rlimit up{want, want};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) return want;  // root (CAP_SYS_RESOURCE) may raise the hard limit
  }
  r.rlim_cur = r.rlim_max < want ? r.rlim_max : want;
  (void)setrlimit(RLIMIT_NOFILE, &r);
  (void)getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

int listen_loopback(std::uint16_t port, int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    fail("bind 127.0.0.1");
  }
  if (::listen(fd, backlog) != 0) {
    ::close(fd);
    fail("listen");
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) fail("getsockname");
  return ntohs(a.sin_port);
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in a = loopback(port);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    ::close(fd);
    errno = e;
    fail("connect 127.0.0.1");
  }
  set_nodelay(fd);
  return fd;
}

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) fail("fcntl O_NONBLOCK");
}

void set_nodelay(int fd) {
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool line_session::feed(const char* p, std::size_t n, std::string& out) {
  if (quit_) return false;
  const char* end = p + n;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (nl == nullptr) {
      partial_.append(p, end);
      break;
    }
    if (partial_.empty()) {
      reply(std::string_view(p, static_cast<std::size_t>(nl - p)), out);
    } else {
      partial_.append(p, nl);
      reply(partial_, out);
      partial_.clear();
    }
    p = nl + 1;
    if (quit_) return false;
  }
  return true;
}

void line_session::reply(std::string_view line, std::string& out) {
  if (line == "PING") {
    out += "PONG\n";
  } else if (line == "COUNT") {
    out += std::to_string(lines_);
    out += '\n';
  } else if (line == "QUIT") {
    out += "BYE\n";
    quit_ = true;
  } else {
    out.append(line);
    out += '\n';
  }
  ++lines_;
}

}  // namespace echo
