#include <actorsync/storage/realm_store.hpp>

#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <atomic>
#include <random>
#include <thread>

#include "corrupt_changesets.hpp"
#include "protocol/codec.hpp"
#include "storage/client_layout.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

using protocol::value;

std::shared_ptr<database> open_db(const testing::temp_dir& dir,
                                  durability d = durability::process_crash) {
  auto db = database::open(dir.path(), database_options{d});
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
  return db.value();
}

std::shared_ptr<realm_store> open_realm(database& db, const std::string& path) {
  auto realm = db.open_realm(path);
  EXPECT_TRUE(realm.ok()) << (realm.ok() ? "" : realm.error().message);
  return realm.value();
}

protocol::changeset remote(protocol::file_ident origin, protocol::version_type version,
                           protocol::timestamp_type timestamp,
                           std::vector<protocol::instruction> instructions) {
  protocol::changeset cs;
  cs.origin_file_ident = origin;
  cs.client_version = version;
  cs.origin_timestamp = timestamp;
  cs.instructions = std::move(instructions);
  return cs;
}

protocol::download_message download_of(std::vector<protocol::changeset> changesets,
                                       protocol::version_type server_version) {
  protocol::download_message d;
  d.server_version = server_version;
  d.changesets = std::move(changesets);
  for (auto& cs : d.changesets)  // as the server stamps them
    if (cs.server_version == 0) cs.server_version = server_version;
  return d;
}

TEST(RealmStore, CommitMakesObjectsAndFieldsReadable) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/orders");
  auto version = realm->begin_write()
                     .create_object("order", "1")
                     .set_field("order", "1", "item", std::string("tea"))
                     .set_field("order", "1", "qty", std::int64_t{2})
                     .commit();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version.value(), 1u);
  EXPECT_TRUE(realm->object_exists("order", "1"));
  EXPECT_EQ(realm->get_field("order", "1", "item"), value(std::string("tea")));
  EXPECT_EQ(realm->get_field("order", "1", "qty"), value(std::int64_t{2}));
  EXPECT_EQ(realm->get_field("order", "1", "missing"), std::nullopt);
  EXPECT_FALSE(realm->object_exists("order", "2"));
}

TEST(RealmStore, AbandonedTransactionLeavesNothing) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  const auto before = realm->content_digest();
  {
    auto tx = realm->begin_write();
    tx.create_object("c", "x").set_field("c", "x", "f", std::int64_t{1});
  }
  EXPECT_FALSE(realm->object_exists("c", "x"));
  EXPECT_EQ(realm->metadata().latest_client_version, 0u);
  EXPECT_EQ(realm->content_digest(), before);
}

TEST(RealmStore, InvalidInstructionIsRefusedAndNothingIsStored) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  const auto before = realm->content_digest();
  auto refused = realm->begin_write()
                     .set_field("c", "x", "f", std::int64_t{1})
                     .set_field("", "x", "f", std::int64_t{2})
                     .commit();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::bad_changeset);
  EXPECT_EQ(realm->content_digest(), before);
  EXPECT_EQ(realm->metadata().latest_client_version, 1u);
  EXPECT_EQ(realm->get_field("c", "x", "f"), std::nullopt);
}

TEST(RealmStore, ForEachObjectVisitsVisibleObjectsOfOneCollectionInKeyOrder) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->begin_write()
                  .create_object("a", "2")
                  .set_field("a", "2", "y", std::int64_t{2})
                  .set_field("a", "2", "x", std::int64_t{1})
                  .create_object("a", "1")
                  .create_object("a", "3")
                  .erase_object("a", "3")
                  .create_object("ab", "9")
                  .set_field("a", "4", "orphan", true)
                  .commit()
                  .ok());
  std::vector<std::string> seen;
  std::vector<std::pair<std::string, value>> fields_of_2;
  realm->for_each_object("a", [&](const std::string& id, const auto& fields) {
    seen.push_back(id);
    if (id == "2") fields_of_2 = fields;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(fields_of_2.size(), 2u);
  EXPECT_EQ(fields_of_2[0].first, "x");
  EXPECT_EQ(fields_of_2[1].first, "y");
}

TEST(RealmStore, NamesWithZeroBytesAndPrefixesStayApart) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  const std::string with_nul("a\0b", 3);
  ASSERT_TRUE(realm->begin_write()
                  .create_object("c", "a")
                  .create_object("c", with_nul)
                  .set_field("c", "a", "f", std::int64_t{1})
                  .set_field("c", with_nul, "f", std::int64_t{2})
                  .commit()
                  .ok());
  EXPECT_EQ(realm->get_field("c", "a", "f"), value(std::int64_t{1}));
  EXPECT_EQ(realm->get_field("c", with_nul, "f"), value(std::int64_t{2}));
  int count = 0;
  realm->for_each_object("c", [&](const std::string&, const auto& fields) {
    EXPECT_EQ(fields.size(), 1u);
    ++count;
  });
  EXPECT_EQ(count, 2);
}

TEST(RealmStore, ContentHistoryAndMetadataSurviveReopen) {
  testing::temp_dir dir;
  std::string digest;
  {
    auto db = open_db(dir, durability::full);
    auto realm = open_realm(*db, "/r");
    ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
    ASSERT_TRUE(realm->begin_write().add_integer("c", "x", "n", 3).commit().ok());
    digest = realm->content_digest();
  }
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  EXPECT_EQ(realm->content_digest(), digest);
  EXPECT_EQ(realm->get_field("c", "x", "n"), value(std::int64_t{3}));
  const auto meta = realm->metadata();
  EXPECT_EQ(meta.latest_client_version, 2u);
  auto history = realm->local_changesets_after(0, 1 << 20);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history.value().size(), 2u);
  std::uint64_t bytes = 0;
  for (const auto& cs : history.value()) bytes += protocol::encoded_size(cs);
  EXPECT_EQ(meta.uploadable_bytes, bytes);
}

TEST(RealmStore, RealmsAreIsolatedAndTheSamePathGivesTheSameStore) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto a = open_realm(*db, "/a");
  auto b = open_realm(*db, "/b");
  EXPECT_EQ(open_realm(*db, "/a").get(), a.get());
  ASSERT_TRUE(a->begin_write().create_object("c", "x").commit().ok());
  EXPECT_TRUE(a->object_exists("c", "x"));
  EXPECT_FALSE(b->object_exists("c", "x"));
  EXPECT_EQ(b->metadata().latest_client_version, 0u);
  EXPECT_FALSE(db->open_realm("no-slash").ok());
}

TEST(RealmStore, LocalChangesetsAfterRespectsMaxBytesButReturnsAtLeastOne) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        realm->begin_write().set_field("c", "x", "f", std::string(100, 'a' + i)).commit().ok());
  }
  auto one = realm->local_changesets_after(0, 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one.value().size(), 1u);
  EXPECT_EQ(one.value()[0].client_version, 1u);
  auto some = realm->local_changesets_after(3, 350);
  ASSERT_TRUE(some.ok());
  ASSERT_GE(some.value().size(), 2u);
  EXPECT_LE(some.value().size(), 3u);
  EXPECT_EQ(some.value()[0].client_version, 4u);
  auto none = realm->local_changesets_after(10, 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
}

TEST(RealmStore, CommitListenerRunsAfterTheCommitOnTheCommittingThread) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  std::vector<commit_event> events;
  std::thread::id listener_thread;
  realm->set_commit_listener([&](const commit_event& e) {
    // The commit is visible when the listener runs.
    EXPECT_EQ(realm->metadata().latest_client_version, e.client_version);
    listener_thread = std::this_thread::get_id();
    events.push_back(e);
  });
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].client_version, 1u);
  EXPECT_GT(events[0].changeset_bytes, 0u);
  EXPECT_EQ(listener_thread, std::this_thread::get_id());
}

TEST(RealmStore, DownloadIntegratesAdvancesCursorsAndIsExactlyOnce) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->set_client_file_ident(1, 77).ok());
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  auto d = download_of({remote(2, 1, 1000, {protocol::add_integer{"c", "x", "n", 5}})}, 7);
  d.last_integrated_client_version = 1;
  d.downloadable_bytes = 42;
  ASSERT_TRUE(realm->integrate_download(d).ok());
  ASSERT_TRUE(realm->integrate_download(d).ok());  // re-delivered: applied once
  EXPECT_EQ(realm->get_field("c", "x", "n"), value(std::int64_t{5}));
  const auto meta = realm->metadata();
  EXPECT_EQ(meta.download_server_version, 7u);
  EXPECT_EQ(meta.acknowledged_client_version, 1u);
  EXPECT_EQ(meta.uploaded_bytes, meta.uploadable_bytes);
  EXPECT_EQ(meta.downloadable_bytes, 42u);
  // The re-delivery is at or below the download cursor: its bytes were counted once (issue 13).
  EXPECT_EQ(meta.downloaded_bytes, protocol::encoded_size(d.changesets[0]));
}

TEST(RealmStore, APauseIsRecordedAndSurvivesReopen) {
  testing::temp_dir dir;
  {
    auto db = open_db(dir);
    auto realm = open_realm(*db, "/r");
    EXPECT_FALSE(realm->metadata().sync_paused);
    ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
    ASSERT_TRUE(realm->set_sync_paused(true).ok());
    EXPECT_TRUE(realm->metadata().sync_paused);
  }
  {
    auto db = open_db(dir);
    auto realm = open_realm(*db, "/r");
    EXPECT_TRUE(realm->metadata().sync_paused);
    EXPECT_EQ(realm->metadata().latest_client_version, 1u);  // nothing else changed
    ASSERT_TRUE(realm->set_sync_paused(false).ok());
  }
  auto db = open_db(dir);
  EXPECT_FALSE(open_realm(*db, "/r")->metadata().sync_paused);
}

TEST(RealmStore, AnOriginVersionIsIntegratedOnceEvenIfRedeliveredDifferently) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm
                  ->integrate_download(
                      download_of({remote(2, 1, 1000, {protocol::create_object{"c", "x"}}),
                                   remote(2, 2, 1000, {protocol::set_field{"c", "x", "f", true}})},
                                  1))
                  .ok());
  // Origin 2's version 2 again, with other content: the per-origin cursor skips it.
  ASSERT_TRUE(realm
                  ->integrate_download(download_of(
                      {remote(2, 2, 5000, {protocol::set_field{"c", "x", "f", false}})}, 2))
                  .ok());
  EXPECT_EQ(realm->get_field("c", "x", "f"), value(true));
  // Our own changesets coming back are skipped too: they were applied when committed.
  ASSERT_TRUE(realm->set_client_file_ident(9, 1).ok());
  ASSERT_TRUE(realm->begin_write().add_integer("c", "x", "n", 1).commit().ok());
  ASSERT_TRUE(realm
                  ->integrate_download(download_of(
                      {remote(9, 1, 9000, {protocol::add_integer{"c", "x", "n", 100}})}, 3))
                  .ok());
  EXPECT_EQ(realm->get_field("c", "x", "n"), value(std::int64_t{1}));
}

TEST(RealmStore, BadDownloadIsRefusedWholeAndChangesNothing) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->set_client_file_ident(1, 77).ok());
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  const auto digest = realm->content_digest();
  const auto meta = realm->metadata();
  auto d = download_of({remote(2, 1, 1000, {protocol::set_field{"c", "x", "f", true}}),
                        remote(2, 2, 1001, {protocol::set_field{"c", "", "f", true}})},
                       5);
  auto refused = realm->integrate_download(d);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::bad_changeset);
  EXPECT_EQ(realm->content_digest(), digest);
  EXPECT_EQ(realm->metadata(), meta);

  auto backwards = download_of({}, 5);
  ASSERT_TRUE(realm->integrate_download(backwards).ok());
  backwards.server_version = 4;
  EXPECT_EQ(realm->integrate_download(backwards).error().code, storage_errc::bad_progress);
  auto over_ack = download_of({}, 5);
  over_ack.last_integrated_client_version = 9;
  EXPECT_EQ(realm->integrate_download(over_ack).error().code, storage_errc::bad_progress);
}

TEST(RealmStore, EveryKindOfCorruptChangesetIsRefusedWithContentUnchanged) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  const auto digest = realm->content_digest();
  const auto meta = realm->metadata();
  for (auto [why, corrupt] : testing::corrupt_changesets(2)) {
    SCOPED_TRACE(why);
    corrupt.origin_file_ident = 2;
    auto good = remote(2, 1, 1000, {protocol::set_field{"c", "x", "f", true}});
    auto refused = realm->integrate_download(download_of({good, corrupt}, 1));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, storage_errc::bad_changeset);
    EXPECT_FALSE(refused.error().message.empty());
    EXPECT_EQ(realm->content_digest(), digest);
    EXPECT_EQ(realm->metadata(), meta);
  }
  auto no_origin = remote(0, 1, 1000, {protocol::create_object{"c", "z"}});
  EXPECT_EQ(realm->integrate_download(download_of({no_origin}, 1)).error().code,
            storage_errc::bad_changeset);
  EXPECT_EQ(realm->content_digest(), digest);
}

TEST(RealmStore, MutatedChangesetBytesAreRefusedOrIntegratedButNeverCrash) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  protocol::byte_buffer original;
  protocol::encode_changeset(remote(2, 1, 1000,
                                    {protocol::create_object{"c", "x"},
                                     protocol::set_field{"c", "x", "f", std::int64_t{7}},
                                     protocol::add_integer{"c", "x", "n", 3}}),
                             original);
  int refused = 0;
  for (int i = 0; i < 500; ++i) {
    auto bytes = original;
    const int flips = std::uniform_int_distribution<int>(1, 3)(random);
    for (int f = 0; f < flips; ++f) {
      bytes[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(random)] =
          static_cast<std::uint8_t>(random());
    }
    auto decoded = protocol::decode_changeset(bytes);
    if (!decoded) continue;  // the codec refuses it before storage sees it
    const auto digest = realm->content_digest();
    const auto meta = realm->metadata();
    auto download = download_of({decoded.message()}, meta.download_server_version + 1);
    auto integrated = realm->integrate_download(download);
    if (!integrated.ok()) {
      ++refused;
      EXPECT_EQ(integrated.error().code, storage_errc::bad_changeset);
      EXPECT_EQ(realm->content_digest(), digest);
      EXPECT_EQ(realm->metadata(), meta);
    }
  }
  RecordProperty("refused", refused);
}

TEST(RealmStore, CorruptStoredRecordsAreReportedNotApplied) {
  testing::temp_dir dir;
  {
    auto db = open_db(dir);
    auto realm = open_realm(*db, "/r");
    ASSERT_TRUE(realm->begin_write()
                    .create_object("c", "x")
                    .set_field("c", "x", "f", std::int64_t{1})
                    .commit()
                    .ok());
    ASSERT_TRUE(open_realm(*db, "/other")->begin_write().create_object("c", "x").commit().ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.path().string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> owner(raw);
    const auto first = client_layout::realm_prefix(1);
    const auto second = client_layout::realm_prefix(2);
    ASSERT_TRUE(raw->Put({}, client_layout::field_key(first, "c", "x", "f"), "\x07junk").ok());
    ASSERT_TRUE(raw->Put({}, client_layout::meta_key(second), "\x09junk").ok());
  }
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  const auto meta = realm->metadata();
  auto refused = realm->begin_write().add_integer("c", "x", "f", 1).commit();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::corruption);
  EXPECT_EQ(realm->metadata(), meta);
  EXPECT_EQ(realm->get_field("c", "x", "f"), std::nullopt);  // unreadable reads as absent
  auto other = db->open_realm("/other");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, storage_errc::corruption);
}

TEST(RealmStore, FileIdentRestampsEarlierLocalWrites) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->begin_write()
                  .create_object("c", "x")
                  .set_field("c", "x", "f", std::string("local"))
                  .commit()
                  .ok());
  ASSERT_TRUE(realm->set_client_file_ident(5, 9).ok());
  EXPECT_EQ(realm->metadata().client_file_ident, 5u);
  EXPECT_TRUE(realm->set_client_file_ident(5, 9).ok());  // idempotent
  EXPECT_EQ(realm->set_client_file_ident(6, 9).error().code, storage_errc::invalid_argument);
  // A remote write with the same timestamp from a lower origin loses to our re-stamped write
  // (origin 5 > 3); had the restamp not happened, origin 0 would have lost.
  auto history = realm->local_changesets_after(0, 1 << 20);
  ASSERT_TRUE(history.ok());
  const auto timestamp = history.value()[0].origin_timestamp;
  ASSERT_TRUE(realm
                  ->integrate_download(download_of(
                      {remote(3, 1, timestamp, {protocol::set_field{"c", "x", "f", false}})}, 1))
                  .ok());
  EXPECT_EQ(realm->get_field("c", "x", "f"), value(std::string("local")));
}

TEST(RealmStore, LocalWriteAfterIntegratingAFutureRemoteWriteStillWins) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->set_client_file_ident(1, 1).ok());
  // A remote clock far ahead of ours, and a remote origin greater than ours.
  const protocol::timestamp_type far = std::uint64_t{1} << 62;
  ASSERT_TRUE(realm
                  ->integrate_download(download_of(
                      {remote(9, 1, far,
                              {protocol::create_object{"c", "x"},
                               protocol::set_field{"c", "x", "f", std::string("remote")}})},
                      1))
                  .ok());
  ASSERT_TRUE(realm->begin_write().set_field("c", "x", "f", std::string("local")).commit().ok());
  // The hybrid clock stamps the local write after the remote one it has seen.
  EXPECT_EQ(realm->get_field("c", "x", "f"), value(std::string("local")));
  auto history = realm->local_changesets_after(0, 1 << 20);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history.value().back().origin_timestamp, far + 1);
}

TEST(RealmStore, ConcurrentCommitsFromManyThreadsAllLand) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  constexpr int threads = 4, per_thread = 50;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        EXPECT_TRUE(realm->begin_write().add_integer("c", "x", "n", 1).commit().ok());
      }
    });
  }
  for (auto& w : workers) w.join();
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  EXPECT_EQ(realm->get_field("c", "x", "n"), value(std::int64_t{threads * per_thread}));
  EXPECT_EQ(realm->metadata().latest_client_version, threads * per_thread + 1u);
}

/// The acknowledged version as stored on disk for the first realm of the database in `dir`,
/// read through a read-only RocksDB handle (it replays the WAL) while the store is open.
version_type stored_acknowledgement(const testing::temp_dir& dir) {
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir.path().string(), &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return 0;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string bytes;
  s = db->Get(rocksdb::ReadOptions(), client_layout::meta_key(client_layout::realm_prefix(1)),
              &bytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto meta = client_layout::decode_meta(bytes);
  EXPECT_TRUE(meta.has_value());
  return meta ? meta->sync.acknowledged_client_version : 0;
}

protocol::download_message acknowledgement(version_type client_version,
                                           version_type server_version) {
  auto d = download_of({}, server_version);
  d.last_integrated_client_version = client_version;
  return d;
}

/// Cumulative encoded bytes of local changesets 1..version.
std::uint64_t bytes_up_to(realm_store& realm, version_type version) {
  auto history = realm.local_changesets_after(0, std::size_t{1} << 30);
  EXPECT_TRUE(history.ok());
  std::uint64_t bytes = 0;
  for (const auto& cs : history.value())
    if (cs.client_version <= version) bytes += protocol::encoded_size(cs);
  return bytes;
}

TEST(RealmStore, AcknowledgementOnlyDownloadsAreWrittenWithTheNextWriteOrPersist) {
  testing::temp_dir dir;
  {
    auto db = open_db(dir);
    auto realm = open_realm(*db, "/r");
    ASSERT_TRUE(realm->set_client_file_ident(1, 77).ok());
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(realm->begin_write().add_integer("c", "x", "n", 1).commit().ok());

    // In memory at once (what the session reports), on disk not yet.
    ASSERT_TRUE(realm->integrate_download(acknowledgement(2, 3)).ok());
    auto meta = realm->metadata();
    EXPECT_EQ(meta.acknowledged_client_version, 2u);
    EXPECT_EQ(meta.download_server_version, 3u);
    EXPECT_EQ(meta.persisted_acknowledged_client_version, 0u);
    EXPECT_EQ(meta.uploaded_bytes, bytes_up_to(*realm, 2));
    EXPECT_EQ(stored_acknowledgement(dir), 0u);

    // A local commit writes the metadata record, cursors included.
    ASSERT_TRUE(realm->begin_write().add_integer("c", "x", "n", 1).commit().ok());
    EXPECT_EQ(realm->metadata().persisted_acknowledged_client_version, 2u);
    EXPECT_EQ(stored_acknowledgement(dir), 2u);

    // persist_metadata writes what is pending, and only then.
    ASSERT_TRUE(realm->integrate_download(acknowledgement(4, 5)).ok());
    EXPECT_EQ(stored_acknowledgement(dir), 2u);
    ASSERT_TRUE(realm->persist_metadata().ok());
    EXPECT_EQ(realm->metadata().persisted_acknowledged_client_version, 4u);
    EXPECT_EQ(stored_acknowledgement(dir), 4u);

    // Closing the store writes the last one.
    ASSERT_TRUE(realm->integrate_download(acknowledgement(5, 6)).ok());
    EXPECT_EQ(stored_acknowledgement(dir), 4u);
  }
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  auto meta = realm->metadata();
  EXPECT_EQ(meta.acknowledged_client_version, 5u);
  EXPECT_EQ(meta.persisted_acknowledged_client_version, 5u);
  EXPECT_EQ(meta.download_server_version, 6u);
  EXPECT_EQ(meta.uploaded_bytes, bytes_up_to(*realm, 5));
  // After a reopen the byte count of an acknowledgement comes from the history record.
  ASSERT_TRUE(realm->integrate_download(acknowledgement(6, 7)).ok());
  EXPECT_EQ(realm->metadata().uploaded_bytes, realm->metadata().uploadable_bytes);
}

TEST(RealmStore, DownloadWithContentIsWrittenAtOnceWithThePendingCursors) {
  testing::temp_dir dir;
  auto db = open_db(dir);
  auto realm = open_realm(*db, "/r");
  ASSERT_TRUE(realm->set_client_file_ident(1, 77).ok());
  ASSERT_TRUE(realm->begin_write().create_object("c", "x").commit().ok());
  ASSERT_TRUE(realm->integrate_download(acknowledgement(1, 2)).ok());
  EXPECT_EQ(stored_acknowledgement(dir), 0u);
  auto d = download_of({remote(2, 1, 1000, {protocol::add_integer{"c", "x", "n", 5}})}, 3);
  d.last_integrated_client_version = 1;
  ASSERT_TRUE(realm->integrate_download(d).ok());
  EXPECT_EQ(stored_acknowledgement(dir), 1u);
  EXPECT_EQ(realm->metadata().persisted_acknowledged_client_version, 1u);
}

}  // namespace
}  // namespace actorsync::storage
