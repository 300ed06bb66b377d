// The store's side of a client reset: the staging realm is invisible until finish_reset, which
// swaps the server's copy in (replaying or dropping the unsynced changesets) in one batch; a
// reset begun and not finished survives a reopen and starts again from an empty staging realm;
// a SIGKILLed child process at each step leaves a realm that reopens and completes the reset.
#include <actorsync/storage/realm_store.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/storage/client_reset_steps.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

using namespace reset_steps;

TEST(ClientReset, RecoverSwapsInTheServersCopyWithTheUnsyncedChangesOnTop) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  write_history(*realm);
  auto staging = staged(*realm);
  EXPECT_TRUE(realm->reset_pending());
  // Until the swap, readers see the old state only.
  EXPECT_TRUE(realm->object_exists("items", "acked"));
  EXPECT_FALSE(realm->object_exists("items", "remote"));

  auto outcome = realm->finish_reset(*staging, true);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value().recovered, 1u);
  EXPECT_EQ(outcome.value().discarded, 0u);
  EXPECT_FALSE(realm->reset_pending());
  EXPECT_TRUE(realm->object_exists("items", "remote"));
  EXPECT_TRUE(realm->object_exists("items", "unsynced"));
  EXPECT_EQ(realm->get_field("items", "unsynced", "n"), value{std::int64_t{42}});
  // Acknowledged once, then lost by the server: the server's copy decides.
  EXPECT_FALSE(realm->object_exists("items", "acked"));
  const auto meta = realm->metadata();
  EXPECT_EQ(meta.client_file_ident, 9u);
  EXPECT_EQ(meta.file_ident_salt, 99u);
  EXPECT_EQ(meta.download_server_version, 3u);
  EXPECT_EQ(meta.latest_client_version, 1u);  // the replayed changeset, to upload
  EXPECT_EQ(meta.acknowledged_client_version, 0u);
  auto history = realm->local_changesets_after(0, 1 << 20);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history.value().size(), 1u);
  EXPECT_EQ(history.value()[0].last_integrated_server_version, 3u);

  // Stored as one state: a reopened database reads the same and has nothing pending.
  const auto digest = realm->content_digest();
  realm.reset();
  staging.reset();
  db.reset();
  auto again = open(dir.path());
  EXPECT_FALSE(again.realm->reset_pending());
  EXPECT_EQ(again.realm->content_digest(), digest);
  EXPECT_EQ(again.realm->metadata().client_file_ident, 9u);
}

// Readers on other threads while the swap happens see the old content or the new, never a mix.
TEST(ClientReset, ConcurrentReadersSeeTheOldStateOrTheNewOne) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  write_history(*realm);
  for (int i = 0; i < 200; ++i)  // enough records that a torn swap would show
    ASSERT_TRUE(realm->begin_write().create_object("bulk", std::to_string(i)).commit().ok());
  auto staging = staged(*realm);
  const auto old_digest = realm->content_digest();
  std::atomic<bool> done{false};
  std::set<std::string> seen;  // every content digest a reader saw during the swap
  std::thread reader([&] {
    while (!done.load()) seen.insert(realm->content_digest());
  });
  ASSERT_TRUE(realm->finish_reset(*staging, true).ok());
  const auto new_digest = realm->content_digest();
  done = true;
  reader.join();
  EXPECT_NE(new_digest, old_digest);
  for (const auto& digest : seen)
    EXPECT_TRUE(digest == old_digest || digest == new_digest) << "a mixed state was visible";
}

TEST(ClientReset, DiscardDropsTheUnsyncedChanges) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  write_history(*realm);
  auto staging = staged(*realm);
  auto outcome = realm->finish_reset(*staging, false);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value().discarded, 1u);
  EXPECT_TRUE(realm->object_exists("items", "remote"));
  EXPECT_FALSE(realm->object_exists("items", "unsynced"));
  EXPECT_EQ(realm->metadata().latest_client_version, 0u);
  auto history = realm->local_changesets_after(0, 1 << 20);
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history.value().empty());
}

TEST(ClientReset, LocalWritesDuringTheResetAreRecoveredToo) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  write_history(*realm);
  auto staging = staged(*realm);
  ASSERT_TRUE(realm->begin_write().create_object("items", "during").commit().ok());
  auto outcome = realm->finish_reset(*staging, true);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value().recovered, 2u);
  EXPECT_TRUE(realm->object_exists("items", "during"));
  EXPECT_EQ(realm->metadata().latest_client_version, 2u);
}

TEST(ClientReset, AResetLeftPendingByAReopenStartsAgainFromAnEmptyCopy) {
  testing::temp_dir dir;
  {
    auto [db, realm] = open(dir.path());
    write_history(*realm);
    auto staging = staged(*realm);  // abandoned, as a crash would
  }
  auto [db, realm] = open(dir.path());
  ASSERT_TRUE(realm->reset_pending());
  EXPECT_TRUE(realm->object_exists("items", "acked"));  // still the old state
  auto staging = realm->begin_reset();
  ASSERT_TRUE(staging.ok());
  EXPECT_EQ(staging.value()->metadata(), sync_metadata{});
  EXPECT_FALSE(staging.value()->object_exists("items", "remote"));
  fill(*staging.value());
  ASSERT_TRUE(realm->finish_reset(*staging.value(), true).ok());
  EXPECT_TRUE(realm->object_exists("items", "remote"));
  EXPECT_TRUE(realm->object_exists("items", "unsynced"));
}

TEST(ClientReset, FinishingWithoutAPendingResetIsRefused) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  auto other = db->open_realm("/other");
  ASSERT_TRUE(other.ok());
  auto refused = realm->finish_reset(*other.value(), true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::invalid_argument);
}

TEST(ClientReset, AStagingRealmWithoutAFileIdentCannotTakeRecoveredChanges) {
  testing::temp_dir dir;
  auto [db, realm] = open(dir.path());
  write_history(*realm);
  auto staging = realm->begin_reset();
  ASSERT_TRUE(staging.ok());
  auto refused = realm->finish_reset(*staging.value(), true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, storage_errc::invalid_argument);
  EXPECT_TRUE(realm->reset_pending());
  EXPECT_TRUE(realm->object_exists("items", "acked"));  // nothing changed
}

// Each step of a reset in a child process that SIGKILLs itself right after it: the realm
// reopens, shows the old state (or, after the swap, the new one) and completes the reset.
TEST(ClientReset, SigkillAtEachStepLeavesARealmThatCompletesTheReset) {
  enum step { begun = 0, downloaded, local_write, swapped, steps };  // as reset_crasher.cpp
  for (int kill_after = begun; kill_after < steps; ++kill_after) {
    SCOPED_TRACE("SIGKILL after step " + std::to_string(kill_after));
    testing::temp_dir dir;
    {
      auto [db, realm] = open(dir.path());
      write_history(*realm);
    }
    // The child runs the steps up to `kill_after` and SIGKILLs itself (reset_crasher.cpp).
    const std::string dir_arg = dir.path().string(), step_arg = std::to_string(kill_after);
    std::vector<char*> argv{const_cast<char*>(ACTORSYNC_RESET_CRASHER),
                            const_cast<char*>(dir_arg.c_str()), const_cast<char*>(step_arg.c_str()),
                            nullptr};
    pid_t child = 0;
    ASSERT_EQ(posix_spawn(&child, ACTORSYNC_RESET_CRASHER, nullptr, nullptr, argv.data(), environ),
              0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

    auto [db, realm] = open(dir.path());
    if (kill_after == swapped) {
      EXPECT_FALSE(realm->reset_pending());
    } else {
      ASSERT_TRUE(realm->reset_pending());
      EXPECT_TRUE(realm->object_exists("items", "acked"));  // the old state, whole
      EXPECT_FALSE(realm->object_exists("items", "remote"));
      ASSERT_TRUE(realm->finish_reset(*staged(*realm), true).ok());
    }
    EXPECT_TRUE(realm->object_exists("items", "remote"));
    EXPECT_TRUE(realm->object_exists("items", "unsynced"));
    EXPECT_EQ(realm->object_exists("items", "during"), kill_after >= local_write);
    EXPECT_FALSE(realm->object_exists("items", "acked"));
    EXPECT_FALSE(realm->reset_pending());
  }
}

}  // namespace
}  // namespace actorsync::storage
