// fleet_counters: each session's share replaced by difference, removed whole, and the oldest
// unacknowledged write across sessions.
#include "actors/fleet_counters.hpp"

#include <gtest/gtest.h>

using namespace actorsync::runtime;
using namespace std::chrono_literals;

namespace {

fleet_contribution share(session_state state, connection_state connection,
                         std::uint64_t unacknowledged = 0,
                         std::chrono::steady_clock::time_point oldest = fleet_contribution::none) {
  fleet_contribution c;
  c.state = state;
  c.connection = connection;
  c.unacknowledged_bytes = unacknowledged;
  c.oldest_unacknowledged = oldest;
  return c;
}

TEST(FleetCounters, SharesAreReplacedByTheirDifferenceAndRemovedWhole) {
  fleet_counters fleet;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  fleet_contribution a, b;
  fleet.update(a, share(session_state::active, connection_state::connecting), &a);
  fleet.update(b, share(session_state::active, connection_state::connected, 100, t0 + 5s), &b);
  auto s = fleet.read(t0 + 10s);
  EXPECT_EQ(s.sessions, 2u);
  EXPECT_EQ(s.active, 2u);
  EXPECT_EQ(s.connecting, 1u);
  EXPECT_EQ(s.connected, 1u);
  EXPECT_EQ(s.uploading, 1u);
  EXPECT_EQ(s.unacknowledged_bytes, 100u);
  EXPECT_EQ(s.oldest_unacknowledged_age, 5s);

  auto later = share(session_state::paused, connection_state::disconnected, 300, t0 + 2s);
  later.in_error = true;
  later.waiting_for_download = true;
  fleet.update(a, later, &a);
  s = fleet.read(t0 + 10s);
  EXPECT_EQ(s.sessions, 2u);
  EXPECT_EQ(s.active, 1u);
  EXPECT_EQ(s.paused, 1u);
  EXPECT_EQ(s.connecting, 0u);
  EXPECT_EQ(s.disconnected, 1u);
  EXPECT_EQ(s.in_error, 1u);
  EXPECT_EQ(s.waiting_for_download, 1u);
  EXPECT_EQ(s.uploading, 2u);
  EXPECT_EQ(s.unacknowledged_bytes, 400u);
  EXPECT_EQ(s.oldest_unacknowledged_age, 8s);

  fleet.remove(a, &a);
  s = fleet.read(t0 + 10s);
  EXPECT_EQ(s.sessions, 1u);
  EXPECT_EQ(s.unacknowledged_bytes, 100u);
  EXPECT_EQ(s.oldest_unacknowledged_age, 5s);
  fleet.remove(a, &a);  // twice: nothing more
  fleet.remove(b, &b);
  EXPECT_EQ(fleet.read(t0), fleet_status{});
}

TEST(FleetCounters, SessionsWithTheSameOldestWriteTimeAreKeptApart) {
  fleet_counters fleet;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  fleet_contribution a, b;
  fleet.update(a, share(session_state::active, connection_state::connected, 1, t0), &a);
  fleet.update(b, share(session_state::active, connection_state::connected, 1, t0), &b);
  fleet.update(a, share(session_state::active, connection_state::connected), &a);
  EXPECT_EQ(fleet.read(t0 + 1s).oldest_unacknowledged_age, 1s);  // b's is still there
}

}  // namespace

namespace {

TEST(LatencyHistogram, ObservationsLandInTheirBucketAndRenderCumulatively) {
  latency_histogram h;
  h.observe(500us);  // <= 1 ms
  h.observe(1ms);    // <= 1 ms
  h.observe(3ms);    // <= 5 ms
  h.observe(90s);    // +Inf
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.quantile_bound_ms(0.5), 1u);
  EXPECT_EQ(h.quantile_bound_ms(0.75), 5u);
  EXPECT_EQ(h.quantile_bound_ms(1.0), UINT32_MAX);
  std::string out;
  h.render(out, "x_seconds", "help");
  EXPECT_NE(out.find("x_seconds_bucket{le=\"0.001\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"0.005\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"60\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_count 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_sum 90.004500\n"), std::string::npos) << out;
}

}  // namespace
