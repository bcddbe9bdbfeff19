// Consumer check: links weft::weft, sends one value through a channel and receives it.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  auto [tx, rx] = weft::make_chan<int>(1);
  if (tx.send(42) != weft::status::ok) return 1;
  weft::result<int> r = rx.recv();
  if (!r || *r != 42) return 2;
  std::puts("weft consumer: ok");
  return 0;
}
