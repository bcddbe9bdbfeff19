// Anti-pattern 5: `once` used as a result cache (Go: `once.Do(func() { cfg, err = load() })`).
//
// The mistake: a once-flag guards a computation whose result (and error) are written to side
// variables. A failure is cached forever: the flag is spent, every later caller reads the same
// error, and the side variables are read without the once's ordering on other paths (a data
// race TSan reports; see README.md). Here with std::call_once and a load that fails the first
// time: every later caller is stuck with the failure.
//
// The weft way: weft::once_value<T>. The value is what init returns, published with
// acquire/release to every reader; if init throws, that caller gets the exception and the next
// caller tries again.
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>

#include "check.hpp"

namespace {

/// A config load that fails on its first attempt (a flaky disk, a server restarting).
struct flaky_loader {
  std::atomic<int> attempts{0};
  std::string load() {
    // relaxed: a counter read back by this thread only.
    if (attempts.fetch_add(1, std::memory_order_relaxed) == 0) throw std::runtime_error("config server unavailable");
    return "threads=8";
  }
};

/// THE MISTAKE: the error is cached with the flag.
struct cached_config {
  std::once_flag once;
  std::string value;
  std::string error;
  const std::string& get(flaky_loader& l) {
    std::call_once(once, [&] {
      try {
        value = l.load();
      } catch (const std::exception& e) {
        error = e.what();  // ... and the flag is spent
      }
    });
    return error.empty() ? value : error;
  }
};

}  // namespace

int main() {
  weft::runtime rt(two_workers());

  {
    flaky_loader loader;
    cached_config cfg;
    const std::string first = cfg.get(loader);
    const std::string second = cfg.get(loader);  // the server is back, but nobody asks it
    std::printf("mistake: first=\"%s\" second=\"%s\" attempts=%d\n", first.c_str(), second.c_str(),
                loader.attempts.load(std::memory_order_relaxed));  // relaxed: same thread
    PATTERN_CHECK(second == "config server unavailable", second);
    PATTERN_CHECK(loader.attempts.load(std::memory_order_relaxed) == 1, "never retried");  // relaxed: same thread
  }

  {
    flaky_loader loader;
    weft::once_value<std::string> cfg([&loader] { return loader.load(); });
    // The first caller runs init, which fails: it gets the exception...
    auto a = weft::spawn(rt, [&cfg]() -> std::string {
      try {
        return cfg.get();
      } catch (const std::exception& e) {
        return std::string("failed: ") + e.what();
      }
    });
    const weft::result<std::string> ra = a.get();
    // ... and the next caller tries again and gets the value, published safely to every reader.
    auto b = weft::spawn(rt, [&cfg] { return cfg.get(); });
    const weft::result<std::string> rb = b.get();
    std::printf("weft way: first caller \"%s\", next caller \"%s\"\n", ra->c_str(), rb->c_str());
    PATTERN_CHECK(*ra == "failed: config server unavailable", *ra);
    PATTERN_CHECK(rb && *rb == "threads=8", "retried after the failure");
    PATTERN_CHECK(cfg.has_value() && cfg.get() == "threads=8", "every later reader sees the value");
  }
  return 0;
}
