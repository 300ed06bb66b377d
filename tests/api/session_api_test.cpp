// The sync_session API against a real in-process server on 127.0.0.1: waits, pause/resume,
// progress, connection state, error handling, convergence of two clients.
#include <actorsync/api/sync_session.hpp>

#include <gtest/gtest.h>

#include <mutex>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using namespace std::chrono_literals;
using runtime::connection_state;
using runtime::wait_status;

namespace {

bool has_object(api::realm& r, const std::string& id) {
  return r.read().object_exists("items", id);
}

}  // namespace

TEST(SyncSessionApi, UploadWaitIsTrueAfterAckAndTheOtherClientDownloadsIt) {
  live_server server;
  client a(server), b(server);
  auto ra = a.app->open_realm("/shared", user("alice"));
  auto rb = b.app->open_realm("/shared", user("bob"));
  write_object(*ra, "x");
  EXPECT_EQ(get(ra->session().upload_all_local_changes()).status, wait_status::ok);
  EXPECT_EQ(get(rb->session().download_all_server_changes()).status, wait_status::ok);
  EXPECT_TRUE(has_object(*rb, "x"));
}

TEST(SyncSessionApi, UploadWaitWithNothingToUploadIsTrue) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/empty", user("alice"));
  EXPECT_TRUE(bool(get(r->session().upload_all_local_changes())));
}

TEST(SyncSessionApi, WaitsTakeCallbacksToo) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/cb", user("alice"));
  write_object(*r, "x");
  std::promise<runtime::wait_outcome> seen;
  r->session().upload_all_local_changes(std::nullopt,
                                        [&seen](runtime::wait_outcome o) { seen.set_value(o); });
  EXPECT_TRUE(bool(get(seen.get_future())));
}

TEST(SyncSessionApi, TwoClientsWritingTheSameRealmConverge) {
  live_server server;
  client a(server), b(server);
  auto ra = a.app->open_realm("/converge", user("alice"));
  auto rb = b.app->open_realm("/converge", user("bob"));
  ASSERT_TRUE(ra->begin_write().create_object("counters", "c").commit().ok());
  ASSERT_TRUE(rb->begin_write().create_object("counters", "c").commit().ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(ra->begin_write().add_integer("counters", "c", "n", 1).commit().ok());
    ASSERT_TRUE(rb->begin_write().add_integer("counters", "c", "n", 2).commit().ok());
    write_object(*ra, "same", i);
    write_object(*rb, "same", 100 + i);
  }
  ASSERT_TRUE(bool(get(ra->session().upload_all_local_changes())));
  ASSERT_TRUE(bool(get(rb->session().upload_all_local_changes())));
  ASSERT_TRUE(bool(get(ra->session().download_all_server_changes())));
  ASSERT_TRUE(bool(get(rb->session().download_all_server_changes())));
  EXPECT_EQ(ra->read().content_digest(), rb->read().content_digest());
  auto n = ra->read().get_field("counters", "c", "n");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(std::get<std::int64_t>(*n), 60);
}

TEST(SyncSessionApi, PauseStopsOnlyItsRealmOnASharedLinkAndWritesArriveAfterResume) {
  live_server server;
  client a(server), b(server);
  auto paused = a.app->open_realm("/one", user("alice"));
  auto running = a.app->open_realm("/two", user("alice"));  // same user: the same link
  ASSERT_TRUE(bool(get(paused->session().download_all_server_changes())));
  paused->session().pause();
  EXPECT_EQ(paused->session().state(), runtime::session_state::paused);
  EXPECT_EQ(paused->session().connection_state(), connection_state::disconnected);

  write_object(*paused, "while-paused");
  write_object(*running, "other-realm");
  EXPECT_TRUE(bool(get(running->session().upload_all_local_changes())));
  EXPECT_EQ(get(paused->session().upload_all_local_changes(300ms)).status, wait_status::timed_out);

  auto observer = b.app->open_realm("/one", user("bob"));
  ASSERT_TRUE(bool(get(observer->session().download_all_server_changes())));
  EXPECT_FALSE(has_object(*observer, "while-paused"));

  paused->session().resume();
  EXPECT_TRUE(bool(get(paused->session().upload_all_local_changes())));
  ASSERT_TRUE(bool(get(observer->session().download_all_server_changes())));
  EXPECT_TRUE(has_object(*observer, "while-paused"));
}

TEST(SyncSessionApi, PauseIsStickyAcrossWritesAndReopen) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/sticky", user("alice"));
  r->session().pause();
  write_object(*r, "a");
  EXPECT_EQ(r->session().state(), runtime::session_state::paused);
  r.reset();  // close
  auto again = a.app->open_realm("/sticky", user("alice"));
  EXPECT_EQ(again->session().state(), runtime::session_state::paused);
  EXPECT_EQ(again->session().connection_state(), connection_state::disconnected);
  again->session().resume();
  EXPECT_TRUE(bool(get(again->session().upload_all_local_changes())));
}

TEST(SyncSessionApi, WaitsPendingAtPauseCompleteWithPaused) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/pending", user("alice"));
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  server.stop();  // nothing can be acknowledged now
  write_object(*r, "x");
  auto up = r->session().upload_all_local_changes();
  auto down = r->session().download_all_server_changes();
  r->session().pause();
  EXPECT_EQ(get(std::move(up)).status, wait_status::paused);
  EXPECT_EQ(get(std::move(down)).status, wait_status::paused);
}

TEST(SyncSessionApi, CancelWaitsOnNonFatalErrorCompletesThemWithTheError) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/cancel", user("alice"), cancelling_waits());
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  server.stop();
  write_object(*r, "x");
  auto outcome = get(r->session().upload_all_local_changes());  // the next failed attempt
  EXPECT_EQ(outcome.status, wait_status::error);
  EXPECT_FALSE(runtime::is_fatal(outcome.error));
  server.start();
  EXPECT_TRUE(bool(get(r->session().upload_all_local_changes())));
}

TEST(SyncSessionApi, WithoutCancelWaitsSurviveTheServerGoingAwayAndBack) {
  live_server server;
  std::atomic<int> disconnects{0};  // outlives the realm whose callback counts
  client a(server);
  auto r = a.app->open_realm("/survive", user("alice"));
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  auto observed =
      r->session().add_connection_notification([&](connection_state, connection_state now) {
        if (now == connection_state::disconnected) ++disconnects;
      });
  server.stop();
  write_object(*r, "x");
  auto up = r->session().upload_all_local_changes();
  auto down = r->session().download_all_server_changes();
  ASSERT_TRUE(eventually([&] { return disconnects.load() >= 2; }));  // failed retries seen
  EXPECT_EQ(up.wait_for(0s), std::future_status::timeout);
  server.start();
  EXPECT_TRUE(bool(get(std::move(up))));
  EXPECT_TRUE(bool(get(std::move(down))));
}

TEST(SyncSessionApi, ConnectionStateObserversSeeEachTransitionOnceAcrossAServerRestart) {
  live_server server;
  std::mutex m;
  std::vector<std::pair<connection_state, connection_state>> seen;
  client a(server);
  auto r = a.app->open_realm("/states", user("alice"));
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  auto observed =
      r->session().add_connection_notification([&](connection_state from, connection_state to) {
        std::lock_guard lock(m);
        seen.emplace_back(from, to);
      });
  EXPECT_EQ(r->session().connection_state(), connection_state::connected);
  server.stop();
  ASSERT_TRUE(
      eventually([&] { return r->session().connection_state() != connection_state::connected; }));
  server.start();
  ASSERT_TRUE(bool(get(r->session().download_all_server_changes())));
  ASSERT_TRUE(
      eventually([&] { return r->session().connection_state() == connection_state::connected; }));
  std::lock_guard lock(m);
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen.front(),
            std::make_pair(connection_state::connected, connection_state::disconnected));
  EXPECT_EQ(seen.back().second, connection_state::connected);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_NE(seen[i].first, seen[i].second);
    if (i > 0) {
      EXPECT_EQ(seen[i - 1].second, seen[i].first);
    }
  }
}

TEST(SyncSessionApi, ProgressReportsBothDirectionsAndOutstandingWorkRemovesItself) {
  live_server server;
  std::mutex m;
  std::vector<runtime::transfer_progress> up, down;
  std::promise<void> up_done;
  client a(server), b(server);
  auto ra = a.app->open_realm("/progress", user("alice"));
  auto rb = b.app->open_realm("/progress", user("bob"));
  ASSERT_TRUE(bool(get(rb->session().download_all_server_changes())));
  ra->session().pause();  // so the work is still outstanding when the observer registers
  for (int i = 0; i < 10; ++i) write_object(*ra, "o" + std::to_string(i));

  auto token = ra->session().add_progress_notification(
      runtime::progress_direction::upload, runtime::progress_mode::for_currently_outstanding_work,
      [&](const runtime::transfer_progress& p) {
        std::lock_guard lock(m);
        up.push_back(p);
        if (p.last) up_done.set_value();
      });
  ASSERT_NE(token.value(), 0u);
  ra->session().resume();
  auto observed = rb->session().add_progress_notification(
      runtime::progress_direction::download, runtime::progress_mode::report_indefinitely,
      [&](const runtime::transfer_progress& p) {
        std::lock_guard lock(m);
        down.push_back(p);
      });
  ASSERT_EQ(up_done.get_future().wait_for(60s), std::future_status::ready);
  ASSERT_TRUE(bool(get(rb->session().download_all_server_changes())));
  EXPECT_FALSE(ra->session().remove_progress_notification(token.value()));  // it removed itself
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return !down.empty() && down.back().transferred > 0;
  }));
  std::lock_guard lock(m);
  ASSERT_GE(up.size(), 2u);
  EXPECT_EQ(up.front().transferred, 0u);  // the initial report
  EXPECT_GT(up.front().transferable, 0u);
  EXPECT_TRUE(up.back().complete);
  EXPECT_DOUBLE_EQ(up.back().estimate, 1.0);
  EXPECT_EQ(down.front().direction, runtime::progress_direction::download);
}

TEST(SyncSessionApi, AFatalErrorCompletesWaitsAndReachesTheAppErrorHandler) {
  live_server server;
  std::promise<runtime::session_error_event> error;
  std::once_flag once;
  client a(server, [&](api::app_config& c) {
    c.error_handler = [&](const runtime::session_error_event& e) {
      if (e.fatal) std::call_once(once, [&] { error.set_value(e); });
    };
  });
  server::token_secret secret(secret_bytes);
  api::user_credentials narrow{
      "carol", server::issue_token(secret, {"carol", {"/allowed"}, server::unix_now() + 3600})};
  auto r = a.app->open_realm("/forbidden", narrow);
  auto outcome = get(r->session().download_all_server_changes());
  EXPECT_EQ(outcome.status, wait_status::error);
  EXPECT_TRUE(runtime::is_fatal(outcome.error));
  auto f = error.get_future();
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(f.get().fatal);
  EXPECT_EQ(r->session().state(), runtime::session_state::inactive);
}

// app_config::min_free_disk_bytes reaches the client store: below the reserve the app does not
// start, and the message says the disk is full and where.
TEST(SyncSessionApi, AnAppDoesNotStartBelowItsDiskReserveAndSaysWhy) {
  temp_dir dir{"reserve"};
  api::app_config config;
  config.server_url = "ws://127.0.0.1:1";
  config.data_directory = dir.path();
  config.min_free_disk_bytes = std::uint64_t{1} << 62;
  try {
    api::app app(config);
    ADD_FAILURE() << "the app started below its disk reserve";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is full"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
}
