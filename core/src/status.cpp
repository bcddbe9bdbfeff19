// status names, error helpers.
#include <weft/status.hpp>

#include <ostream>
#include <string>

namespace weft {

const char* to_string(status s) noexcept {
  switch (s) {
    case status::ok: return "ok";
    case status::closed: return "closed";
    case status::timeout: return "timeout";
    case status::cancelled: return "cancelled";
    case status::full: return "full";
    case status::empty: return "empty";
    case status::broken: return "broken";
    case status::failed: return "failed";
    case status::rejected: return "rejected";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, status s) { return os << to_string(s); }

namespace detail {

void throw_error(status code, const char* what, source_location where) {
  std::string msg = "weft: ";
  msg += what;
  msg += " [";
  msg += to_string(code);
  msg += "] (at ";
  msg += where.file_name();
  msg += ':';
  msg += std::to_string(where.line());
  msg += " in ";
  msg += where.function_name();
  msg += ')';
  throw error(code, msg);
}

void throw_result(status code, const std::exception_ptr& e) {
  if (code == status::failed && e) std::rethrow_exception(e);
  std::string msg = "weft: result::value() on a result with status ";
  msg += to_string(code);
  throw error(code, msg);
}

}  // namespace detail
}  // namespace weft
