// A full disk, for real: a small tmpfs mounted by the test holds the data directory, a filler
// file takes its space. The server refuses uploads with the retryable ERROR storage_full (and
// counts them, and says so once), keeps serving downloads, and accepts uploads again by itself
// once space returns; it does not start on a full disk (exit status 3, a message naming the
// directory). The client's realm store refuses a local commit with storage_full and keeps
// the realm as it was. (docs/RELIABILITY.md, "Disk faults".)
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include <actorsync/storage/realm_store.hpp>
#include "tests/fault/support/run_to_exit.hpp"
#include "tests/fault/support/small_filesystem.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;
constexpr std::uint64_t mib = 1 << 20;
constexpr std::uint64_t reserve_mib = 8;
constexpr int exit_disk_full = 3;  ///< docs/server.md, "Exit statuses"

/// A changeset carrying `bytes` of text: a few of them fill what the test left free.
protocol::changeset bulky_changeset(protocol::version_type version, std::size_t bytes) {
  protocol::changeset c;
  c.client_version = version;
  c.origin_timestamp = 1700000000000 + version;
  const auto id = "o" + std::to_string(version);
  c.instructions.push_back(protocol::create_object{"items", id});
  c.instructions.push_back(protocol::set_field{"items", id, "blob", std::string(bytes, 'x')});
  return c;
}

std::uint64_t metric(std::uint16_t port, const std::string& name) {
  const auto [status, body] = http_get(port, "/metrics");
  if (status != 200) return UINT64_MAX;
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(body.substr(at + name.size() + 2));
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << disk_.why_not_mounted();
    std::ofstream(dir_.path() / "secret") << test_secret() << "\n";
  }
  std::filesystem::path data() const { return disk_.path() / "data"; }
  std::vector<std::string> server_args() const {
    return {"--log-level", "info", "--min-free-disk-mb", std::to_string(reserve_mib)};
  }
  std::unique_ptr<scripted_client> connect(const tools::server_process& server) const {
    client_options options;
    options.port = server.ws_port();
    options.token = make_token("alice", {"/*"});
    return scripted_client::connect(options);
  }
  /// IDENT again with a granted ident (no write needed), downloading from `from`.
  static void ident_again(scripted_client& client, protocol::session_ident session,
                          const std::string& realm, const bound_session& granted,
                          protocol::version_type from, protocol::version_type acknowledged) {
    client.send(protocol::bind_message{session, realm, ""});
    client.send(
        protocol::client_ident_message{session, granted.ident, granted.salt, from, acknowledged});
  }

  temp_dir dir_{"disk-full"};
  small_filesystem disk_{64};
};

TEST_F(DiskFull, UploadsGetStorageFullDownloadsGoOnAndUploadsResumeWhenSpaceReturns) {
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data(), dir_.path() / "secret",
                               server_args());
  const std::string realm = "/full/notes";
  auto writer = connect(server);
  const auto writer_id = bind_and_ident(*writer, 1, realm);
  auto reader = connect(server);
  const auto reader_id = bind_and_ident(*reader, 1, realm);

  // Leave a little more than the reserve, then upload 256 KiB changesets until refused.
  disk_.leave_available((reserve_mib + 3) * mib);
  protocol::version_type acknowledged = 0;
  std::optional<protocol::error_message> refusal;
  for (protocol::version_type v = 1; v <= 200 && !refusal; ++v) {
    writer->send(protocol::upload_message{1, v, 0, {bulky_changeset(v, 256 * 1024)}});
    for (;;) {
      auto reply = writer->receive();
      if (auto* e = std::get_if<protocol::error_message>(&reply)) {
        refusal = *e;
        break;
      }
      auto* d = std::get_if<protocol::download_message>(&reply);
      ASSERT_NE(d, nullptr) << scripted_client::describe(reply);
      if (d->last_integrated_client_version >= v) {
        acknowledged = v;
        break;
      }
    }
  }
  ASSERT_TRUE(refusal) << "200 uploads of 256 KiB were all acknowledged on a full disk";
  EXPECT_EQ(refusal->code, static_cast<std::uint16_t>(error_code::storage_full));
  EXPECT_TRUE(refusal->try_again);
  EXPECT_NE(refusal->message.find("full"), std::string::npos) << refusal->message;
  ASSERT_GT(acknowledged, 0u) << "nothing was acknowledged before the disk filled";
  EXPECT_LT(disk_.available(), reserve_mib * mib);

  // Downloads go on: a replica identified before downloads every acknowledged changeset from
  // the start on a new connection (IDENT with its granted ident writes nothing).
  reader.reset();
  auto rereader = connect(server);
  ident_again(*rereader, 2, realm, reader_id, 0, 0);
  protocol::version_type seen = 0;
  std::size_t downloaded = 0;
  while (downloaded < acknowledged) {
    auto d = rereader->expect<protocol::download_message>();
    downloaded += d.changesets.size();
    seen = d.server_version;
  }
  EXPECT_EQ(downloaded, acknowledged);
  EXPECT_EQ(seen, acknowledged);

  // Refused again on a new session: counted, logged once.
  auto retry = connect(server);
  ident_again(*retry, 1, realm, writer_id, acknowledged, acknowledged);
  retry->send(protocol::upload_message{
      1, acknowledged + 1, acknowledged, {bulky_changeset(acknowledged + 1, 1024)}});
  retry->expect_error(error_code::storage_full, 1);
  EXPECT_GE(metric(server.metrics_port(), "actorsync_writes_refused_disk_full_total"), 2u);
  EXPECT_EQ(metric(server.metrics_port(), "actorsync_disk_full"), 1u);
  EXPECT_EQ(count(server.output(), "disk full: uploads"), 1u) << server.output();

  // Space returns: the same upload is acknowledged, nobody restarted anything.
  disk_.free_filler();
  auto resumed = connect(server);
  ident_again(*resumed, 1, realm, writer_id, acknowledged, acknowledged);
  const auto next = acknowledged + 1;
  resumed->send(protocol::upload_message{1, next, acknowledged, {bulky_changeset(next, 1024)}});
  expect_acknowledgement(*resumed, next);
  EXPECT_EQ(metric(server.metrics_port(), "actorsync_disk_full"), 0u);
  EXPECT_EQ(count(server.output(), "disk space returned"), 1u) << server.output();

  // Everything acknowledged survives a SIGKILL.
  server.kill(SIGKILL);
  server.start();
  auto after = connect(server);
  ident_again(*after, 1, realm, reader_id, 0, 0);
  downloaded = 0;
  while (downloaded < next)
    downloaded += after->expect<protocol::download_message>().changesets.size();
  EXPECT_EQ(downloaded, next);
}

TEST_F(DiskFull, TheServerDoesNotStartOnAFullDiskAndSaysWhy) {
  {
    tools::server_process server(ACTORSYNC_SERVER_BINARY, data(), dir_.path() / "secret",
                                 server_args());
    bind_and_ident(*connect(server), 1, "/full/start");
    server.kill(SIGKILL);
  }
  disk_.leave_available(reserve_mib * mib / 2);
  auto refused = run_to_exit({ACTORSYNC_SERVER_BINARY, "--data-dir", data().string(),
                              "--secret-file", (dir_.path() / "secret").string(), "--ws-port", "0",
                              "--no-metrics", "--min-free-disk-mb", std::to_string(reserve_mib)},
                             dir_.path() / "refused.log");
  EXPECT_EQ(refused.exit_status, exit_disk_full) << refused.output;
  EXPECT_NE(refused.output.find("cannot start: data_directory: the disk holding"),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find(data().string()), std::string::npos) << refused.output;

  disk_.free_filler();
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data(), dir_.path() / "secret",
                               server_args());
  bind_and_ident(*connect(server), 1, "/full/start");
}

TEST_F(DiskFull, TheClientRealmStoreRefusesALocalCommitAndKeepsTheRealmAsItWas) {
  storage::database_options options;
  options.min_free_bytes = reserve_mib * mib;
  auto db = storage::database::open(data(), options);
  ASSERT_TRUE(db) << db.error().message;
  auto realm = db.value()->open_realm("/full/local");
  ASSERT_TRUE(realm) << realm.error().message;
  auto& store = *realm.value();
  ASSERT_TRUE(store.begin_write()
                  .create_object("items", "a")
                  .set_field("items", "a", "v", std::int64_t{1})
                  .commit());

  // The store asks the kernel again at least every MiB it admits: 64 KiB commits meet the
  // full disk within 16 of them.
  disk_.leave_available(reserve_mib * mib / 2);
  std::optional<storage::storage_error> refusal;
  protocol::version_type committed_before = 1;
  for (int i = 0; i < 32 && !refusal; ++i) {
    const auto before = store.metadata();
    const auto digest = store.content_digest();
    auto commit = store.begin_write()
                      .set_field("items", "a", "v", std::string(64 * 1024, 'a' + i % 26))
                      .commit();
    if (commit) {
      committed_before = commit.value();
      continue;
    }
    refusal = commit.error();
    // Nothing half-written: the realm is exactly as before the refused commit.
    EXPECT_EQ(store.metadata(), before);
    EXPECT_EQ(store.content_digest(), digest);
  }
  ASSERT_TRUE(refusal) << "32 commits of 64 KiB went through on a full disk";
  EXPECT_EQ(refusal->code, storage::storage_errc::storage_full);
  EXPECT_NE(refusal->message.find(data().string()), std::string::npos) << refusal->message;
  auto changesets = store.local_changesets_after(0, 64 << 20);
  ASSERT_TRUE(changesets);
  EXPECT_EQ(changesets->size(), committed_before);

  disk_.free_filler();
  auto committed = store.begin_write().set_field("items", "a", "v", std::int64_t{2}).commit();
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(committed.value(), committed_before + 1);

  // Reopened, the realm holds exactly the commits that succeeded.
  realm = storage::storage_error{};
  db = storage::storage_error{};
  db = storage::database::open(data(), options);
  ASSERT_TRUE(db);
  auto reopened = db.value()->open_realm("/full/local");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened.value()->metadata().latest_client_version, committed_before + 1);
  EXPECT_EQ(reopened.value()->get_field("items", "a", "v"), protocol::value{std::int64_t{2}});
}

TEST_F(DiskFull, TheClientRealmStoreDoesNotOpenOnAFullDisk) {
  disk_.leave_available(reserve_mib * mib / 2);
  storage::database_options options;
  options.min_free_bytes = reserve_mib * mib;
  auto db = storage::database::open(data(), options);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, storage::storage_errc::storage_full);
}

}  // namespace
}  // namespace actorsync::testing
