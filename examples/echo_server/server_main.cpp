// echo_server: runs one of the three echo servers (servers.hpp) until SIGINT or SIGTERM.
//
//   echo_server [--mode actor|thread|epoll] [--port P] [--workers N]
//
// Prints "listening on 127.0.0.1:PORT" (and flushes) once it accepts connections, so a script
// can start it with --port 0 and read the port. Raises the open-files limit for 10,000+
// connections (each needs one descriptor here).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "net.hpp"
#include "servers.hpp"

int main(int argc, char** argv) {
  echo::server_options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--mode" && v != nullptr && echo::parse_server_kind(v, o.kind)) {
      ++i;
    } else if (a == "--port" && v != nullptr) {
      o.port = static_cast<std::uint16_t>(std::atoi(v));
      ++i;
    } else if (a == "--workers" && v != nullptr) {
      o.workers = static_cast<std::size_t>(std::atoi(v));
      ++i;
    } else {
      std::fprintf(stderr, "usage: echo_server [--mode actor|thread|epoll] [--port P] [--workers N]\n");
      return 2;
    }
  }
  const std::uint64_t nofile = echo::raise_open_files(20'100);
  if (nofile < 10'100) std::fprintf(stderr, "echo_server: open-files limit is %llu (10,000 connections need ~10,100)\n", static_cast<unsigned long long>(nofile));

  // Block the stop signals in every thread (the servers' threads inherit the mask); wait here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    auto server = echo::start_server(o);
    std::printf("listening on 127.0.0.1:%u (%s)\n", static_cast<unsigned>(server->port()), echo::to_string(o.kind));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server->stop();
    std::printf("stopped after %llu connections\n", static_cast<unsigned long long>(server->accepted()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
