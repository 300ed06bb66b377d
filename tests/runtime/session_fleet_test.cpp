// Fleet figures pushed by sessions (issue 20, item 1), on CAF's testing scheduler: 10,000
// sessions publish their share as they change, and reading the figures schedules nothing.
#include <gtest/gtest.h>

#include "session_fixture.hpp"

namespace {

class SessionFleet : public SessionActor {
 protected:
  std::shared_ptr<session_settings> fleet_settings() {
    auto settings = std::make_shared<session_settings>();
    settings->connection_manager = caf::actor_cast<connection_manager_actor>(link_);
    settings->link_key = "alice";
    settings->ident_source = std::make_shared<std::atomic<std::uint64_t>>(0);
    settings->fleet = fleet_;
    return settings;
  }
  std::shared_ptr<fleet_counters> fleet_ = std::make_shared<fleet_counters>();
};

TEST_F(SessionFleet, TenThousandSessionsAreCountedWithoutAMessageToAny) {
  constexpr int count = 10'000;
  auto settings = fleet_settings();
  std::vector<session_actor> sessions;
  for (int i = 0; i < count; ++i) {
    session_config config;
    config.realm_path = "/fleet/" + std::to_string(i);
    config.store = store_;  // never written to here
    config.settings = settings;
    config.status = std::make_shared<published_status>();
    sessions.push_back(spawn_session(sys_, config));
  }
  // Paused through their handles (start_paused would record it in the store they share).
  for (int i = 0; i < count; i += 4)
    caf::anon_send(caf::actor_cast<session_actor_impl>(sessions[i]), pause_atom_v, recorded_atom_v);
  sched_.run();
  ASSERT_FALSE(sched_.has_job());
  const auto status = fleet_->read(sys_.clock().now());
  EXPECT_FALSE(sched_.has_job());  // reading scheduled nothing: no session was asked
  EXPECT_EQ(status.sessions, 10'000u);
  EXPECT_EQ(status.paused, 2'500u);
  EXPECT_EQ(status.active, 7'500u);
  EXPECT_EQ(status.connecting, 7'500u);  // attached, waiting for their link
  EXPECT_EQ(status.disconnected, 2'500u);
  EXPECT_EQ(status.in_error, 0u);

  // A link failure reaches a session: its share moves at once, the others' stay.
  caf::anon_send(caf::actor_cast<session_actor_impl>(sessions[1]),
                 link_event::failure(sync_errc::connection_lost, "gone", 0, 250ms));
  sched_.run();
  const auto after = fleet_->read(sys_.clock().now());
  EXPECT_EQ(after.in_error, 1u);
  EXPECT_EQ(after.connecting, 7'499u);
  EXPECT_EQ(after.disconnected, 2'501u);
  for (auto& session : sessions) caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
  sched_.run();
}

TEST_F(SessionFleet, UnacknowledgedWritesWaitsAndRecoveryAreCounted) {
  settings_hook_ = [this](session_settings& s) { s.fleet = fleet_; };
  start();
  bind_fresh();
  sched_.advance_time(3s);
  commit("a");
  sched_.advance_time(2s);
  auto s = fleet_->read(sys_.clock().now());
  EXPECT_EQ(s.uploading, 1u);
  EXPECT_GT(s.unacknowledged_bytes, 0u);
  EXPECT_EQ(s.oldest_unacknowledged_age, 2s);  // noticed when the commit reached the session
  EXPECT_EQ(s.connected, 1u);

  auto wait = ask<wait_outcome>(wait_for_upload{});
  EXPECT_EQ(fleet_->read(sys_.clock().now()).waiting_for_upload, 1u);
  written();
  acknowledge(1, 1);
  ASSERT_TRUE(wait->has_value());
  s = fleet_->read(sys_.clock().now());
  EXPECT_EQ(s.uploading, 0u);
  EXPECT_EQ(s.unacknowledged_bytes, 0u);
  EXPECT_EQ(s.oldest_unacknowledged_age, 0ms);
  EXPECT_EQ(s.waiting_for_upload, 0u);

  caf::anon_send(impl_, link_event::failure(sync_errc::connection_lost, "gone", 0, 250ms));
  sched_.run();
  EXPECT_EQ(fleet_->read(sys_.clock().now()).in_error, 1u);
  link(connection_state::connecting);
  link(connection_state::connected);  // bound again with its known file ident
  EXPECT_EQ(fleet_->read(sys_.clock().now()).in_error, 0u);
}

TEST_F(SessionFleet, AStopWithoutAnErrorMessageStillCountsAsInError) {
  settings_hook_ = [this](session_settings& s) { s.fleet = fleet_; };
  start();
  bind_fresh();
  server(protocol::server_ident_message{last_ident(), 7, 99});  // protocol violation: stopped
  const auto s = fleet_->read(sys_.clock().now());
  EXPECT_EQ(s.inactive, 1u);
  EXPECT_EQ(s.in_error, 1u);
}

TEST_F(SessionFleet, ABacklogAboveTheHighMarkIsToldAtStart) {
  commit("a");  // before the session exists: an earlier run's unacknowledged write
  auto told = std::make_shared<std::vector<backpressure_event>>();
  config_hook_ = [told](session_config& c) {
    auto marks = std::make_shared<backpressure_config>();
    marks->high_water_bytes = 1;
    marks->low_water_bytes = 0;
    marks->callback = [told](const backpressure_event& e) { told->push_back(e); };
    c.backpressure = marks;
  };
  start();
  ASSERT_EQ(told->size(), 1u);
  EXPECT_TRUE(told->front().above_high_water);
  bind_fresh();
  written();
  acknowledge(1, 1);
  ASSERT_EQ(told->size(), 2u);
  EXPECT_FALSE(told->back().above_high_water);
  EXPECT_EQ(told->back().unacknowledged_bytes, 0u);
}

}  // namespace
