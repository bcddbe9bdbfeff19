// pagefloor: the cost of W9's memory alone. Two threads (as W9's two workers) each touch one
// byte in the top page of every 64 KiB stride of a fresh anonymous mapping (where a task's stack
// page would be), N pages in all; prints wall ns per page. No runtime, no tasks: the floor any
// design pays that gives each idle task a page of its own.
//   pagefloor [N=1000000] [STRIDE_KIB=64]
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const std::size_t stride = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64) * 1024;
  const std::size_t bytes = n * stride;
  auto* base = static_cast<unsigned char*>(
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (base == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto touch = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) base[i * stride + stride - 64] = 1;
  };
  std::thread other(touch, n / 2, n);
  touch(0, n / 2);
  other.join();
  const auto t1 = std::chrono::steady_clock::now();
  std::printf("pagefloor,%zu pages,%.1f ns_per_page\n", n,
              std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n));
  munmap(base, bytes);
}
