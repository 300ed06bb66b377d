// Session multiplexing against a real in-process server: sockets are counted in
// /proc/self/fd. Client and server ends of a loopback connection both live in this process, so
// every client connection shows up as two sockets.
#include <actorsync/api/app.hpp>

#include <gtest/gtest.h>

#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::shared_ptr<api::realm>> open_many(api::app& app, const std::string& prefix,
                                                   int count, const api::user_credentials& who) {
  std::vector<std::shared_ptr<api::realm>> realms;
  realms.reserve(count);
  for (int i = 0; i < count; ++i) realms.push_back(app.open_realm(prefix + std::to_string(i), who));
  return realms;
}

void all_downloaded(std::vector<std::shared_ptr<api::realm>>& realms) {
  std::vector<std::future<runtime::wait_outcome>> waits;
  waits.reserve(realms.size());
  for (auto& r : realms) waits.push_back(r->session().download_all_server_changes());
  for (auto& w : waits) ASSERT_TRUE(bool(get(std::move(w))));
}

}  // namespace

TEST(Multiplexing, AThousandSessionsOfOneUserShareOneSocket) {
  live_server server;
  client a(server);
  int before = open_sockets();
  auto realms = open_many(*a.app, "/many/", 1000, user("alice"));
  all_downloaded(realms);
  auto stats = a.app->statistics();
  EXPECT_EQ(stats.sockets_open, 1u);
  EXPECT_EQ(stats.sessions_active, 1000u);
  EXPECT_EQ(server.server().metrics().connections.load(), 1);
  EXPECT_EQ(open_sockets() - before, 2);  // our end and the server's end of one connection
}

TEST(Multiplexing, ABurstOfBindsAfterAMemoryReleaseIsReleasedToo) {
  live_server server;
  client a(server, [](api::app_config& c) { c.release_memory_after_sessions = 20; });
  auto realms = open_many(*a.app, "/rebind/", 20, user("alice"));
  all_downloaded(realms);
  auto releases = [&a] { return a.app->connection_statistics().memory_releases; };
  eventually([&] { return releases() != 0; });
  const auto after_open = releases();
  ASSERT_GE(after_open, 1u);
  // After the server restarts, all 20 sessions bind again without attaching or leaving: a burst
  // counted by the new bindings only (at 100,000 sessions a release made during the long binding
  // burst was the last one, and the rest of the burst stayed resident).
  server.stop();
  server.start();
  all_downloaded(realms);
  eventually([&] { return releases() != after_open; });
  EXPECT_GT(releases(), after_open);
}

TEST(Multiplexing, WithoutItEachSessionHasItsOwnSocket) {
  live_server server;
  client a(server, [](api::app_config& c) { c.session_multiplexing = false; });
  int before = open_sockets();
  auto realms = open_many(*a.app, "/own/", 50, user("alice"));
  all_downloaded(realms);
  EXPECT_EQ(a.app->statistics().sockets_open, 50u);
  EXPECT_EQ(server.server().metrics().connections.load(), 50);
  EXPECT_EQ(open_sockets() - before, 100);
}

TEST(Multiplexing, TwoUsersGetTwoLinks) {
  live_server server;
  client a(server);
  auto alice = open_many(*a.app, "/alice/", 5, user("alice"));
  auto bob = open_many(*a.app, "/bob/", 5, user("bob"));
  all_downloaded(alice);
  all_downloaded(bob);
  EXPECT_EQ(a.app->statistics().sockets_open, 2u);
  EXPECT_EQ(server.server().metrics().connections.load(), 2);
}

TEST(Multiplexing, TheLinkClosesAfterItsLastSessionLeaves) {
  live_server server;
  client a(server);  // linger 0
  auto r = a.app->open_realm("/linger", user("alice"));
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  EXPECT_EQ(a.app->statistics().sockets_open, 1u);
  r->close(/*stop_now=*/true);
  EXPECT_TRUE(eventually([&] { return a.app->statistics().sockets_open == 0; }));
  EXPECT_TRUE(eventually([&] { return server.server().metrics().connections.load() == 0; }));
}

// The default keeps a link for a while after its last session left (app_config::linger).
TEST(Multiplexing, ALingeringLinkIsReusedByASessionOpenedWithinIt) {
  live_server server;
  client a(server, [](api::app_config& c) { c.linger = std::chrono::hours(1); });
  auto first = a.app->open_realm("/linger-a", user("alice"));
  ASSERT_TRUE(bool(get(first->session().download_all_server_changes())));
  first->close(/*stop_now=*/true);
  first.reset();
  // The session is gone (the app forgets it once it stopped), the link stays.
  ASSERT_TRUE(eventually([&] {
    return a.app->statistics().sessions_inactive == 0 && a.app->statistics().sessions_active == 0;
  }));
  EXPECT_EQ(a.app->statistics().sockets_open, 1u);
  auto second = a.app->open_realm("/linger-b", user("alice"));
  ASSERT_TRUE(bool(get(second->session().download_all_server_changes())));
  const auto stats = a.app->statistics();
  EXPECT_EQ(stats.connects, 1u);  // the lingering link, not a new connection
  EXPECT_EQ(stats.sockets_open, 1u);
  EXPECT_EQ(server.server().metrics().connections_total.load(), 1u);
}

TEST(Multiplexing, PausingTheLastSessionLetsTheLinkGoAndResumeOpensItAgain) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/pause-link", user("alice"));
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  r->session().pause();
  EXPECT_TRUE(eventually([&] { return a.app->statistics().sockets_open == 0; }));
  r->session().resume();
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  EXPECT_EQ(a.app->statistics().sockets_open, 1u);
}

TEST(Multiplexing, SettingCannotChangeAfterTheFirstSessionOpened) {
  live_server server;
  client a(server);
  a.app->sync().enable_session_multiplexing();  // seed compatibility, already on
  EXPECT_TRUE(a.app->sync().session_multiplexing());
  auto r = a.app->open_realm("/settings", user("alice"));
  EXPECT_NO_THROW(a.app->sync().enable_session_multiplexing());  // no change
  EXPECT_THROW(a.app->sync().disable_session_multiplexing(), api::usage_error);
}

TEST(Multiplexing, StatisticsCountSessionsByState) {
  live_server server;
  client a(server);
  auto realms = open_many(*a.app, "/stats/", 3, user("alice"));
  realms[0]->session().pause();
  auto stats = a.app->statistics();
  EXPECT_EQ(stats.sessions_active, 2u);
  EXPECT_EQ(stats.sessions_paused, 1u);
}

TEST(Multiplexing, ClosedSessionsAreForgottenOnceTheirLastChangeIsAcknowledged) {
  live_server server;
  client a(server), b(server);
  auto total = [&] {
    auto s = a.app->statistics();
    return s.sessions_active + s.sessions_paused + s.sessions_inactive;
  };
  // Open, write and close realms over and over, as a long-running service does: the closed
  // sessions upload their last write, stop, and the app keeps nothing of them.
  for (int round = 0; round < 3; ++round) {
    auto realms = open_many(*a.app, "/closed/", 20, user("alice"));
    for (auto& r : realms) write_object(*r, "round-" + std::to_string(round));
    EXPECT_EQ(total(), 20u);
    realms.clear();  // closes every realm; the sessions live on until acknowledged
    EXPECT_TRUE(eventually([&] { return total() == 0; }));
  }
  auto copies = open_many(*b.app, "/closed/", 20, user("bob"));
  all_downloaded(copies);
  for (auto& r : copies) {
    for (int round = 0; round < 3; ++round)
      EXPECT_TRUE(r->read().object_exists("items", "round-" + std::to_string(round)));
  }
}
