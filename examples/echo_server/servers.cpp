#include "servers.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "net.hpp"

namespace echo {

const char* to_string(server_kind k) noexcept {
  switch (k) {
    case server_kind::actor: return "actor";
    case server_kind::thread: return "thread";
    case server_kind::epoll: return "epoll";
  }
  return "?";
}

bool parse_server_kind(const std::string& s, server_kind& out) noexcept {
  for (server_kind k : {server_kind::actor, server_kind::thread, server_kind::epoll})
    if (s == to_string(k)) {
      out = k;
      return true;
    }
  return false;
}

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

/// An eventfd that wakes an epoll loop (stop requests, retired connections).
struct wake_fd {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wake_fd() {
    if (fd < 0) fail("eventfd");
  }
  ~wake_fd() { ::close(fd); }
  void signal() const noexcept {
    std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  }
  void drain() const noexcept {
    std::uint64_t v;
    (void)!::read(fd, &v, sizeof v);
  }
};

int make_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) fail("epoll_create1");
  return fd;
}

void epoll_add(int ep, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl ADD");
}

/// Sends what is left of `out` from `off` on a non-blocking socket. Returns 1 when all is
/// sent (out is cleared), 0 when the socket is full (EAGAIN: wait for writability), -1 on error.
int flush_nonblocking(int fd, std::string& out, std::size_t& off) noexcept {
  while (off < out.size()) {
    ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      return -1;
    }
  }
  out.clear();
  off = 0;
  return 1;
}

// ================================================================================================
// actor: a reactor thread feeds one actor per connection
// ================================================================================================

class actor_server;

/// The one message a connection actor gets: its socket became readable and/or writable (the
/// reactor's epoll is edge-triggered, so the actor drains the socket each time).
struct io_ready {};

/// The behaviour of a connection's actor. Only its handler touches the socket (until it retires
/// it) and the protocol state: no lock.
struct connection {
  int fd;
  actor_server* server;
  line_session session{};
  std::string out{};        // replies not yet written
  std::size_t out_off = 0;  // how much of `out` is written
  bool quitting = false;    // QUIT seen: close once `out` is written
  bool retired = false;     // handed back to the reactor: the fd is no longer ours

  connection(int f, actor_server* s) : fd(f), server(s) {}
  void operator()(io_ready);

 private:
  bool flush();
  void retire();
};

class actor_server final : public echo_server {
 public:
  explicit actor_server(const server_options& o) : rt_(runtime_opts(o)) {
    listen_fd_ = listen_loopback(o.port);
    set_nonblocking(listen_fd_);
    port_ = local_port(listen_fd_);
    epoll_add(ep_, listen_fd_, EPOLLIN);
    epoll_add(ep_, wake_.fd, EPOLLIN);
    reactor_ = std::thread([this] { reactor_loop(); });
  }
  ~actor_server() override {
    stop();
    ::close(ep_);
  }
  std::uint16_t port() const noexcept override { return port_; }
  std::uint64_t accepted() const noexcept override {
    // relaxed: a statistic; nothing is read through it.
    return accepted_.load(std::memory_order_relaxed);
  }

  void stop() override {
    std::lock_guard<std::mutex> once(stop_mu_);
    if (!reactor_.joinable()) return;
    // release: the reactor reads it after the eventfd wakes it (the eventfd orders it too).
    stopping_.store(true, std::memory_order_release);
    wake_.signal();
    reactor_.join();
    // Stop every connection actor and wait for its end before closing its socket: a handler may
    // still be reading it.
    std::vector<weft::receiver<weft::exit_info>> ends;
    for (auto& c : conns_)
      if (c) {
        ends.push_back(c.monitor());
        c.stop();
      }
    conns_.clear();  // drops the last handles
    for (auto& e : ends) (void)e.recv();
    for (auto& e : retired_ends_) (void)e.recv();
    retired_ends_.clear();
    for (int fd : open_fds_) ::close(fd);
    open_fds_.clear();
    ::close(listen_fd_);
  }

  /// Called by a connection's handler when it is done with its socket: the reactor drops the
  /// actor's handle (the actor then ends) and closes the socket.
  void retire(int fd) {
    {
      std::lock_guard<std::mutex> lk(retired_mu_);
      retired_.push_back(fd);
    }
    wake_.signal();
  }

 private:
  static weft::runtime_options runtime_opts(const server_options& o) {
    weft::runtime_options r;
    r.workers = o.workers;
    return r;
  }

  void reactor_loop() {
    std::vector<epoll_event> evs(512);
    for (;;) {
      int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("echo actor server: epoll_wait");
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = evs[static_cast<std::size_t>(i)].data.fd;
        if (fd == listen_fd_) {
          accept_all();
        } else if (fd == wake_.fd) {
          wake_.drain();
          close_retired();
          // acquire: pairs with stop()'s release store.
          if (stopping_.load(std::memory_order_acquire)) return;
        } else if (static_cast<std::size_t>(fd) < conns_.size() && conns_[static_cast<std::size_t>(fd)]) {
          // closed: the actor was stopped; ok or closed are the only outcomes (unbounded mailbox).
          (void)conns_[static_cast<std::size_t>(fd)].tell(io_ready{});
        }
      }
    }
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("echo actor server: accept4");
        return;
      }
      set_nodelay(fd);
      const auto slot = static_cast<std::size_t>(fd);
      if (conns_.size() <= slot) conns_.resize(slot + 1);
      conns_[slot] = weft::spawn_actor<connection>(rt_, weft::actor_options{}, fd, this);
      open_fds_.insert(fd);
      // relaxed: a statistic.
      accepted_.fetch_add(1, std::memory_order_relaxed);
      // Edge-triggered: one event per change; the actor drains the socket on each. Adding a
      // socket that already has data reports it at once.
      epoll_add(ep_, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    }
  }

  void close_retired() {
    std::vector<int> fds;
    {
      std::lock_guard<std::mutex> lk(retired_mu_);
      fds.swap(retired_);
    }
    for (int fd : fds) {
      // The actor may still be finishing its last run when its handle goes: stop() waits for
      // its end too (every connection actor has ended when stop() returns).
      retired_ends_.push_back(conns_[static_cast<std::size_t>(fd)].monitor());
      conns_[static_cast<std::size_t>(fd)] = {};  // the last handle: the actor ends
      open_fds_.erase(fd);
      ::close(fd);  // the actor no longer touches it (it retired it in its last handler)
    }
  }

  weft::runtime rt_;
  int listen_fd_ = -1;
  int ep_ = make_epoll();
  wake_fd wake_;
  std::uint16_t port_ = 0;
  std::thread reactor_;
  std::vector<weft::actor_ref<connection>> conns_;  // by fd; the reactor thread only (then stop())
  std::unordered_set<int> open_fds_;                // likewise
  std::vector<weft::receiver<weft::exit_info>> retired_ends_;  // likewise: retired actors' ends
  std::mutex retired_mu_;
  std::vector<int> retired_;  // under retired_mu_
  std::mutex stop_mu_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> accepted_{0};
};

void connection::operator()(io_ready) {
  if (retired) return;  // a late event
  if (!flush()) return;  // the socket is still full: wait for the next writable edge
  if (quitting) return retire();
  // One buffer per worker thread: a handler never blocks or yields while it uses it.
  static thread_local char buf[16 * 1024];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      quitting = !session.feed(buf, static_cast<std::size_t>(r), out);
      if (!flush()) return;
      if (quitting) return retire();
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;  // drained: the next edge brings the next io_ready
    } else {
      return retire();  // end of stream or error
    }
  }
}

/// true: everything written. false: wait for writability, or the connection was retired.
bool connection::flush() {
  const int r = flush_nonblocking(fd, out, out_off);
  if (r < 0) retire();
  return r > 0;
}

void connection::retire() {
  if (retired) return;
  retired = true;
  server->retire(fd);
}

// ================================================================================================
// thread: one OS thread per connection, blocking I/O
// ================================================================================================

class thread_server final : public echo_server {
 public:
  explicit thread_server(const server_options& o) {
    listen_fd_ = listen_loopback(o.port);
    port_ = local_port(listen_fd_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~thread_server() override { stop(); }
  std::uint16_t port() const noexcept override { return port_; }
  std::uint64_t accepted() const noexcept override {
    // relaxed: a statistic.
    return accepted_.load(std::memory_order_relaxed);
  }

  void stop() override {
    std::lock_guard<std::mutex> once(stop_mu_);
    if (!acceptor_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      for (int fd : live_) ::shutdown(fd, SHUT_RDWR);  // wakes each connection's blocking recv
    }
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() (Linux)
    acceptor_.join();
    std::unique_lock<std::mutex> lk(mu_);
    idle_.wait(lk, [this] { return threads_ == 0; });
    ::close(listen_fd_);
  }

 private:
  struct start_args {
    thread_server* self;
    int fd;
  };

  void accept_loop() {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        break;  // shut down by stop(), or out of descriptors
      }
      set_nodelay(fd);
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stopping_) {
          ::close(fd);
          break;
        }
        live_.insert(fd);
        ++threads_;
      }
      // relaxed: a statistic.
      accepted_.fetch_add(1, std::memory_order_relaxed);
      pthread_t t;
      auto* args = new start_args{this, fd};
      if (pthread_create(&t, &attr, &thread_server::thread_main, args) != 0) {
        delete args;
        std::fprintf(stderr, "echo thread server: pthread_create failed; dropping a connection\n");
        finished(fd);
      }
    }
    pthread_attr_destroy(&attr);
  }

  static void* thread_main(void* p) {
    auto* a = static_cast<start_args*>(p);
    thread_server* self = a->self;
    const int fd = a->fd;
    delete a;
    line_session session;
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      const bool more = session.feed(buf, static_cast<std::size_t>(r), out);
      if (!write_all(fd, out.data(), out.size()) || !more) break;
      out.clear();
    }
    self->finished(fd);
    return nullptr;
  }

  void finished(int fd) {
    std::lock_guard<std::mutex> lk(mu_);
    live_.erase(fd);
    ::close(fd);  // under mu_: stop() never shuts down a number that was reused
    if (--threads_ == 0) idle_.notify_all();
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex stop_mu_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::unordered_set<int> live_;  // under mu_
  std::size_t threads_ = 0;       // under mu_
  bool stopping_ = false;         // under mu_
  std::atomic<std::uint64_t> accepted_{0};
};

// ================================================================================================
// epoll: one thread, level-triggered, non-blocking
// ================================================================================================

class epoll_server final : public echo_server {
 public:
  explicit epoll_server(const server_options& o) {
    listen_fd_ = listen_loopback(o.port);
    set_nonblocking(listen_fd_);
    port_ = local_port(listen_fd_);
    epoll_add(ep_, listen_fd_, EPOLLIN);
    epoll_add(ep_, wake_.fd, EPOLLIN);
    loop_ = std::thread([this] { run(); });
  }
  ~epoll_server() override {
    stop();
    ::close(ep_);
  }
  std::uint16_t port() const noexcept override { return port_; }
  std::uint64_t accepted() const noexcept override {
    // relaxed: a statistic.
    return accepted_.load(std::memory_order_relaxed);
  }
  void stop() override {
    std::lock_guard<std::mutex> once(stop_mu_);
    if (!loop_.joinable()) return;
    wake_.signal();
    loop_.join();
    for (std::size_t fd = 0; fd < conns_.size(); ++fd)
      if (conns_[fd]) ::close(static_cast<int>(fd));
    conns_.clear();
    ::close(listen_fd_);
  }

 private:
  struct conn {
    line_session session;
    std::string out;
    std::size_t out_off = 0;
    bool quitting = false;
    bool want_out = false;  // registered for EPOLLOUT (output did not fit)
  };

  void run() {
    std::vector<epoll_event> evs(512);
    std::vector<char> buf(64 * 1024);
    for (;;) {
      int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("echo epoll server: epoll_wait");
        return;
      }
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = evs[static_cast<std::size_t>(i)];
        if (ev.data.fd == wake_.fd) return;  // stop()
        if (ev.data.fd == listen_fd_) {
          accept_all();
          continue;
        }
        const auto slot = static_cast<std::size_t>(ev.data.fd);
        if (slot >= conns_.size() || !conns_[slot]) continue;  // closed earlier in this batch
        conn& c = *conns_[slot];
        bool alive = true;
        if (!c.out.empty()) {
          alive = write_pending(ev.data.fd, c);  // EPOLLOUT, or EPOLLIN with output pending
        } else {
          ssize_t r = ::recv(ev.data.fd, buf.data(), buf.size(), 0);
          if (r > 0) {
            c.quitting = !c.session.feed(buf.data(), static_cast<std::size_t>(r), c.out);
            alive = write_pending(ev.data.fd, c);
          } else if (r == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            alive = false;
          }
        }
        if (!alive) close_conn(ev.data.fd);
      }
    }
  }

  /// Writes c.out; switches the interest to EPOLLOUT while it does not fit and back to EPOLLIN.
  /// False: close the connection.
  bool write_pending(int fd, conn& c) {
    const int r = flush_nonblocking(fd, c.out, c.out_off);
    if (r < 0) return false;
    if (r == 0 && !c.want_out) {
      modify(fd, EPOLLOUT);
      c.want_out = true;
    } else if (r > 0) {
      if (c.want_out) modify(fd, EPOLLIN);
      c.want_out = false;
      if (c.quitting) return false;
    }
    return true;
  }

  void modify(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    (void)::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) std::perror("echo epoll server: accept4");
        return;
      }
      set_nodelay(fd);
      const auto slot = static_cast<std::size_t>(fd);
      if (conns_.size() <= slot) conns_.resize(slot + 1);
      conns_[slot] = std::make_unique<conn>();
      // relaxed: a statistic.
      accepted_.fetch_add(1, std::memory_order_relaxed);
      epoll_add(ep_, fd, EPOLLIN);
    }
  }

  void close_conn(int fd) {
    (void)::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    conns_[static_cast<std::size_t>(fd)].reset();
    ::close(fd);
  }

  int listen_fd_ = -1;
  int ep_ = make_epoll();
  wake_fd wake_;
  std::uint16_t port_ = 0;
  std::thread loop_;
  std::mutex stop_mu_;
  std::vector<std::unique_ptr<conn>> conns_;  // by fd; the loop thread only (then stop())
  std::atomic<std::uint64_t> accepted_{0};
};

}  // namespace

std::unique_ptr<echo_server> start_server(const server_options& opts) {
  switch (opts.kind) {
    case server_kind::actor: return std::make_unique<actor_server>(opts);
    case server_kind::thread: return std::make_unique<thread_server>(opts);
    case server_kind::epoll: return std::make_unique<epoll_server>(opts);
  }
  return nullptr;
}

}  // namespace echo
