#include "storage/history_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "corrupt_changesets.hpp"
#include "protocol/codec.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

std::shared_ptr<history_store> open_store(const testing::temp_dir& dir,
                                          history_options options = {}) {
  auto store = history_store::open(dir.path(), options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.value();
}

protocol::changeset upload(protocol::version_type client_version, std::string payload = "v") {
  protocol::changeset cs;
  cs.client_version = client_version;
  cs.origin_timestamp = 1000 + client_version;
  cs.instructions.emplace_back(protocol::set_field{"c", "x", "f", std::move(payload)});
  return cs;
}

file_ident_grant allocate(history_store& store, const std::string& realm) {
  auto grant = store.allocate_client_file_ident(realm);
  EXPECT_TRUE(grant.ok());
  return grant.value();
}

TEST(HistoryStore, ResentChangesetsAreIntegratedExactlyOnce) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  const auto client = allocate(*store, "/r");
  auto first = store->integrate("/r", client, {upload(1), upload(2)});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().integrated, 2u);
  EXPECT_EQ(first.value().server_version, 2u);
  auto again = store->integrate("/r", client, {upload(1), upload(2), upload(3)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().integrated, 1u);
  EXPECT_EQ(again.value().server_version, 3u);
  EXPECT_EQ(again.value().last_integrated_client_version, 3u);
  EXPECT_EQ(store->latest_server_version("/r"), 3u);
  EXPECT_EQ(store->last_integrated_client_version("/r", client.ident), 3u);
  auto range = store->read("/r", 0, 1 << 20);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range.value().changesets.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(range.value().changesets[i].server_version, i + 1);
    EXPECT_EQ(range.value().changesets[i].client_version, i + 1);
    EXPECT_EQ(range.value().changesets[i].origin_file_ident, client.ident);
    EXPECT_EQ(range.value().changesets[i].origin_timestamp, 1001 + i);
  }
}

TEST(HistoryStore, ExactlyOnceSurvivesReopen) {
  testing::temp_dir dir;
  file_ident_grant client;
  {
    auto store = open_store(dir);
    client = allocate(*store, "/r");
    ASSERT_TRUE(store->integrate("/r", client, {upload(1), upload(2)}).ok());
  }
  auto store = open_store(dir);
  auto again = store->integrate("/r", client, {upload(2), upload(3)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().integrated, 1u);
  EXPECT_EQ(store->latest_server_version("/r"), 3u);
}

TEST(HistoryStore, RangeReadsHonourMaxBytesSkipOriginAndRemainingBytes) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  const auto a = allocate(*store, "/r");
  const auto b = allocate(*store, "/r");
  // Server versions 1..6 alternate between a and b.
  for (protocol::version_type v = 1; v <= 3; ++v) {
    ASSERT_TRUE(store->integrate("/r", a, {upload(v, std::string(100, 'a'))}).ok());
    ASSERT_TRUE(store->integrate("/r", b, {upload(v, std::string(100, 'b'))}).ok());
  }
  auto all = store->read("/r", 0, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().changesets.size(), 6u);
  EXPECT_EQ(all.value().remaining_bytes, 0u);
  std::vector<std::uint64_t> sizes;
  std::uint64_t total = 0;
  for (const auto& cs : all.value().changesets) {
    sizes.push_back(protocol::encoded_size(cs));
    total += sizes.back();
  }

  auto first = store->read("/r", 0, 1);  // at least one, even when it exceeds max_bytes
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.value().changesets.size(), 1u);
  EXPECT_EQ(first.value().server_version, 1u);
  EXPECT_EQ(first.value().remaining_bytes, total - sizes[0]);

  auto two = store->read("/r", 1, sizes[1] + sizes[2]);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two.value().changesets.size(), 2u);
  EXPECT_EQ(two.value().server_version, 3u);
  EXPECT_EQ(two.value().remaining_bytes, total - sizes[0] - sizes[1] - sizes[2]);

  auto for_a = store->read("/r", 0, 1 << 20, a.ident);
  ASSERT_TRUE(for_a.ok());
  ASSERT_EQ(for_a.value().changesets.size(), 3u);
  for (const auto& cs : for_a.value().changesets) EXPECT_EQ(cs.origin_file_ident, b.ident);
  EXPECT_EQ(for_a.value().server_version, 6u);
  EXPECT_EQ(for_a.value().remaining_bytes, 0u);

  // Skipping a's changesets, a partial read counts only what a will still be sent: b's.
  auto partial_for_a = store->read("/r", 0, 1, a.ident);
  ASSERT_TRUE(partial_for_a.ok());
  ASSERT_EQ(partial_for_a.value().changesets.size(), 1u);
  EXPECT_EQ(partial_for_a.value().changesets[0].server_version, 2u);
  EXPECT_EQ(partial_for_a.value().server_version, 3u);  // a's own version 3 is passed over too
  EXPECT_EQ(partial_for_a.value().remaining_bytes, sizes[3] + sizes[5]);
  auto from_3_for_b = store->read("/r", 3, 1, b.ident);  // b is sent a's version 5 only
  ASSERT_TRUE(from_3_for_b.ok());
  ASSERT_EQ(from_3_for_b.value().changesets.size(), 1u);
  EXPECT_EQ(from_3_for_b.value().changesets[0].server_version, 5u);
  EXPECT_EQ(from_3_for_b.value().server_version, 6u);
  EXPECT_EQ(from_3_for_b.value().remaining_bytes, 0u);

  auto at_end = store->read("/r", 6, 1 << 20);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end.value().changesets.empty());
  EXPECT_EQ(at_end.value().server_version, 6u);
  auto beyond = store->read("/r", 7, 1 << 20);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, storage_errc::bad_progress);
  auto unknown = store->read("/never", 0, 1 << 20);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown.value().changesets.empty());
}

TEST(HistoryStore, SentPlusRemainingStaysConstantWhileNothingNewArrives) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  const auto a = allocate(*store, "/r");
  const auto b = allocate(*store, "/r");
  for (protocol::version_type v = 1; v <= 20; ++v) {
    const auto& who = v % 3 == 0 ? a : b;
    const auto version = v % 3 == 0 ? v / 3 : v - v / 3;
    ASSERT_TRUE(store->integrate("/r", who, {upload(version, std::string(v * 7, 'x'))}).ok());
  }
  // What a download progress bar sees: transferred + transferable must not drift.
  auto first = store->read("/r", 0, 50, a.ident);
  ASSERT_TRUE(first.ok());
  std::uint64_t sent = 0;
  for (const auto& cs : first.value().changesets) sent += protocol::encoded_size(cs);
  const auto expected_total = sent + first.value().remaining_bytes;
  auto cursor = first.value().server_version;
  while (cursor < store->latest_server_version("/r")) {
    auto next = store->read("/r", cursor, 50, a.ident);
    ASSERT_TRUE(next.ok());
    for (const auto& cs : next.value().changesets) {
      EXPECT_NE(cs.origin_file_ident, a.ident);
      sent += protocol::encoded_size(cs);
    }
    EXPECT_EQ(sent + next.value().remaining_bytes, expected_total);
    cursor = next.value().server_version;
  }
  EXPECT_EQ(sent, expected_total);
}

TEST(HistoryStore, IdentsAreUniqueAcrossReopenAndCheckedWithTheirSalt) {
  testing::temp_dir dir;
  std::set<protocol::file_ident> seen;
  std::vector<file_ident_grant> grants;
  for (int round = 0; round < 3; ++round) {
    auto store = open_store(dir);
    for (int i = 0; i < 5; ++i) {
      auto grant = allocate(*store, "/r");
      EXPECT_NE(grant.ident, 0u);
      EXPECT_TRUE(seen.insert(grant.ident).second) << "ident " << grant.ident << " reused";
      grants.push_back(grant);
    }
    for (const auto& g : grants) EXPECT_TRUE(store->is_valid_client_file_ident("/r", g));
    EXPECT_FALSE(store->is_valid_client_file_ident("/r", {grants[0].ident, grants[0].salt ^ 1}));
    EXPECT_FALSE(store->is_valid_client_file_ident("/other", grants[0]));
    EXPECT_FALSE(store->is_valid_client_file_ident("/r", {999, 1}));
  }
}

TEST(HistoryStore, ConcurrentIdentAllocationsShareOneGroupWriteAndSurviveReopen) {
  testing::temp_dir dir;
  constexpr int realms = 100, per_realm = 3, total = realms * per_realm;
  // A window no test outlives and a full group of exactly `total`: the writer writes when the
  // last allocation is queued, so all of them (and 100 new catalog entries) share one write.
  history_options options;
  options.group_commit_window = std::chrono::hours(1);
  options.full_group = total;
  std::map<std::string, std::vector<file_ident_grant>> granted;
  {
    auto store = open_store(dir, options);
    std::mutex mutex;
    std::condition_variable all_done;
    int outstanding = total;
    for (int round = 0; round < per_realm; ++round) {
      for (int r = 0; r < realms; ++r) {
        const auto path = "/new/" + std::to_string(r);
        store->allocate_client_file_ident_async(path, [&, path](result<file_ident_grant> g) {
          std::lock_guard lock(mutex);
          EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
          if (g.ok()) granted[path].push_back(g.value());
          if (--outstanding == 0) all_done.notify_one();
        });
      }
    }
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(
          all_done.wait_for(lock, std::chrono::seconds(120), [&] { return outstanding == 0; }));
    }
    const auto stats = store->stats();
    EXPECT_EQ(stats.idents_allocated, static_cast<std::uint64_t>(total));
    EXPECT_EQ(stats.group_writes, 1u) << "one write (one fsync) for all allocations";
  }
  ASSERT_EQ(granted.size(), static_cast<std::size_t>(realms));
  auto store = open_store(dir);  // default options: a plain reopen
  for (const auto& [path, grants] : granted) {
    std::set<protocol::file_ident> idents;
    for (const auto& g : grants) {
      EXPECT_TRUE(idents.insert(g.ident).second) << path << " ident " << g.ident << " twice";
      EXPECT_TRUE(store->is_valid_client_file_ident(path, g)) << path << " lost " << g.ident;
    }
    EXPECT_EQ(idents, (std::set<protocol::file_ident>{1, 2, 3})) << path;
    EXPECT_EQ(allocate(*store, path).ident, 4u) << path << ": an ident was reused";
  }
  // The catalog survived too: a realm created after the reopen gets its own id (its first
  // ident is 1, not a continuation of an existing realm's counter) and sees no other's grants.
  const auto fresh = allocate(*store, "/fresh");
  EXPECT_EQ(fresh.ident, 1u);
  EXPECT_FALSE(store->is_valid_client_file_ident("/fresh", granted.begin()->second.front()));
}

TEST(HistoryStore, ValidationFailuresKeepNothing) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  const auto client = allocate(*store, "/r");
  ASSERT_TRUE(store->integrate("/r", client, {upload(1)}).ok());

  auto bad = upload(3);
  std::get<protocol::set_field>(bad.instructions[0]).field.clear();
  auto refused = store->integrate("/r", client, {upload(2), bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::bad_changeset);

  auto unordered = store->integrate("/r", client, {upload(3), upload(2)});
  ASSERT_FALSE(unordered.ok());
  EXPECT_EQ(unordered.error().code, storage_errc::bad_client_version);

  auto future_cursor = upload(2);
  future_cursor.last_integrated_server_version = 50;
  EXPECT_EQ(store->integrate("/r", client, {future_cursor}).error().code,
            storage_errc::bad_progress);

  EXPECT_EQ(store->integrate("/r", {client.ident, client.salt + 1}, {upload(2)}).error().code,
            storage_errc::bad_client_file_ident);
  EXPECT_EQ(store->integrate("/other", client, {upload(2)}).error().code,
            storage_errc::bad_client_file_ident);

  EXPECT_EQ(store->latest_server_version("/r"), 1u);
  EXPECT_EQ(store->last_integrated_client_version("/r", client.ident), 1u);
  // The refused versions were not consumed: 2 is still the next one accepted.
  auto next = store->integrate("/r", client, {upload(2)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.value().integrated, 1u);
  EXPECT_EQ(next.value().server_version, 2u);
}

TEST(HistoryStore, EveryKindOfCorruptChangesetRefusesTheWholeUpload) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  const auto client = allocate(*store, "/r");
  for (auto [why, corrupt] : testing::corrupt_changesets(2)) {
    SCOPED_TRACE(why);
    auto refused = store->integrate("/r", client, {upload(1), corrupt});
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(refused.error().code == storage_errc::bad_changeset ||
                refused.error().code == storage_errc::bad_client_version);
    EXPECT_EQ(store->latest_server_version("/r"), 0u);
    EXPECT_EQ(store->last_integrated_client_version("/r", client.ident), 0u);
  }
  auto range = store->read("/r", 0, 1 << 20);
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range.value().changesets.empty());
}

TEST(HistoryStore, ConcurrentIntegrationsKeepPerRealmOrder) {
  testing::temp_dir dir;
  auto store = open_store(dir);
  constexpr int threads = 6, realms_per_thread = 20, uploads_per_realm = 15;
  struct realm_log {
    std::vector<protocol::version_type> versions;  // server versions as callbacks saw them
  };
  std::mutex mutex;
  std::condition_variable all_done;
  int outstanding = threads * realms_per_thread * uploads_per_realm;
  std::map<std::string, realm_log> logs;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::pair<std::string, file_ident_grant>> mine;
      for (int r = 0; r < realms_per_thread; ++r) {
        auto path = "/t" + std::to_string(t) + "/r" + std::to_string(r);
        mine.emplace_back(path, allocate(*store, path));
      }
      // Interleave realms: many async calls in flight per realm, none awaited.
      for (int u = 1; u <= uploads_per_realm; ++u) {
        for (auto& [path, grant] : mine) {
          store->integrate_async(path, grant, {upload(u)}, [&, p = path](auto r) {
            std::lock_guard lock(mutex);
            EXPECT_TRUE(r.ok());
            if (r.ok()) logs[p].versions.push_back(r.value().server_version);
            if (--outstanding == 0) all_done.notify_one();
          });
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        all_done.wait_for(lock, std::chrono::seconds(120), [&] { return outstanding == 0; }));
  }
  ASSERT_EQ(logs.size(), static_cast<std::size_t>(threads * realms_per_thread));
  for (const auto& [path, log] : logs) {
    ASSERT_EQ(log.versions.size(), static_cast<std::size_t>(uploads_per_realm));
    for (int i = 0; i < uploads_per_realm; ++i) EXPECT_EQ(log.versions[i], i + 1u) << path;
    auto range = store->read(path, 0, 1 << 20);
    ASSERT_TRUE(range.ok());
    ASSERT_EQ(range.value().changesets.size(), static_cast<std::size_t>(uploads_per_realm));
    for (int i = 0; i < uploads_per_realm; ++i) {
      EXPECT_EQ(range.value().changesets[i].server_version, i + 1u);
      EXPECT_EQ(range.value().changesets[i].client_version, i + 1u);
    }
  }
}

TEST(HistoryStore, DestructorDrainsPendingIntegrations) {
  testing::temp_dir dir;
  file_ident_grant client;
  std::atomic<int> called{0};
  {
    auto store = open_store(dir);
    client = allocate(*store, "/r");
    for (int v = 1; v <= 50; ++v) {
      store->integrate_async("/r", client, {upload(v)}, [&](auto r) {
        EXPECT_TRUE(r.ok());
        ++called;
      });
    }
  }
  EXPECT_EQ(called.load(), 50);
  auto store = open_store(dir);
  EXPECT_EQ(store->latest_server_version("/r"), 50u);
}

}  // namespace
}  // namespace actorsync::storage
