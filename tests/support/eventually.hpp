// The one way tests wait for a state they can only observe from outside (a metrics gauge, a
// connection state, a counter another thread bumps): poll the condition until it holds. The
// deadline is generous and only fails a test on a broken build or a very loaded machine; it
// never paces a test, and nothing sleeps for a fixed time instead.
//
//   ASSERT_TRUE(eventually([&] { return server.connections() == 2; })) << "what did not happen";
#pragma once

#include <chrono>
#include <functional>

namespace actorsync::testing {

/// How long eventually() polls by default.
inline constexpr std::chrono::milliseconds eventually_deadline = std::chrono::seconds(60);

/// True once `condition` holds (checked at once, then every few milliseconds); false when
/// `deadline` passed first, which the caller turns into a failure with its own message.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = eventually_deadline);

}  // namespace actorsync::testing
