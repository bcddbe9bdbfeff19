// echo_client: the load client (load_client.hpp) against a running echo_server.
//
//   echo_client --port P [--connections 1000,10000] [--messages M] [--size B] [--threads T]
//
// One run per connection count; one line each (describe()). Exit status 1 if any reply was
// wrong or missing. Raises the open-files limit (each connection needs one descriptor here).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "load_client.hpp"
#include "net.hpp"

int main(int argc, char** argv) {
  echo::load_options o;
  std::vector<std::size_t> counts{1000, 10000};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) a = "--help";
    if (a == "--port") {
      o.port = static_cast<std::uint16_t>(std::atoi(v));
    } else if (a == "--connections") {
      counts.clear();
      std::stringstream ss(v);
      for (std::string part; std::getline(ss, part, ',');) counts.push_back(static_cast<std::size_t>(std::atol(part.c_str())));
    } else if (a == "--messages") {
      o.messages = static_cast<std::size_t>(std::atol(v));
    } else if (a == "--size") {
      o.message_size = static_cast<std::size_t>(std::atol(v));
    } else if (a == "--threads") {
      o.threads = static_cast<std::size_t>(std::atol(v));
    } else {
      std::fprintf(stderr, "usage: echo_client --port P [--connections 1000,10000] [--messages M] [--size B] [--threads T]\n");
      return 2;
    }
    ++i;
  }
  if (o.port == 0 || o.message_size < 16) {
    std::fprintf(stderr, "echo_client: --port is required; --size must be >= 16\n");
    return 2;
  }
  std::size_t most = 0;
  for (std::size_t c : counts) most = c > most ? c : most;
  const std::uint64_t nofile = echo::raise_open_files(most + 100);
  if (nofile < most + 100) std::fprintf(stderr, "echo_client: open-files limit is %llu, below %zu\n", static_cast<unsigned long long>(nofile), most + 100);
  bool all_ok = true;
  for (std::size_t c : counts) {
    o.connections = c;
    try {
      echo::load_result r = echo::run_load(o);
      std::printf("%s\n", echo::describe(o, r).c_str());
      std::fflush(stdout);
      all_ok = all_ok && r.ok(o);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "echo_client: %s\n", e.what());
      all_ok = false;
    }
  }
  return all_ok ? 0 : 1;
}
