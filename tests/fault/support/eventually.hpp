// Polls a condition until it holds or a deadline passes, for the fault tests. The deadline only
// fails a test (a generous bound on a loaded machine); it never paces the test itself.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace actorsync::testing {

/// True once `condition` holds; false when `deadline` passed first.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace actorsync::testing
