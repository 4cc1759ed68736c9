#include <loyalty/metrics/counters.hpp>

namespace loyalty::metrics {

Counters& counters() noexcept {
  static Counters instance;
  return instance;
}

}  // namespace loyalty::metrics
