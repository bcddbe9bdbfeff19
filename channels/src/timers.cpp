// after()/tick() construction, out of line (see timers.hpp).
#include <weft/timers.hpp>

namespace weft::detail {

receiver<time_point> make_after(time_point at) { return make_receiver<time_point>(new after_chan(at)); }

receiver<time_point> make_tick(time_point first, clock::duration period) {
  return make_receiver<time_point>(new tick_chan(first, period));
}

}  // namespace weft::detail
