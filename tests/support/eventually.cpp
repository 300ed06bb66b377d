#include "tests/support/eventually.hpp"

#include <thread>

namespace actorsync::testing {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a wait
  }
  return true;
}

}  // namespace actorsync::testing
