// Out-of-line error paths of the channel handles.
#include <weft/chan.hpp>
#include <weft/oneshot.hpp>

#include <string>

namespace weft::detail {

void throw_moved_from(const char* what, source_location where) {
  std::string msg = std::string(what) + " on an empty (moved-from or default-constructed) channel handle";
  throw_error(status::closed, msg.c_str(), where);
}

void throw_bad_capacity(std::size_t capacity, const char* why, source_location where) {
  std::string msg = "make_chan: capacity " + std::to_string(capacity) + " cannot be allocated (" + why + ")";
  throw_error(status::failed, msg.c_str(), where);
}

}  // namespace weft::detail

namespace weft::detail {
void throw_promise_misuse(const char* what) { throw_error(status::closed, what); }
}  // namespace weft::detail
