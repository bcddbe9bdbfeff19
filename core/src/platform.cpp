// platform.hpp's run-time choices.
#include <weft/detail/platform.hpp>

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace weft::detail {

namespace {

/// The CPU vendor string of cpuid leaf 0 ("GenuineIntel", "AuthenticAMD", ...), "" elsewhere.
void cpu_vendor(char (&out)[13]) noexcept {
  out[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d) == 0) return;
  std::memcpy(out, &b, 4);  // the vendor string is ebx, edx, ecx
  std::memcpy(out + 4, &d, 4);
  std::memcpy(out + 8, &c, 4);
  out[12] = '\0';
#endif
}

}  // namespace

bool spread_ring_slots_for(const char* env, const char* cpu_vendor) noexcept {
  if (env != nullptr && env[0] != '\0') return env[0] != '0';
  return std::strcmp(cpu_vendor, "AuthenticAMD") != 0 && std::strcmp(cpu_vendor, "HygonGenuine") != 0;
}

bool spread_ring_slots() noexcept {
  static const bool spread = [] {
    char vendor[13];
    cpu_vendor(vendor);
    return spread_ring_slots_for(std::getenv("WEFT_RING_SPREAD"), vendor);
  }();
  return spread;
}

}  // namespace weft::detail
