// tests/fuzz/replay_main.cpp: runs LLVMFuzzerTestOneInput without libFuzzer.
//   weft_chan_fuzz_replay                      a deterministic generated corpus (3000 inputs)
//   weft_chan_fuzz_replay FILE|DIR...          replay the given inputs (e.g. a crash file)
//   weft_chan_fuzz_replay --write-corpus DIR [N]  write N generated inputs as seed files
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> generate(std::mt19937& rng) {
  const std::size_t n = 2 + rng() % 300;
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

int replay_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--write-corpus") {
    const std::filesystem::path dir = argv[2];
    const int n = argc >= 4 ? std::atoi(argv[3]) : 200;
    std::filesystem::create_directories(dir);
    std::mt19937 rng(20240601u);
    for (int i = 0; i < n; ++i) {
      const auto v = generate(rng);
      std::ofstream out(dir / ("seed-" + std::to_string(i)), std::ios::binary);
      out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
    }
    std::printf("wrote %d inputs to %s\n", n, dir.c_str());
    return 0;
  }
  int runs = 0;
  if (argc == 1) {
    std::mt19937 rng(20240601u);
    for (int i = 0; i < 3000; ++i) {
      const auto v = generate(rng);
      LLVMFuzzerTestOneInput(v.data(), v.size());
      ++runs;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p = argv[i];
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) runs += replay_file(e.path());
    } else {
      runs += replay_file(p);
    }
  }
  std::printf("chan_fuzz replay: %d inputs, all consistent with the model\n", runs);
  return 0;
}
