// The client's write and acknowledgement path against a real in-process server: commits from
// many threads (one notice to the session at a time) all upload, in order per realm, and an
// acknowledgement the store keeps in memory is written by the session without further commits.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "live_server.hpp"

using namespace actorsync;
using namespace actorsync::testing;

namespace {

TEST(UploadPath, CommitsFromManyThreadsAllUploadInOrderPerRealm) {
  live_server server;
  client a(server), b(server);
  constexpr int realm_count = 3, threads = 4, per_thread = 150;
  std::vector<std::shared_ptr<api::realm>> realms;
  for (int r = 0; r < realm_count; ++r)
    realms.push_back(a.app->open_realm("/many-" + std::to_string(r), user("alice")));
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        for (auto& realm : realms)
          write_object(*realm, "t" + std::to_string(t) + "-" + std::to_string(i), i);
      }
    });
  }
  for (auto& w : writers) w.join();
  constexpr std::uint64_t per_realm = threads * per_thread;
  for (auto& realm : realms) {
    SCOPED_TRACE(realm->path());
    EXPECT_TRUE(bool(get(realm->session().upload_all_local_changes())));
    const auto meta = realm->read().metadata();
    EXPECT_EQ(meta.latest_client_version, per_realm);
    EXPECT_EQ(meta.acknowledged_client_version, per_realm);
    EXPECT_EQ(meta.uploaded_bytes, meta.uploadable_bytes);
    auto replica = b.app->open_realm(realm->path(), user("bob"));
    EXPECT_TRUE(bool(get(replica->session().download_all_server_changes())));
    EXPECT_EQ(replica->read().content_digest(), realm->read().content_digest());
    // Every version from the server arrived once, in order: the replica holds every object.
    for (int t = 0; t < threads; ++t)
      for (int i = 0; i < per_thread; i += 37)
        EXPECT_TRUE(replica->read().object_exists(
            "items", "t" + std::to_string(t) + "-" + std::to_string(i)));
  }
}

TEST(UploadPath, TheSessionStoresAcknowledgementsWithoutFurtherCommits) {
  live_server server;
  client a(server);
  auto realm = a.app->open_realm("/acks", user("alice"));
  for (int i = 0; i < 20; ++i) write_object(*realm, "x" + std::to_string(i));
  EXPECT_TRUE(bool(get(realm->session().upload_all_local_changes())));
  EXPECT_EQ(realm->read().metadata().acknowledged_client_version, 20u);
  // No commit follows: the session's persist delay writes the acknowledgement by itself.
  EXPECT_TRUE(eventually([&] {
    const auto meta = realm->read().metadata();
    return meta.persisted_acknowledged_client_version == meta.acknowledged_client_version;
  }));
}

}  // namespace
