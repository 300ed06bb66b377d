// Client reset against a real server whose data goes back in time: the server's data directory
// replaced with an older copy while the client holds newer acknowledged state, wiped, and a
// replica whose file ident the server no longer knows. For each mode: what remains locally,
// whether every replica converges, and the before/after callbacks (once each, in order).
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "tests/api/live_server.hpp"

namespace actorsync::testing {
namespace {

using runtime::client_reset_event;
using runtime::client_reset_mode;
using runtime::client_reset_reason;

/// Every client_reset_event a realm's callbacks received, in order.
class reset_log {
 public:
  void record(const client_reset_event& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  }
  std::vector<client_reset_event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool has_after() const {
    std::lock_guard lock(mutex_);
    return !events_.empty() && events_.back().after;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<client_reset_event> events_;
};

api::realm_config resetting(client_reset_mode mode, reset_log& log) {
  api::realm_config c;
  c.client_reset_mode = mode;
  c.before_client_reset = [&log](const client_reset_event& e) { log.record(e); };
  c.after_client_reset = [&log](const client_reset_event& e) { log.record(e); };
  return c;
}

/// The server's data directory, copied aside while it is stopped and put back later.
class data_backup {
 public:
  explicit data_backup(live_server& server) : server_(server) {}
  void take() {
    server_.stop();
    std::filesystem::copy(directory(), copy_.path() / "data",
                          std::filesystem::copy_options::recursive);
    server_.start();
  }
  /// Stops the server, replaces its data with the copy (or nothing) and starts it again.
  void restore(bool wipe = false) {
    server_.stop();
    std::filesystem::remove_all(directory());
    if (!wipe)
      std::filesystem::copy(copy_.path() / "data", directory(),
                            std::filesystem::copy_options::recursive);
    server_.start();
  }

 private:
  std::filesystem::path directory() const { return server_.options().data_directory; }
  live_server& server_;
  temp_dir copy_{"server-backup"};
};

bool upload_and_download(api::realm& r) {
  return bool(get(r.session().upload_all_local_changes())) &&
         bool(get(r.session().download_all_server_changes()));
}

/// A fresh replica downloads the realm and must read exactly what `r` reads.
void expect_converges(live_server& server, api::realm& r) {
  client fresh(server);
  auto other = fresh.app->open_realm(r.session().path(), user("bob"));
  ASSERT_TRUE(bool(get(other->session().download_all_server_changes())));
  EXPECT_EQ(other->read().content_digest(), r.read().content_digest());
}

/// The common story: "a" synced and in the backup, "b" synced after it, "c" written while
/// paused (never acknowledged); then the server goes back to the backup and the realm resumes.
struct restored_server_story {
  live_server server;
  data_backup backup{server};
  client app{server};
  reset_log log;
  std::shared_ptr<api::realm> realm;

  explicit restored_server_story(client_reset_mode mode) {
    realm = app.app->open_realm("/reset/story", user("alice"), resetting(mode, log));
    write_object(*realm, "a");
    EXPECT_TRUE(upload_and_download(*realm));
    backup.take();
    write_object(*realm, "b");
    EXPECT_TRUE(upload_and_download(*realm));
    realm->session().pause();
    write_object(*realm, "c");
    backup.restore();
    realm->session().resume();
  }
  bool has(const std::string& id) const { return realm->read().object_exists("items", id); }
};

void expect_before_then_after(const reset_log& log, client_reset_mode mode,
                              client_reset_reason reason) {
  const auto events = log.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].after);
  EXPECT_TRUE(events[1].after);
  for (const auto& e : events) {
    EXPECT_EQ(e.mode, mode);
    EXPECT_EQ(e.reason, reason);
    EXPECT_EQ(e.realm, "/reset/story");
  }
  EXPECT_EQ(events[0].unsynced_changesets, 1u);  // "c"
}

TEST(ClientReset, RecoverKeepsTheUnsyncedWriteOnTopOfTheRestoredCopyAndConverges) {
  restored_server_story story(client_reset_mode::recover_unsynced);
  ASSERT_TRUE(eventually([&] { return story.log.has_after(); })) << "no reset finished";
  expect_before_then_after(story.log, client_reset_mode::recover_unsynced,
                           client_reset_reason::client_ahead_of_server);
  EXPECT_EQ(story.log.events()[1].recovered, 1u);
  ASSERT_TRUE(upload_and_download(*story.realm));
  EXPECT_TRUE(story.has("a"));
  EXPECT_FALSE(story.has("b"));  // acknowledged, then lost with the server's newer data
  EXPECT_TRUE(story.has("c"));
  expect_converges(story.server, *story.realm);
}

TEST(ClientReset, DiscardDropsTheUnsyncedWriteAndConverges) {
  restored_server_story story(client_reset_mode::discard_unsynced);
  ASSERT_TRUE(eventually([&] { return story.log.has_after(); })) << "no reset finished";
  expect_before_then_after(story.log, client_reset_mode::discard_unsynced,
                           client_reset_reason::client_ahead_of_server);
  EXPECT_EQ(story.log.events()[1].discarded, 1u);
  ASSERT_TRUE(upload_and_download(*story.realm));
  EXPECT_TRUE(story.has("a"));
  EXPECT_FALSE(story.has("b"));
  EXPECT_FALSE(story.has("c"));
  expect_converges(story.server, *story.realm);
}

TEST(ClientReset, ManualStopsTheSessionAndLeavesTheLocalStateAlone) {
  restored_server_story story(client_reset_mode::manual);
  ASSERT_TRUE(eventually([&] { return !story.log.events().empty(); }));
  auto outcome = get(story.realm->session().upload_all_local_changes());
  EXPECT_EQ(outcome.status, runtime::wait_status::error);
  EXPECT_EQ(outcome.error, runtime::sync_errc::client_reset_required);
  EXPECT_EQ(story.realm->session().state(), runtime::session_state::inactive);
  const auto events = story.log.events();
  ASSERT_EQ(events.size(), 1u);  // before only
  EXPECT_FALSE(events[0].after);
  EXPECT_EQ(events[0].mode, client_reset_mode::manual);
  EXPECT_EQ(events[0].unsynced_changesets, 1u);
  EXPECT_TRUE(story.has("a"));
  EXPECT_TRUE(story.has("b"));
  EXPECT_TRUE(story.has("c"));

  // The application decides: it reopens the realm with a mode that resets.
  story.realm->close(true);
  story.realm.reset();
  reset_log later;
  auto reopened = story.app.app->open_realm("/reset/story", user("alice"),
                                            resetting(client_reset_mode::recover_unsynced, later));
  ASSERT_TRUE(eventually([&] { return later.has_after(); })) << "no reset after reopening";
  ASSERT_TRUE(upload_and_download(*reopened));
  EXPECT_TRUE(reopened->read().object_exists("items", "c"));
  EXPECT_FALSE(reopened->read().object_exists("items", "b"));
  expect_converges(story.server, *reopened);
}

TEST(ClientReset, AWipedServerGetsTheUnsyncedWriteBackFromTheRecoveringReplica) {
  live_server server;
  data_backup backup(server);
  client app(server);
  reset_log log;
  auto realm = app.app->open_realm("/reset/story", user("alice"),
                                   resetting(client_reset_mode::recover_or_discard, log));
  write_object(*realm, "a");
  ASSERT_TRUE(upload_and_download(*realm));
  realm->session().pause();
  write_object(*realm, "c");
  backup.restore(true);  // nothing at all
  realm->session().resume();
  ASSERT_TRUE(eventually([&] { return log.has_after(); })) << "no reset finished";
  ASSERT_TRUE(upload_and_download(*realm));
  EXPECT_FALSE(realm->read().object_exists("items", "a"));
  EXPECT_TRUE(realm->read().object_exists("items", "c"));
  expect_converges(server, *realm);
}

TEST(ClientReset, AnUnknownFileIdentIsResetWithThatReason) {
  live_server server;
  data_backup backup(server);
  client app(server);
  reset_log log;
  auto realm = app.app->open_realm("/reset/story", user("alice"),
                                   resetting(client_reset_mode::recover_unsynced, log));
  // The server allocated a file ident; its history is empty, so the download cursor stays 0.
  ASSERT_TRUE(bool(get(realm->session().download_all_server_changes())));
  realm->session().pause();
  write_object(*realm, "c");
  backup.restore(true);
  realm->session().resume();
  ASSERT_TRUE(eventually([&] { return log.has_after(); })) << "no reset finished";
  expect_before_then_after(log, client_reset_mode::recover_unsynced,
                           client_reset_reason::client_file_ident_unknown);
  ASSERT_TRUE(upload_and_download(*realm));
  EXPECT_TRUE(realm->read().object_exists("items", "c"));
  expect_converges(server, *realm);
}

// A process killed in the middle of a reset (tests/storage/client_reset_test.cpp shows what
// SIGKILL leaves at each step) leaves it pending: the next session carries it on at once,
// without a server error, and tells only `after` (reason `resumed`).
TEST(ClientReset, AResetPendingFromAnEarlierProcessIsCarriedOnWhenTheRealmOpens) {
  live_server server;
  temp_dir data{"client"};
  auto config_for = [&](api::app_config& c) { c.data_directory = data.path(); };
  {
    client first(server, config_for);
    auto realm = first.app->open_realm("/reset/story", user("alice"));
    write_object(*realm, "a");
    ASSERT_TRUE(upload_and_download(*realm));
    realm->session().pause();
  }
  {  // what a crash after begin_reset leaves: an unsynced write and the reset record
    auto db = storage::database::open(data.path());
    ASSERT_TRUE(db.ok());
    auto realm = db.value()->open_realm("/reset/story");
    ASSERT_TRUE(realm.ok());
    ASSERT_TRUE(realm.value()->begin_write().create_object("items", "c").commit().ok());
    ASSERT_TRUE(realm.value()->begin_reset().ok());
  }
  client second(server, config_for);
  reset_log log;
  auto realm = second.app->open_realm("/reset/story", user("alice"),
                                      resetting(client_reset_mode::recover_unsynced, log));
  realm->session().resume();
  ASSERT_TRUE(eventually([&] { return log.has_after(); })) << "the pending reset did not finish";
  const auto events = log.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, client_reset_reason::resumed);
  EXPECT_EQ(events[0].recovered, 1u);
  ASSERT_TRUE(upload_and_download(*realm));
  EXPECT_TRUE(realm->read().object_exists("items", "a"));
  EXPECT_TRUE(realm->read().object_exists("items", "c"));
  expect_converges(server, *realm);
}

}  // namespace
}  // namespace actorsync::testing
