// explain() and the flight recorder (issue 20, item 4), on CAF's testing scheduler: each step of
// a session's life names its own blocker, and the recorder keeps the last events in order.
#include <gtest/gtest.h>

#include <algorithm>

#include "actors/flight_recorder.hpp"
#include "session_fixture.hpp"

namespace {

class SessionExplain : public SessionActor {
 protected:
  session_explanation explain() {
    auto answer = ask<session_explanation>(explain_atom_v);
    EXPECT_TRUE(answer->has_value());
    return answer->value_or(session_explanation{});
  }

  static std::vector<std::string> whats(const session_explanation& e) {
    std::vector<std::string> out;
    for (const auto& event : e.recent_events) out.push_back(event.what);
    return out;
  }

  static bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }
};

TEST_F(SessionExplain, EachStepOfASessionNamesWhatHoldsItBack) {
  start();
  EXPECT_EQ(explain().blocker, sync_blocker::connecting);

  caf::anon_send(impl_, link_event::failure(sync_errc::connect_failed, "refused", 0, 1500ms));
  sched_.run();
  auto e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::not_connected);
  ASSERT_TRUE(e.has_error);
  EXPECT_EQ(e.last_error, sync_errc::connect_failed);
  EXPECT_EQ(e.last_error_message, "refused");
  EXPECT_FALSE(e.last_error_fatal);
  EXPECT_EQ(e.next_retry_in, 1500ms);  // the actor clock stands still in this test
  EXPECT_TRUE(mentions(e.summary, "connect_failed")) << e.summary;
  EXPECT_TRUE(mentions(e.summary, "next attempt in 1500 ms")) << e.summary;

  link(connection_state::connecting);
  link(connection_state::connected);
  e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::waiting_for_ident);
  EXPECT_EQ(e.next_retry_in, 0ms);

  server(protocol::server_ident_message{last_ident(), 7, 99});
  EXPECT_EQ(explain().blocker, sync_blocker::none);

  commit("a");
  commit("b");
  e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::uploading);
  EXPECT_EQ(e.unacknowledged_changesets, 2u);
  EXPECT_GT(e.unacknowledged_bytes, 0u);
  EXPECT_TRUE(mentions(e.summary, "2 local changesets")) << e.summary;

  written();
  acknowledge(2, 1);
  e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::none);
  EXPECT_EQ(e.unacknowledged_changesets, 0u);
  EXPECT_EQ(e.unacknowledged_bytes, 0u);
  EXPECT_TRUE(mentions(e.summary, "synced")) << e.summary;

  ask<session_state>(pause_atom_v);
  EXPECT_EQ(explain().blocker, sync_blocker::paused);
  ask<session_state>(resume_atom_v);
  EXPECT_EQ(explain().blocker, sync_blocker::connecting);
}

TEST_F(SessionExplain, AServerThatEndsTheSessionAndAnExpiredTokenAreNamed) {
  start();
  bind_fresh();
  server(
      protocol::error_message{static_cast<std::uint16_t>(protocol::error_code::other_session_error),
                              "later", true, last_ident()});
  auto e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::not_connected);
  EXPECT_EQ(e.connection, connection_state::connected);
  EXPECT_TRUE(mentions(e.summary, "the server ended this session")) << e.summary;
  EXPECT_GT(e.next_retry_in, 0ms);

  caf::anon_send(impl_, link_event::failure(sync_errc::token_expired, "401", 0, 250ms));
  sched_.run();
  EXPECT_EQ(explain().blocker, sync_blocker::token_expired);
}

TEST_F(SessionExplain, AFatalErrorStopsTheSessionAndItsEventsStay) {
  start();
  bind_fresh();
  server(
      protocol::error_message{static_cast<std::uint16_t>(protocol::error_code::permission_denied),
                              "not yours", false, last_ident()});
  const auto e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::stopped);
  EXPECT_EQ(e.state, session_state::inactive);
  EXPECT_TRUE(e.last_error_fatal);
  EXPECT_TRUE(mentions(e.summary, "permission_denied")) << e.summary;
  const auto events = whats(e);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 3], "error: permission_denied (fatal)");
  EXPECT_EQ(events[events.size() - 2], "state: inactive");
  EXPECT_EQ(events.back(), "connection: disconnected");
  // The report a person reads carries the same.
  const auto text = to_string(e);
  EXPECT_TRUE(mentions(text, "last error permission_denied (fatal)")) << text;
  EXPECT_TRUE(mentions(text, "error: permission_denied (fatal)")) << text;
}

TEST_F(SessionExplain, AStopForAProtocolViolationIsNamedAsTheLastError) {
  start();
  bind_fresh();
  server(protocol::server_ident_message{last_ident(), 7, 99});  // a second IDENT: forbidden
  const auto e = explain();
  EXPECT_EQ(e.blocker, sync_blocker::stopped);
  ASSERT_TRUE(e.has_error);
  EXPECT_EQ(e.last_error, sync_errc::protocol_violation);
  EXPECT_TRUE(e.last_error_fatal);
  EXPECT_TRUE(mentions(e.summary, "protocol_violation")) << e.summary;
}

TEST_F(SessionExplain, TheRecorderKeepsTheLastEventsOldestFirstWithTheirAge) {
  recorder_events_ = 4;
  start();
  bind_fresh();  // connecting, connected, BIND, IDENT: exactly four
  sched_.advance_time(2s);
  commit("a");  // UPLOAD: the oldest (connecting) goes
  auto e = explain();
  ASSERT_EQ(e.recent_events.size(), 4u);
  EXPECT_EQ(
      whats(e),
      (std::vector<std::string>{
          "connection: connected", "BIND sent as session " + std::to_string(last_ident()),
          "IDENT received: file ident 7", "UPLOAD sent up to client version 1 (1 changesets)"}));
  EXPECT_EQ(e.recent_events.front().age, 2s);
  EXPECT_EQ(e.recent_events.back().age, 0ms);
}

TEST_F(SessionExplain, WithoutARecorderExplainStillReportsStateAndTheLastError) {
  recorder_events_ = 0;
  start();
  caf::anon_send(impl_, link_event::failure(sync_errc::connection_lost, "gone", 0, 250ms));
  sched_.run();
  const auto e = explain();
  EXPECT_TRUE(e.recent_events.empty());
  EXPECT_EQ(e.last_error, sync_errc::connection_lost);
  EXPECT_EQ(e.blocker, sync_blocker::not_connected);
}

TEST(FlightRecorder, WrapsAroundAndDescribesEachKind) {
  const auto origin = std::chrono::steady_clock::time_point{} + 1h;
  flight_recorder recorder(3, origin);
  for (std::uint64_t mark = 1; mark <= 5; ++mark)
    recorder.record(origin + std::chrono::seconds(mark), recorded_kind::mark_sent, 0, mark);
  const auto events = recorder.events(origin + 10s);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].what, "MARK 3 sent");
  EXPECT_EQ(events[0].age, 7s);
  EXPECT_EQ(events[2].what, "MARK 5 sent");
  EXPECT_EQ(events[2].age, 5s);
  EXPECT_EQ(flight_recorder::describe({0, recorded_kind::error,
                                       static_cast<std::uint8_t>(sync_errc::pong_timeout), 0, 900}),
            "error: pong_timeout (retry in 900 ms)");
  EXPECT_EQ(flight_recorder::describe({0, recorded_kind::download, 0, 12, 42}),
            "DOWNLOAD integrated up to server version 42 (12 changesets)");
  flight_recorder off(0, origin);
  off.record(origin, recorded_kind::state);
  EXPECT_TRUE(off.events(origin).empty());
}

}  // namespace
