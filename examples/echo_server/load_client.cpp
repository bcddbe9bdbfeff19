#include "load_client.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "net.hpp"

namespace echo {

namespace {

using clock_type = std::chrono::steady_clock;

/// The line connection `conn` sends as its message `seq`: a header naming both, then filler
/// bytes that depend on both, then '\n'. Never a protocol command (it starts with 'm').
void make_message(std::string& out, std::size_t size, std::size_t conn, std::size_t seq) {
  out.clear();
  char head[48];
  int n = std::snprintf(head, sizeof head, "m%zu.%zu:", conn, seq);
  out.append(head, static_cast<std::size_t>(n));
  std::uint64_t x = (conn + 1) * 0x9E3779B97F4A7C15ull ^ (seq + 1) * 0xC2B2AE3D27D4EB4Full;
  while (out.size() + 1 < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<char>('a' + x % 26));
  }
  out.push_back('\n');
}

struct client_conn {
  int fd = -1;
  std::size_t id = 0;
  std::size_t seq = 0;       // messages sent so far
  std::size_t got = 0;       // bytes of the current reply received
  bool done = false;
  std::string sent;          // the current message
  clock_type::time_point t0; // when it was sent
};

struct shard_result {
  std::uint64_t replies = 0, bytes = 0, mismatches = 0, failed = 0;
  weft::histogram rtt;
  std::string error;
  clock_type::time_point last_reply{};
};

bool send_current(client_conn& c) {
  // A short line into an empty socket buffer (closed loop: nothing else is outstanding) does not
  // block; write_all loops on the rare partial write.
  c.t0 = clock_type::now();
  return write_all(c.fd, c.sent.data(), c.sent.size());
}

class shard {
 public:
  shard(const load_options& o, std::vector<client_conn>& conns) : o_(o), conns_(conns) {}

  void run(clock_type::time_point deadline, shard_result& r) {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
      r.error = "epoll_create1 failed";
      r.failed = conns_.size();
      return;
    }
    std::size_t live = 0;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      client_conn& c = conns_[i];
      if (c.fd < 0) {
        c.done = true;
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      (void)::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
      ++live;
    }
    for (client_conn& c : conns_)
      if (!c.done) next(c, r, live);
    std::vector<epoll_event> evs(1024);
    std::vector<char> buf(64 * 1024);
    while (live > 0) {
      if (clock_type::now() > deadline) {
        if (r.error.empty()) r.error = "deadline passed with connections still running";
        for (client_conn& c : conns_)
          if (!c.done) fail(c, r, live);
        break;
      }
      int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 500);
      if (n < 0 && errno != EINTR) break;
      for (int k = 0; k < n; ++k) {
        client_conn& c = conns_[evs[static_cast<std::size_t>(k)].data.u64];
        if (c.done) continue;
        on_readable(c, buf, r, live);
      }
    }
    ::close(ep);
  }

 private:
  void on_readable(client_conn& c, std::vector<char>& buf, shard_result& r, std::size_t& live) {
    for (;;) {
      ssize_t got = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (got <= 0) {
        if (r.error.empty()) r.error = got == 0 ? "server closed a connection early" : std::strerror(errno);
        return fail(c, r, live);
      }
      const auto g = static_cast<std::size_t>(got);
      if (c.got + g > c.sent.size() || std::memcmp(buf.data(), c.sent.data() + c.got, g) != 0) {
        ++r.mismatches;
        if (r.error.empty()) r.error = "a reply differed from the line sent";
        return fail(c, r, live);
      }
      c.got += g;
      r.bytes += g;
      if (c.got == c.sent.size()) {
        const auto now = clock_type::now();
        r.rtt.record(now - c.t0);
        r.last_reply = now;
        ++r.replies;
        next(c, r, live);
        return;  // the next reply cannot be here yet: it was just requested
      }
    }
  }

  void next(client_conn& c, shard_result& r, std::size_t& live) {
    if (c.seq == o_.messages) {
      c.done = true;
      --live;
      return;
    }
    make_message(c.sent, o_.message_size, c.id, c.seq++);
    c.got = 0;
    if (!send_current(c)) {
      if (r.error.empty()) r.error = "send failed";
      fail(c, r, live);
    }
  }

  void fail(client_conn& c, shard_result& r, std::size_t& live) {
    c.done = true;
    ++r.failed;
    --live;
  }

  const load_options& o_;
  std::vector<client_conn>& conns_;
};

}  // namespace

load_result run_load(const load_options& o) {
  load_result res;
  const std::size_t threads = std::max<std::size_t>(1, std::min(o.threads, o.connections));
  std::vector<std::vector<client_conn>> shards(threads);
  const auto c0 = clock_type::now();
  for (std::size_t i = 0; i < o.connections; ++i) {
    client_conn c;
    c.id = i;
    try {
      c.fd = connect_loopback(o.port);
      set_nonblocking(c.fd);
    } catch (const std::system_error& e) {
      if (res.error.empty()) res.error = std::string("connect: ") + e.what();
      ++res.failed_connections;
    }
    shards[i % threads].push_back(std::move(c));
  }
  res.connect_seconds = std::chrono::duration<double>(clock_type::now() - c0).count();

  std::vector<shard_result> results(threads);
  const auto start = clock_type::now();
  const auto deadline = start + o.deadline;
  {
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t)
      ts.emplace_back([&, t] { shard(o, shards[t]).run(deadline, results[t]); });
    for (auto& t : ts) t.join();
  }
  clock_type::time_point last = start;
  for (shard_result& r : results) {
    res.replies += r.replies;
    res.bytes_echoed += r.bytes;
    res.mismatches += r.mismatches;
    res.failed_connections += r.failed;
    res.rtt_ns.merge(r.rtt);
    last = std::max(last, r.last_reply);
    if (res.error.empty()) res.error = r.error;
  }
  res.seconds = std::chrono::duration<double>(last - start).count();
  for (auto& s : shards)
    for (client_conn& c : s)
      if (c.fd >= 0) ::close(c.fd);
  return res;
}

std::string describe(const load_options& o, const load_result& r) {
  char line[512];
  auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::snprintf(line, sizeof line,
                "connections=%zu messages/conn=%zu size=%zu replies=%llu time=%.3fs "
                "replies/s=%.0f rtt_us p50=%.1f p99=%.1f p99.9=%.1f max=%.1f%s%s",
                o.connections, o.messages, o.message_size, static_cast<unsigned long long>(r.replies),
                r.seconds, r.replies_per_second(), us(r.rtt_ns.p50()), us(r.rtt_ns.p99()),
                us(r.rtt_ns.p999()), us(r.rtt_ns.max()), r.error.empty() ? "" : " error=",
                r.error.c_str());
  return line;
}

}  // namespace echo
