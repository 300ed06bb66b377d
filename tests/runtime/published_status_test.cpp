#include "actors/published_status.hpp"

#include <gtest/gtest.h>

using namespace actorsync::runtime;

TEST(PublishedStatus, AnAnnouncedStateStandsWhileALaterFacadeRequestIsInFlight) {
  published_status status;
  EXPECT_TRUE(status.announce(session_state::active, session_state::paused));  // pause()
  EXPECT_TRUE(status.announce(session_state::paused, session_state::active));  // resume()
  status.settle(session_state::paused);  // the session handled the pause: resume still in flight
  EXPECT_EQ(status.state(), session_state::active);
  status.settle(session_state::active);
  EXPECT_EQ(status.state(), session_state::active);
}

TEST(PublishedStatus, SettlingTheLastRequestShowsWhatTheSessionDid) {
  published_status status;
  status.publish(session_state::inactive);  // the session stopped on a fatal error
  EXPECT_FALSE(status.announce(session_state::paused, session_state::active));  // resume()
  status.settle(session_state::inactive);
  EXPECT_EQ(status.state(), session_state::inactive);
  EXPECT_TRUE(status.announce(session_state::active, session_state::paused) == false);
}

TEST(PublishedStatus, InactiveShowsAtOnceEvenWithFacadeRequestsInFlight) {
  published_status status;
  status.announce(session_state::active, session_state::paused);
  status.announce(session_state::paused, session_state::active);
  status.settle(session_state::inactive);  // stopped while handling the pause
  EXPECT_EQ(status.state(), session_state::inactive);
  EXPECT_FALSE(status.announce(session_state::paused, session_state::active));
  status.settle(session_state::inactive);
  EXPECT_EQ(status.state(), session_state::inactive);
}

TEST(PublishedStatus, PublishingKeepsTheFacadeRequestsInFlight) {
  published_status status;
  status.announce(session_state::active, session_state::paused);
  status.publish(session_state::paused);  // a pause through the actor handle meanwhile
  status.announce(session_state::paused, session_state::active);
  status.settle(session_state::paused);  // one facade request still in flight: active stands
  EXPECT_EQ(status.state(), session_state::active);
  status.settle(session_state::active);
  EXPECT_EQ(status.state(), session_state::active);
}

TEST(PublishedStatus, ConnectionIsPublishedOnItsOwn) {
  published_status status;
  EXPECT_EQ(status.connection(), connection_state::disconnected);
  status.set_connection(connection_state::connected);
  EXPECT_EQ(status.connection(), connection_state::connected);
  EXPECT_EQ(status.state(), session_state::active);
}

// The session actor starts when first scheduled: the facade may have called pause() and resume()
// already, and what it found recorded (a pause) must not hide the resume announced since.
TEST(PublishedStatus, AStartBehindFacadeRequestsLeavesTheirAnnouncedState) {
  published_status status;
  status.announce(session_state::active, session_state::paused);  // pause(): recorded
  status.announce(session_state::paused, session_state::active);  // resume()
  status.publish_at_start(session_state::paused);  // the session read the pause's record
  EXPECT_EQ(status.state(), session_state::active);
  status.settle(session_state::paused);
  status.settle(session_state::active);
  EXPECT_EQ(status.state(), session_state::active);
  published_status quiet;
  quiet.publish_at_start(session_state::paused);  // nothing in flight: the start shows
  EXPECT_EQ(quiet.state(), session_state::paused);
}
