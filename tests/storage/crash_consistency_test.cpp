// A real child process commits in a loop and is SIGKILLed at a random moment, 50 times. After
// each kill the database reopens with every reported commit present, no partial transaction and
// metadata counters that match the history.
#include <actorsync/storage/realm_store.hpp>

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "protocol/codec.hpp"
#include "tests/support/piped_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::storage {
namespace {

/// A running crash_writer with its stdout on a pipe.
class writer_process {
 public:
  explicit writer_process(const std::filesystem::path& dir)
      : child_({ACTORSYNC_CRASH_WRITER, dir.string()}) {}

  /// The next reported version, or nullopt at end of stream.
  std::optional<std::uint64_t> next_version() {
    auto line = child_.next_line();
    if (!line) return std::nullopt;
    return std::stoull(*line);
  }

  void kill_and_reap() { child_.kill(); }

 private:
  testing::piped_child child_;
};

struct reopened_state {
  sync_metadata meta;
  std::vector<protocol::changeset> history;
};

void check_consistent(realm_store& realm, const std::set<std::uint64_t>& reported) {
  const auto meta = realm.metadata();
  const auto latest = meta.latest_client_version;
  ASSERT_FALSE(reported.empty());
  ASSERT_GE(latest, *reported.rbegin()) << "a reported commit is missing";

  // History: exactly versions 1..latest, and the byte counter is their sum.
  auto history = realm.local_changesets_after(0, std::size_t{1} << 40);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history.value().size(), latest);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < history.value().size(); ++i) {
    ASSERT_EQ(history.value()[i].client_version, i + 1);
    bytes += protocol::encoded_size(history.value()[i]);
  }
  EXPECT_EQ(meta.uploadable_bytes, bytes);

  // Content: every reported transaction is there, and the last one is whole.
  for (auto v : reported) {
    ASSERT_TRUE(realm.object_exists("txn", std::to_string(v))) << "transaction " << v;
  }
  EXPECT_FALSE(realm.object_exists("txn", std::to_string(latest + 1)));
  const auto expected = static_cast<std::int64_t>(latest);
  EXPECT_EQ(realm.get_field("state", "s", "a"), protocol::value(expected));
  EXPECT_EQ(realm.get_field("state", "s", "b"), protocol::value(expected));
  EXPECT_EQ(realm.get_field("state", "s", "c"),
            protocol::value(std::string(200, 'x') + std::to_string(latest)));
  EXPECT_EQ(realm.get_field("state", "s", "count"), protocol::value(expected));
}

TEST(CrashConsistency, KilledWriterLosesNoReportedCommitAndLeavesNoPartialOne) {
  testing::temp_dir dir;
  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::set<std::uint64_t> reported;
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      writer_process writer(dir.path());
      // Kill after a random number of reported commits: the child is then somewhere inside
      // its next commit (or writing its report).
      const auto wanted = std::uniform_int_distribution<int>(1, 30)(random);
      for (int i = 0; i < wanted; ++i) {
        auto v = writer.next_version();
        ASSERT_TRUE(v.has_value()) << "writer died early";
        reported.insert(*v);
      }
      writer.kill_and_reap();
      // Lines already in the pipe were reported before the kill: they must have survived.
      while (auto v = writer.next_version()) reported.insert(*v);
    }
    auto db = database::open(dir.path(), {durability::process_crash});
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto realm = db.value()->open_realm("/crash");
    ASSERT_TRUE(realm.ok());
    check_consistent(*realm.value(), reported);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace actorsync::storage
