// Notifications return an RAII token (issue 15): dropping it removes the notification, release()
// keeps it, and a token may outlive its realm.
#include <actorsync/api/sync_session.hpp>

#include <gtest/gtest.h>

#include <atomic>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;
using runtime::progress_direction;
using runtime::progress_mode;

namespace {

api::notification_token count_downloads(api::realm& r, std::atomic<int>& reports) {
  return r.session().add_progress_notification(
      progress_direction::download, progress_mode::report_indefinitely,
      [&reports](const runtime::transfer_progress&) { ++reports; });
}

/// A write by `writer` that `reader` has integrated once this returns.
void sync_one_write(api::realm& writer, api::realm& reader, const std::string& id) {
  write_object(writer, id);
  ASSERT_TRUE(bool(get(writer.session().upload_all_local_changes())));
  ASSERT_TRUE(bool(get(reader.session().download_all_server_changes())));
}

}  // namespace

TEST(NotificationToken, DroppingTheTokenRemovesTheNotification) {
  live_server server;
  client a(server), b(server);
  auto writer = a.app->open_realm("/tokens", user("alice"));
  auto reader = b.app->open_realm("/tokens", user("bob"));
  std::atomic<int> reports{0};
  std::uint64_t raw = 0;
  {
    auto token = count_downloads(*reader, reports);
    raw = token.value();
    sync_one_write(*writer, *reader, "seen");
    ASSERT_TRUE(eventually([&] { return reports.load() > 0; }));
  }  // the token goes: the notification with it
  const int before = reports.load();
  sync_one_write(*writer, *reader, "unseen");
  EXPECT_EQ(reports.load(), before);
  EXPECT_FALSE(reader->session().remove_progress_notification(raw));
}

TEST(NotificationToken, ReleaseKeepsTheNotificationUntilRemovedByItsRawToken) {
  live_server server;
  client a(server), b(server);
  auto writer = a.app->open_realm("/release", user("alice"));
  auto reader = b.app->open_realm("/release", user("bob"));
  std::atomic<int> reports{0};
  const auto raw = count_downloads(*reader, reports).release();
  ASSERT_NE(raw, 0u);
  sync_one_write(*writer, *reader, "kept");
  EXPECT_TRUE(eventually([&] { return reports.load() > 0; }));
  EXPECT_TRUE(reader->session().remove_progress_notification(raw));
}

TEST(NotificationToken, AMovedTokenRemovesOnceAndTheMovedFromHoldsNothing) {
  live_server server;
  client a(server);
  auto r = a.app->open_realm("/moved", user("alice"));
  auto first = r->session().add_connection_notification([](auto, auto) {});
  const auto raw = first.value();
  api::notification_token second = std::move(first);
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_EQ(second.value(), raw);
  second.reset();
  EXPECT_FALSE(second);
  EXPECT_FALSE(r->session().remove_connection_notification(raw));
}

TEST(NotificationToken, ATokenMayOutliveItsRealm) {
  live_server server;
  client a(server);
  api::notification_token token;
  {
    auto r = a.app->open_realm("/outlived", user("alice"));
    token = r->session().add_connection_notification([](auto, auto) {});
    r->close(true);
  }
  // The realm reopened with a fresh registration: the old token must not reach it.
  auto reopened = a.app->open_realm("/outlived", user("alice"));
  auto fresh = reopened->session().add_connection_notification([](auto, auto) {});
  token.reset();  // the old realm and its registrations are gone: nothing to remove
  EXPECT_FALSE(token);
  EXPECT_TRUE(reopened->session().remove_connection_notification(fresh.value()));
}

TEST(NotificationToken, ARawTokenOfAnotherSessionRemovesNothing) {
  live_server server;
  client a(server);
  auto one = a.app->open_realm("/one", user("alice"));
  auto two = a.app->open_realm("/two", user("alice"));
  auto token = one->session().add_progress_notification(
      progress_direction::upload, progress_mode::report_indefinitely, [](const auto&) {});
  EXPECT_FALSE(two->session().remove_progress_notification(token.value()));
  EXPECT_TRUE(one->session().remove_progress_notification(token.value()));
}
