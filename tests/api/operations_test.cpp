// Running many sessions (issue 20) through the facade, against a real in-process server:
// explain(), per-write durability, reads-your-writes across clients, the backpressure signal.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using namespace std::chrono_literals;
using runtime::sync_blocker;
using runtime::wait_status;

namespace {

runtime::session_explanation explain(api::realm& r) {
  auto answer = r.session().explain();
  EXPECT_EQ(answer.wait_for(60s), std::future_status::ready);
  return answer.get();
}

bool has_event(const runtime::session_explanation& e, const std::string& what) {
  for (const auto& event : e.recent_events)
    if (event.what == what) return true;
  return false;
}

storage::version_type commit_object(api::realm& r, const std::string& id) {
  auto v = r.begin_write().create_object("items", id).set_field("items", id, "n", 1).commit();
  EXPECT_TRUE(v.ok());
  return v.ok() ? v.value() : 0;
}

TEST(Operations, ExplainSaysSyncedPausedAndNotConnectedWithTheNextAttempt) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/explain", user("alice"));
  commit_object(*r, "x");
  ASSERT_TRUE(bool(get(r->session().upload_all_local_changes())));
  auto e = explain(*r);
  EXPECT_EQ(e.blocker, sync_blocker::none) << to_string(e);
  EXPECT_TRUE(has_event(e, "acknowledged up to client version 1")) << to_string(e);
  EXPECT_EQ(e.unacknowledged_changesets, 0u);

  r->session().pause();
  commit_object(*r, "y");
  e = explain(*r);
  EXPECT_EQ(e.blocker, sync_blocker::paused) << to_string(e);
  EXPECT_EQ(e.unacknowledged_changesets, 1u);

  server.stop();
  r->session().resume();
  EXPECT_TRUE(eventually([&] {
    auto now = explain(*r);
    return now.blocker == sync_blocker::not_connected && now.has_error && now.next_retry_in > 0ms;
  }));
  e = explain(*r);
  EXPECT_TRUE(e.summary.find("next attempt in") != std::string::npos) << e.summary;
  server.start();
  ASSERT_TRUE(bool(get(r->session().upload_all_local_changes())));
  EXPECT_EQ(explain(*r).blocker, sync_blocker::none);
}

TEST(Operations, AWaitForOneWriteDoesNotWaitForLaterOnes) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/per-write", user("alice"));
  const auto first = commit_object(*r, "a");
  EXPECT_TRUE(bool(get(r->session().wait_for_upload(first))));
  r->session().pause();  // nothing committed from here on is uploaded
  const auto second = commit_object(*r, "b");
  EXPECT_TRUE(bool(get(r->session().wait_for_upload(first))));
  EXPECT_EQ(get(r->session().wait_for_upload(second, 50ms)).status, wait_status::timed_out);
  EXPECT_THROW((void)r->session().wait_for_upload(second + 1), api::usage_error);
  r->session().resume();
  EXPECT_TRUE(bool(get(r->session().wait_for_upload(second))));
}

TEST(Operations, AReaderWaitsForTheServerVersionThatCoversAWriterUpload) {
  live_server server;
  client a(server), b(server);
  auto writer = a.app->open_realm("/ryw", user("alice"));
  auto reader = b.app->open_realm("/ryw", user("bob"));
  const auto version = commit_object(*writer, "note");
  ASSERT_TRUE(bool(get(writer->session().wait_for_upload(version))));
  ASSERT_TRUE(bool(get(writer->session().download_all_server_changes())));
  const auto covering = writer->session().downloaded_server_version();
  ASSERT_GT(covering, 0u);
  ASSERT_TRUE(bool(get(reader->session().wait_for_download(covering))));
  EXPECT_TRUE(reader->read().object_exists("items", "note"));
  EXPECT_GE(reader->session().downloaded_server_version(), covering);
  EXPECT_TRUE(bool(get(reader->session().wait_for_download(0))));
}

TEST(Operations, BackpressureIsToldAboveTheHighMarkAndAgainAtTheLowOne) {
  live_server server;
  client a(server);
  std::mutex mutex;
  std::vector<runtime::backpressure_event> told;
  api::realm_config config;
  config.backpressure_high_water_bytes = 2000;
  config.backpressure_low_water_bytes = 500;
  config.on_backpressure = [&](const runtime::backpressure_event& e) {
    std::lock_guard lock(mutex);
    told.push_back(e);
  };
  auto count = [&] {
    std::lock_guard lock(mutex);
    return told.size();
  };
  auto r = a.app->open_realm("/backpressure", user("alice"), config);
  r->session().pause();  // nothing is acknowledged: the producer runs ahead
  int written = 0;
  while (count() == 0 && written < 10000) commit_object(*r, "o" + std::to_string(written++));
  ASSERT_TRUE(eventually([&] { return count() == 1; }));
  r->session().resume();
  ASSERT_TRUE(bool(get(r->session().upload_all_local_changes())));
  ASSERT_TRUE(eventually([&] { return count() == 2; }));
  std::lock_guard lock(mutex);
  EXPECT_TRUE(told[0].above_high_water);
  EXPECT_GT(told[0].unacknowledged_bytes, 2000u);
  EXPECT_EQ(told[0].realm, "/backpressure");
  EXPECT_FALSE(told[1].above_high_water);
  EXPECT_LE(told[1].unacknowledged_bytes, 500u);
}

TEST(Operations, BackpressureMarksTheWrongWayRoundAreAUsageError) {
  live_server server;
  client a(server);
  api::realm_config config;
  config.backpressure_high_water_bytes = 100;
  config.backpressure_low_water_bytes = 100;
  config.on_backpressure = [](const runtime::backpressure_event&) {};
  EXPECT_THROW((void)a.app->open_realm("/marks", user("alice"), config), api::usage_error);
  api::app_config bad;
  bad.server_url = server.url();
  bad.data_directory = a.dir.path() / "other";
  bad.flight_recorder_events = runtime::tuning::max_flight_recorder_events + 1;
  EXPECT_THROW(api::app{bad}, api::usage_error);
  bad.flight_recorder_events = 8;
  bad.max_sessions_per_connection = 0;
  EXPECT_THROW(api::app{bad}, api::usage_error);
  bad.max_sessions_per_connection = 100;
  bad.metrics_endpoint = true;
  bad.metrics_address = "localhost:9";  // not an IP address
  try {
    api::app refused{bad};
    ADD_FAILURE() << "an app started with metrics_address " << bad.metrics_address;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'localhost:9' is not an IP address"), std::string::npos)
        << e.what();
  }
}

TEST(Operations, FleetFiguresFollowTheSessionsAndAnObserverHearsItsAlarm) {
  live_server server;
  client a(server);
  std::vector<std::shared_ptr<api::realm>> realms;
  for (int i = 0; i < 20; ++i)
    realms.push_back(a.app->open_realm("/fleet/" + std::to_string(i), user("alice")));
  ASSERT_TRUE(eventually([&] {
    const auto f = a.app->fleet();
    return f.sessions == 20 && f.connected == 20;
  }));
  for (int i = 0; i < 5; ++i) realms[i]->session().pause();
  commit_object(*realms[0], "unsent");
  ASSERT_TRUE(eventually([&] {
    const auto f = a.app->fleet();
    return f.paused == 5 && f.active == 15 && f.uploading == 1 && f.unacknowledged_bytes > 0 &&
           f.oldest_unacknowledged_age > 0ms;
  }));

  std::mutex mutex;
  std::vector<runtime::fleet_event> heard;
  runtime::fleet_observer_config watch;
  watch.sessions_in_error_above = 10;
  watch.check_interval = 20ms;
  auto token = a.app->add_fleet_observer(watch, [&](const runtime::fleet_event& e) {
    std::lock_guard lock(mutex);
    heard.push_back(e);
  });
  auto heard_count = [&] {
    std::lock_guard lock(mutex);
    return heard.size();
  };
  server.stop();  // the 15 active sessions lose their link
  ASSERT_TRUE(eventually([&] { return heard_count() == 1; }));
  server.start();  // they bind again: the alarm clears
  ASSERT_TRUE(eventually([&] { return heard_count() == 2; }));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(heard[0].alarm, runtime::fleet_alarm::sessions_in_error);
    EXPECT_TRUE(heard[0].raised);
    EXPECT_GT(heard[0].status.in_error, 10u);
    EXPECT_FALSE(heard[1].raised);
    EXPECT_LE(heard[1].status.in_error, 10u);
  }
  token.reset();

  realms.clear();  // closed: each session leaves the figures once it stopped
  ASSERT_TRUE(eventually([&] { return a.app->fleet().sessions == 0; }));
  EXPECT_EQ(a.app->fleet(), runtime::fleet_status{});
  runtime::fleet_observer_config silent;
  EXPECT_THROW((void)a.app->add_fleet_observer(silent, [](const runtime::fleet_event&) {}),
               api::usage_error);
}

}  // namespace
