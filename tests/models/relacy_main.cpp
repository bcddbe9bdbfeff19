// The driver of the Relacy models: `weft_relacy_models list`, or
//   weft_relacy_models run NAME [--iterations N] [--full | --bound K] [--verbose]
// A model passes when Relacy reports what it expects: success for a model, the named failure for a
// mutation. --full: the full-search scheduler; --bound K: context-bound search with K preemptions.
#include "model_support.hpp"

#include <cstdlib>
#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
  using namespace weft::models;
  if (argc >= 2 && std::string_view(argv[1]) == "list") {
    for (const model_entry& m : registry())
      std::cout << m.name << "\t" << rl::test_result_str(m.expect) << "\t" << m.what << "\n";
    return 0;
  }
  if (argc < 3 || std::string_view(argv[1]) != "run") {
    std::cerr << "usage: " << argv[0] << " list | run NAME [--iterations N] [--full | --bound K] [--verbose]\n";
    return 2;
  }
  run_options o;
  o.quiet = true;
  for (int i = 3; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--iterations" && i + 1 < argc) o.iterations = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--full") o.scheduler = rl::sched_full;
    else if (a == "--bound" && i + 1 < argc) {
      o.scheduler = rl::sched_bound;
      o.context_bound = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    }
    else if (a == "--verbose") o.quiet = false;
    else {
      std::cerr << "unknown argument: " << a << "\n";
      return 2;
    }
  }
  for (const model_entry& m : registry()) {
    if (std::string_view(m.name) != argv[2]) continue;
    rl::iteration_t reached = 0;
    const rl::test_result_e r = m.run(o, &reached);
    const bool ok = r == m.expect;
    std::cout << m.name << ": " << m.what << "\n  expected " << rl::test_result_str(m.expect) << ", Relacy reported "
              << rl::test_result_str(r) << (r == rl::test_result_success ? " after " : " at iteration ") << reached
              << (o.scheduler == rl::sched_full    ? " (full search)"
                  : o.scheduler == rl::sched_bound ? " (context-bound search)"
                                                   : " (random scheduler)")
              << "\n"
              << (ok ? "PASS" : "FAIL") << "\n";
    return ok ? 0 : 1;
  }
  std::cerr << "no model named " << argv[2] << " (see: " << argv[0] << " list)\n";
  return 2;
}
