// The history_store contract on PostgreSQL, mirroring tests/storage/history_store_test.cpp.
#include "cluster/pg_history_store.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "protocol/codec.hpp"
#include "tests/cluster/pg_store_fixture.hpp"

namespace actorsync::testing {
namespace {

using namespace actorsync::cluster;

using storage::storage_errc;

TEST_F(PgStoreTest, ResentChangesetsAreIntegratedExactlyOnce) {
  auto store = open_store();
  ASSERT_TRUE(store->acquire("/r").ok());
  const auto client = allocate(*store, "/r");
  auto first = store->integrate("/r", client, {upload(1), upload(2)});
  ASSERT_TRUE(first.ok()) << first.error().message;
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
  ASSERT_TRUE(range.ok()) << range.error().message;
  ASSERT_EQ(range.value().changesets.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(range.value().changesets[i].server_version, i + 1);
    EXPECT_EQ(range.value().changesets[i].client_version, i + 1);
    EXPECT_EQ(range.value().changesets[i].origin_file_ident, client.ident);
    EXPECT_EQ(range.value().changesets[i].origin_timestamp, 1001 + i);
  }
}

TEST_F(PgStoreTest, ExactlyOnceSurvivesReopenByTheSameNode) {
  storage::file_ident_grant client;
  std::uint64_t first_epoch = 0;
  {
    auto store = open_store();
    ASSERT_TRUE(store->acquire("/r").ok());
    first_epoch = store->epoch("/r");
    client = allocate(*store, "/r");
    ASSERT_TRUE(store->integrate("/r", client, {upload(1), upload(2)}).ok());
  }
  auto store = open_store();  // a restart: the same node id takes its realm back at once
  ASSERT_TRUE(store->acquire("/r").ok());
  EXPECT_GT(store->epoch("/r"), first_epoch);
  auto again = store->integrate("/r", client, {upload(2), upload(3)});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value().integrated, 1u);
  EXPECT_EQ(store->latest_server_version("/r"), 3u);
}

TEST_F(PgStoreTest, RangeReadsHonourMaxBytesSkipOriginAndRemainingBytes) {
  auto store = open_store();
  ASSERT_TRUE(store->acquire("/r").ok());
  const auto a = allocate(*store, "/r");
  const auto b = allocate(*store, "/r");
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
  auto first = store->read("/r", 0, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.value().changesets.size(), 1u);
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
  auto partial_for_a = store->read("/r", 0, 1, a.ident);
  ASSERT_TRUE(partial_for_a.ok());
  ASSERT_EQ(partial_for_a.value().changesets.size(), 1u);
  EXPECT_EQ(partial_for_a.value().changesets[0].server_version, 2u);
  EXPECT_EQ(partial_for_a.value().server_version, 3u);
  EXPECT_EQ(partial_for_a.value().remaining_bytes, sizes[3] + sizes[5]);
  auto at_end = store->read("/r", 6, 1 << 20);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end.value().changesets.empty());
  auto beyond = store->read("/r", 7, 1 << 20);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, storage_errc::bad_progress);
  auto unknown = store->read("/never", 0, 1 << 20);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown.value().changesets.empty());
  // Reads need no ownership: another node serves the same history.
  auto other = open_store("n2");
  auto seen_elsewhere = other->read("/r", 0, 1 << 20);
  ASSERT_TRUE(seen_elsewhere.ok());
  EXPECT_EQ(seen_elsewhere.value().changesets.size(), 6u);
  EXPECT_EQ(other->latest_server_version("/r"), 6u);
}

// The owner answers reads of its newest history from memory: every range must be the one the
// database gives another node (changesets, cursor, remaining bytes), whether the read starts
// inside what the owner keeps in memory or before it.
TEST_F(PgStoreTest, TheOwnersReadsFromMemoryEqualTheDatabasesEverywhere) {
  auto options = options_for("n1");
  options.recent_history_rows = 100;
  auto owner = open_store(options);
  auto other = open_store("n2");
  ASSERT_TRUE(owner->acquire("/m").ok());
  const auto a = allocate(*owner, "/m");
  const auto b = allocate(*owner, "/m");
  const std::size_t writes = 140;  // the oldest 40 fall out of memory
  for (protocol::version_type v = 1; v <= writes; ++v) {
    const auto& who = v % 3 == 0 ? b : a;
    ASSERT_TRUE(owner->integrate("/m", who, {upload(v, std::string(10 + v % 7, 'x'))}).ok());
  }
  const auto latest = owner->latest_server_version("/m");
  ASSERT_EQ(latest, writes);
  for (protocol::version_type after : {std::size_t{0}, std::size_t{30}, writes - 120, writes - 60,
                                       writes - 2, writes - 1, writes}) {
    for (std::size_t max_bytes : {std::size_t{1}, std::size_t{100}, std::size_t{1} << 20}) {
      for (protocol::file_ident skip : {protocol::file_ident{0}, a.ident, b.ident}) {
        const auto from_memory = owner->stats().reads_from_memory;
        auto mine = owner->read("/m", after, max_bytes, skip);
        auto theirs = other->read("/m", after, max_bytes, skip);
        // Reads from the newest 100 rows come from memory, older ones from the database.
        EXPECT_EQ(owner->stats().reads_from_memory - from_memory,
                  after + 1 >= writes - 99 ? 1u : 0u)
            << after;
        ASSERT_TRUE(mine.ok() && theirs.ok());
        EXPECT_EQ(mine.value().server_version, theirs.value().server_version)
            << after << " " << max_bytes << " " << skip;
        EXPECT_EQ(mine.value().remaining_bytes, theirs.value().remaining_bytes)
            << after << " " << max_bytes << " " << skip;
        EXPECT_EQ(mine.value().changesets, theirs.value().changesets)
            << after << " " << max_bytes << " " << skip;
      }
    }
  }
}

TEST_F(PgStoreTest, IdentsAreUniqueAcrossReopenAndCheckedWithTheirSalt) {
  std::set<protocol::file_ident> seen;
  std::vector<storage::file_ident_grant> grants;
  for (int round = 0; round < 3; ++round) {
    auto store = open_store();
    ASSERT_TRUE(store->acquire("/r").ok());
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

TEST_F(PgStoreTest, ValidationFailuresKeepNothing) {
  auto store = open_store();
  ASSERT_TRUE(store->acquire("/r").ok());
  ASSERT_TRUE(store->acquire("/other").ok());
  const auto client = allocate(*store, "/r");
  ASSERT_TRUE(store->integrate("/r", client, {upload(1)}).ok());
  auto bad = upload(3);
  std::get<protocol::set_field>(bad.instructions[0]).field.clear();
  EXPECT_EQ(store->integrate("/r", client, {upload(2), bad}).error().code,
            storage_errc::bad_changeset);
  EXPECT_EQ(store->integrate("/r", client, {upload(3), upload(2)}).error().code,
            storage_errc::bad_client_version);
  auto future_cursor = upload(2);
  future_cursor.last_integrated_server_version = 50;
  EXPECT_EQ(store->integrate("/r", client, {future_cursor}).error().code,
            storage_errc::bad_progress);
  EXPECT_EQ(store->integrate("/r", {client.ident, client.salt + 1}, {upload(2)}).error().code,
            storage_errc::bad_client_file_ident);
  EXPECT_EQ(store->integrate("/other", client, {upload(2)}).error().code,
            storage_errc::bad_client_file_ident);
  EXPECT_EQ(store->latest_server_version("/r"), 1u);
  auto next = store->integrate("/r", client, {upload(2)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.value().server_version, 2u);
}

TEST_F(PgStoreTest, WritesNeedTheRealmAcquired) {
  auto store = open_store();
  auto grant = store->allocate_client_file_ident("/never-acquired");
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().code, storage_errc::realm_lost);
  EXPECT_NE(grant.error().message.find("acquire"), std::string::npos) << grant.error().message;
  EXPECT_EQ(store->acquire("no-leading-slash").error().code, storage_errc::invalid_argument);
}

TEST_F(PgStoreTest, ManyRealmsCommitInOneTransaction) {
  constexpr int realms = 50;
  auto o = options_for("n1");
  // A window no test outlives and a full group of exactly `realms`: the writer commits when the
  // last write is queued, so all of them share one transaction.
  o.group_commit_window = std::chrono::hours(1);
  o.full_group = realms;
  auto store = open_store(o);
  for (int r = 0; r < realms; ++r) ASSERT_TRUE(store->acquire("/many/" + std::to_string(r)).ok());
  std::mutex mutex;
  std::condition_variable all_done;
  int outstanding = realms;
  std::map<std::string, storage::file_ident_grant> grants;
  for (int r = 0; r < realms; ++r) {
    const auto path = "/many/" + std::to_string(r);
    store->allocate_client_file_ident_async(path, [&, path](auto g) {
      std::lock_guard lock(mutex);
      EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
      if (g.ok()) grants[path] = g.value();
      if (--outstanding == 0) all_done.notify_one();
    });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        all_done.wait_for(lock, std::chrono::seconds(60), [&] { return outstanding == 0; }));
  }
  EXPECT_EQ(store->stats().group_writes, 1u);
  EXPECT_EQ(store->stats().realm_heads_written, static_cast<std::uint64_t>(realms));
  outstanding = realms;
  for (const auto& [path, grant] : grants) {
    store->integrate_async(path, grant, {upload(1, path)}, [&](auto r) {
      std::lock_guard lock(mutex);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
      if (--outstanding == 0) all_done.notify_one();
    });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        all_done.wait_for(lock, std::chrono::seconds(60), [&] { return outstanding == 0; }));
  }
  const auto stats = store->stats();
  EXPECT_EQ(stats.group_writes, 2u) << "one transaction for the 50 realms' integrations";
  EXPECT_EQ(stats.realm_heads_written, 2u * realms);
  EXPECT_EQ(stats.integrations, static_cast<std::uint64_t>(realms));
  for (const auto& [path, grant] : grants) {
    auto range = store->read(path, 0, 1 << 20);
    ASSERT_TRUE(range.ok());
    ASSERT_EQ(range.value().changesets.size(), 1u) << path;
    EXPECT_EQ(std::get<protocol::set_field>(range.value().changesets[0].instructions[0]).new_value,
              protocol::value(path));
  }
}

}  // namespace
}  // namespace actorsync::testing
